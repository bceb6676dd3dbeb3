package kpl

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/sdk/metric"

	"github.com/otelkinesis/otelkinesis/internal/cputime"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// nullKinesis accepts every record at once without looking at it: what is
// left is the producer's own work, without the HTTP round trip.
type nullKinesis struct {
	fakeKinesis // ListShards and DescribeStreamSummary
	ok          []types.PutRecordsResultEntry
}

func newNullKinesis(shards int) *nullKinesis {
	return &nullKinesis{fakeKinesis: *newFakeKinesis("s", shards), ok: make([]types.PutRecordsResultEntry, MaxBatchCount)}
}

func (n *nullKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return &kinesis.PutRecordsOutput{Records: n.ok[:len(in.Records)]}, nil
}

// BenchmarkProducerPut200 measures the producer's CPU per 200-byte user
// record, everything from Put to the outcome of its PutRecords request
// except the request itself: validation, hashing, shard lookup, aggregation,
// MD5, batching, rate limiting and accounting, on every goroutine.
// cpu-ns/record is the process's CPU time (user + system) per record.
func BenchmarkProducerPut200(b *testing.B) {
	benchPut(b, 200, false)
}

// BenchmarkProducerPut200Plain is the same with aggregation off.
func BenchmarkProducerPut200Plain(b *testing.B) {
	benchPut(b, 200, true)
}

func benchPut(b *testing.B, size int, plain bool) {
	c := newNullKinesis(4)
	cfg := DefaultConfig()
	cfg.StreamName = "s"
	cfg.DisableAggregation = plain
	cfg.MeterProvider = metric.NewMeterProvider()
	// The null stream has no capacity to respect.
	p, err := newWithKnobs(context.Background(), c, cfg, testKnobs{noRateLimit: true})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	keys := make([]string, 4096)
	for i := range keys {
		var id [16]byte
		for j := range id {
			id[j] = byte(rand.Uint32())
		}
		keys[i] = hex.EncodeToString(id[:]) // a trace ID
	}
	data := make([]byte, size)
	tags := []aggregation.Tag{{Key: "s", Value: "t"}, {Key: "ct", Value: "p"}}
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := p.Put(ctx, keys[i&4095], "", data, tags); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/record")
	}
	s := p.Stats()
	if s.UserRecordsDelivered != int64(b.N) {
		b.Fatalf("delivered %d of %d", s.UserRecordsDelivered, b.N)
	}
	b.ReportMetric(float64(b.N)/float64(s.KinesisRecordsSent), "records/aggregate")
	b.ReportMetric(float64(s.KinesisRecordsSent)/float64(s.Requests), "aggregates/request")
}

// telemetryMix returns n user record sizes shaped like an exporter's output
// split by trace ID: mostly small records (a trace's few spans, a log
// batch), some span batches of a few KB, and a tail of large metric and log
// exports, a few of them above aggregate_batch_size.
func telemetryMix(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, seed))
	sizes := make([]int, n)
	for i := range sizes {
		switch x := r.Float64(); {
		case x < 0.55:
			sizes[i] = 150 + r.IntN(1850) // 150 B - 2 KB
		case x < 0.85:
			sizes[i] = 2000 + r.IntN(8000) // 2 - 10 KB
		case x < 0.97:
			sizes[i] = 10_000 + r.IntN(30_000) // 10 - 40 KB
		default:
			sizes[i] = 40_000 + r.IntN(160_000) // 40 - 200 KB
		}
	}
	return sizes
}

// payloadUnit is the size of a PUT payload unit, "25 KB": read as 25 KiB,
// which aggregate_batch_size's default of 51200 (two units) assumes.
// payloadUnitDecimal reads it as 25,000 bytes, to show the sensitivity.
const (
	payloadUnit        = 25 << 10
	payloadUnitDecimal = 25_000
)

func units(n int) int { return (n + payloadUnit - 1) / payloadUnit }

// BenchmarkProducerPayloadUnits measures how tightly the producer packs
// PUT payload units, on a telemetry-like mix of 20000 user records with
// trace-ID keys and three tags each into 4 shards, with 1 to 8 aggregates
// filled at once per shard (the producer uses 4), on the whole mix and on
// the mix with every record cut below aggregate_batch_size.
//
//   - units-over-ideal-%: units of the Kinesis records sent over
//     ceil(their bytes / 25 KiB), the best any packing of those bytes could
//     do.
//   - units-over-alone-ideal-%: the same, but with the records that must go
//     alone (user records over aggregate_batch_size) counted at their own
//     units in the ideal too: the packing the producer controls.
//   - units-over-data-%: over ceil(user data and keys / 25 KiB), so it
//     includes the aggregation format's overhead (keys, tags, framing).
//   - units25000-over-ideal-%: units-over-ideal-% with 25,000-byte units.
func BenchmarkProducerPayloadUnits(b *testing.B) {
	for _, mix := range []struct {
		name string
		max  int
	}{{"all", 0}, {"below-aggregate-size", DefaultAggregateBatchSize - 200}} {
		for _, bins := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("mix=%s/bins=%d", mix.name, bins), func(b *testing.B) {
				sizes := telemetryMix(20_000, 7)
				if mix.max > 0 {
					for i, n := range sizes {
						sizes[i] = min(n, mix.max)
					}
				}
				benchUnits(b, sizes, bins)
			})
		}
	}
}

func benchUnits(b *testing.B, sizes []int, bins int) {
	var sent, ideal, aloneIdeal, dataIdeal, sent25000, ideal25000, records float64
	for b.Loop() {
		f := newFakeKinesis("s", 4)
		cfg := DefaultConfig()
		cfg.StreamName = "s"
		cfg.RateLimit = 1000
		cfg.BacklogCount = 50_000
		cfg.BacklogBytes = 1 << 30
		cfg.FlushInterval = time.Hour
		cfg.MeterProvider = metric.NewMeterProvider()
		p, err := newWithKnobs(context.Background(), f, cfg, testKnobs{bins: bins, noRateLimit: true})
		if err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		tags := []aggregation.Tag{{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/x-protobuf"}, {Key: "content-encoding", Value: "gzip"}}
		buf := make([]byte, 200_000)
		userBytes := 0
		for _, n := range sizes {
			var id [16]byte
			for j := range id {
				id[j] = byte(r.Uint32())
			}
			pk := hex.EncodeToString(id[:])
			userBytes += n + len(pk)
			if err := p.Put(context.Background(), pk, "", buf[:n], tags); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		u, u25000, total, total25000, alone, small, recs := 0, 0, 0, 0, 0, 0, 0
		for _, s := range f.shards {
			for _, rec := range s.recs {
				n := len(rec.data) + len(rec.pk)
				u += units(n)
				u25000 += (n + payloadUnitDecimal - 1) / payloadUnitDecimal
				total += n
				if n > cfg.AggregateBatchSize {
					alone += units(n)
				} else {
					small += n
				}
				recs++
			}
		}
		total25000 = (total + payloadUnitDecimal - 1) / payloadUnitDecimal
		sent += float64(u)
		ideal += float64(units(total))
		aloneIdeal += float64(alone + units(small))
		dataIdeal += float64(units(userBytes))
		sent25000 += float64(u25000)
		ideal25000 += float64(total25000)
		records += float64(recs)
	}
	b.ReportMetric(100*(sent/ideal-1), "units-over-ideal-%")
	b.ReportMetric(100*(sent/aloneIdeal-1), "units-over-alone-ideal-%")
	b.ReportMetric(100*(sent/dataIdeal-1), "units-over-data-%")
	b.ReportMetric(100*(sent25000/ideal25000-1), "units25000-over-ideal-%")
	b.ReportMetric(records/float64(b.N), "kinesis-records")
	b.ReportMetric(sent/float64(b.N), "units")
}
