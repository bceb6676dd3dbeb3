package bench

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// capacityWarmup and capacityWindow time one op of BenchmarkShardCapacity: the first
// second of each shard's burst allowance is spent before the window opens, so the window
// sees the sustained rate only.
const (
	capacityWarmup = 1500 * time.Millisecond
	capacityWindow = 4 * time.Second
)

// shardCapacity is a Kinesis shard's write capacity in bytes per second.
const shardCapacity = 1 << 20

// BenchmarkShardCapacity offers the producer more telemetry than the stream can take
// (user records of 1 to 8 KB, trace-ID keys, from two goroutines putting as fast as the
// backlog lets them) with kinesistest enforcing Kinesis's write capacity (1 MiB/s and
// 1000 records/s per shard, one second of burst), for 1 to 8 shards, and reports over a
// 4 s window after a warm-up:
//
//   - capacity-%: data and partition key bytes the shards accepted per second, in percent
//     of their capacity (shards x 1 MiB/s);
//   - throttled-%: Kinesis records refused with ProvisionedThroughputExceededException, in
//     percent of all records the shards received;
//   - MiB/s: what was delivered.
//
// The producer runs with its defaults (rate limit 100 % of a shard's capacity).
//
//	go test -run '^$' -bench ShardCapacity -benchtime=1x -count=5 . | tee results/capacity.txt
func BenchmarkShardCapacity(b *testing.B) {
	for _, shards := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			var capPct, thrPct, mibs float64
			for range b.N {
				c, t, m := runCapacity(b, shards)
				capPct, thrPct, mibs = capPct+c, thrPct+t, mibs+m
			}
			n := float64(b.N)
			b.ReportMetric(capPct/n, "capacity-%")
			b.ReportMetric(thrPct/n, "throttled-%")
			b.ReportMetric(mibs/n, "MiB/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// runCapacity runs one measurement and returns capacity-%, throttled-% and MiB/s.
func runCapacity(b *testing.B, shards int) (capPct, thrPct, mibs float64) {
	// The records still buffered when the window closes are dropped on purpose: keep the
	// producer's reports of them out of the benchmark output.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { fmt.Fprintln(os.Stderr, err) }))
	srv := kinesistest.NewServer(kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{}),
		kinesistest.WithRecordData(false), kinesistest.WithRequestLog(false))
	defer srv.Close()
	if _, err := srv.CreateStream(benchStream, shards); err != nil {
		b.Fatal(err)
	}
	cfg := kpl.DefaultConfig()
	cfg.StreamName = benchStream
	cfg.MeterProvider = metric.NewMeterProvider()
	client := kinesis.NewFromConfig(srv.AWSConfig(), putrecords.WithPutRecords)
	p, err := kpl.New(context.Background(), client, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			data := make([]byte, 8<<10)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			tags := []aggregation.Tag{{Key: "s", Value: "traces"}}
			var id [16]byte
			for ctx.Err() == nil {
				for i := range id {
					id[i] = byte(r.Uint32())
				}
				n := 1000 + r.IntN(7000)
				if err := p.Put(ctx, hex.EncodeToString(id[:]), "", data[:n], tags); err != nil && ctx.Err() == nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(capacityWarmup)
	s0, t0 := srv.Stats(), time.Now()
	time.Sleep(capacityWindow)
	s1, elapsed := srv.Stats(), time.Since(t0)
	cancel()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = p.Shutdown(sctx) // what is still buffered is dropped: the window is over
	scancel()

	bytes := float64(s1.BytesAccepted - s0.BytesAccepted)
	accepted := float64(s1.RecordsAccepted - s0.RecordsAccepted)
	throttled := float64(s1.RecordsThrottled - s0.RecordsThrottled)
	rate := bytes / elapsed.Seconds()
	capPct = 100 * rate / float64(shards*shardCapacity)
	if accepted+throttled > 0 {
		thrPct = 100 * throttled / (accepted + throttled)
	}
	return capPct, thrPct, rate / (1 << 20)
}
