package kpl_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// BenchmarkSharedProducerScaling measures how the producer scales with cores: three
// writers (as the trace, metric and log exporters sharing one producer) put 1 KB user
// records of random keys into a 64-shard kinesistest stream for two seconds. It reports
// the user records the producer took per second of wall time and the 99th percentile of
// a Put's latency. Compare GOMAXPROCS 1 and 2 in one run:
//
//	go test ./internal/kpl -run '^$' -bench '^BenchmarkSharedProducerScaling$' -cpu 1,2 -count 10
func BenchmarkSharedProducerScaling(b *testing.B) {
	const (
		shards  = 64
		writers = 3
		run     = 2 * time.Second
	)
	var rateSum, p99Sum float64
	for b.Loop() {
		srv := kinesistest.NewServer(kinesistest.WithRecordData(false), kinesistest.WithRequestLog(false))
		if _, err := srv.CreateStream("telemetry", shards); err != nil {
			b.Fatal(err)
		}
		cfg := kpl.DefaultConfig()
		cfg.StreamName = "telemetry"
		cfg.RateLimit = 1000 // no per-shard limit in the way: the producer's own cost is measured
		cfg.BacklogCount = 1 << 20
		cfg.MeterProvider = sdkmetric.NewMeterProvider()
		p, err := kpl.New(context.Background(), newClient(b, srv.URL()), cfg)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			lats []time.Duration
			puts int
		)
		for w := range writers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 7))
				data := make([]byte, 1024)
				var mine []time.Duration
				for time.Since(start) < run {
					pk := fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
					t0 := time.Now()
					if err := p.Put(context.Background(), pk, "", data, nil); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lats = append(lats, mine...)
				puts += len(mine)
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if err := p.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		srv.Close()
		slices.Sort(lats)
		if len(lats) > 0 {
			p99Sum += float64(lats[len(lats)*99/100].Nanoseconds()) / 1e3
		}
		rateSum += float64(puts) / elapsed.Seconds()
	}
	b.ReportMetric(rateSum/float64(b.N), "records/s")
	b.ReportMetric(p99Sum/float64(b.N), "p99-put-µs")
	b.ReportMetric(0, "ns/op")
}
