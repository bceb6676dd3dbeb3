package aggregation

import (
	"crypto/md5"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/cputime"
)

// aggregateLimit is the default aggregate_batch_size: 50 KiB aggregates.
const aggregateLimit = 51200

// benchInput returns user records of size bytes each, enough for about one
// and a half aggregates, with a distinct 32-character partition key per
// record (as partitioning by trace ID gives). The pool is small so that, as in
// the producer, where each record was just encoded, it sits in cache.
func benchInput(size int) (pks []string, data [][]byte) {
	n := 3 * aggregateLimit / (2 * size)
	pks = make([]string, n)
	data = make([][]byte, n)
	for i := range pks {
		pks[i] = fmt.Sprintf("%032x", uint64(i)*0x9E3779B97F4A7C15)
		data[i] = make([]byte, size)
		for j := range data[i] {
			data[i][j] = byte(i + j)
		}
	}
	return pks, data
}

// fillAggregate adds records from pks/data, starting at next and wrapping
// around, until the next one would push the aggregate above limit, with
// AddIfFits. It returns where it stopped.
func fillAggregate(a *Aggregator, pks []string, data [][]byte, tags []Tag, next, limit int) int {
	a.Reset()
	for ; ; next++ {
		if next == len(pks) {
			next = 0
		}
		if !a.AddIfFits(pks[next], "", data[next], tags, limit) {
			return next
		}
	}
}

// fillAggregateSizeWith is fillAggregate with SizeWith, then Add.
func fillAggregateSizeWith(a *Aggregator, pks []string, data [][]byte, tags []Tag, next, limit int) int {
	a.Reset()
	for ; ; next++ {
		if next == len(pks) {
			next = 0
		}
		if a.SizeWith(pks[next], "", len(data[next]), tags) > limit {
			return next
		}
		a.Add(pks[next], "", data[next], tags)
	}
}

var benchTags = []Tag{
	{"otelkinesis.signal", "traces"},
	{"otelkinesis.encoding", "otlp_proto"},
}

// BenchmarkAggregate encodes user records into 50 KiB aggregates. One op is
// one aggregate; SetBytes is its encoded size, so MB/s compares directly with
// BenchmarkAggregateMD5 over the same bytes. The records/op and B/record
// metrics give the per-record view.
func BenchmarkAggregate(b *testing.B) {
	type filler func(*Aggregator, []string, [][]byte, []Tag, int, int) int
	for _, size := range []int{100, 1024} {
		for _, c := range []struct {
			name string
			tags []Tag
			fill filler
		}{
			{"api=AddIfFits", nil, fillAggregate},
			{"api=SizeWith+Add", nil, fillAggregateSizeWith},
			{"tags=2/api=AddIfFits", benchTags, fillAggregate},
		} {
			b.Run(fmt.Sprintf("record=%dB/%s", size, c.name), func(b *testing.B) {
				pks, data := benchInput(size)
				var a Aggregator
				out := make([]byte, 0, aggregateLimit)
				c.fill(&a, pks, data, c.tags, 0, aggregateLimit) // grow buffers
				out = a.AppendTo(out[:0])
				b.SetBytes(int64(len(out)))
				b.ReportAllocs()
				next, records := 0, 0
				for b.Loop() {
					next = c.fill(&a, pks, data, c.tags, next, aggregateLimit)
					records += a.Count()
					out = a.AppendTo(out[:0])
				}
				b.ReportMetric(float64(records)/float64(b.N), "records/op")
			})
		}
	}
}

// BenchmarkAggregateMD5 is the format's floor: MD5 over an aggregate of the
// same size as BenchmarkAggregate's.
func BenchmarkAggregateMD5(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("record=%dB", size), func(b *testing.B) {
			pks, data := benchInput(size)
			var a Aggregator
			fillAggregate(&a, pks, data, nil, 0, aggregateLimit)
			out := a.AppendTo(nil)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			var sum [md5.Size]byte
			for b.Loop() {
				sum = md5.Sum(out)
			}
			_ = sum
		})
	}
}

// BenchmarkAggregateVsMD5 measures the target directly: in every op
// it builds one 50 KiB aggregate and then hashes those same output bytes
// with crypto/md5 alone, timing each phase in CPU time of the benchmark's
// own thread, and reports the aggregator's throughput as a percentage of
// MD5's (%md5; the target is at least 80), and each phase's throughput per
// second of CPU time (agg-MB/cpu-s, md5-MB/cpu-s). Interleaving the two and
// counting CPU time keeps the figures meaningful on a busy machine, where
// separate wall-clock benchmarks drift apart.
func BenchmarkAggregateVsMD5(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("record=%dB", size), func(b *testing.B) {
			runtime.LockOSThread() // each sub-benchmark runs on its own goroutine
			defer runtime.UnlockOSThread()
			pks, data := benchInput(size)
			var a Aggregator
			out := make([]byte, 0, aggregateLimit)
			fillAggregate(&a, pks, data, nil, 0, aggregateLimit)
			out = a.AppendTo(out[:0])
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			var aggTime, md5Time time.Duration
			var sum [md5.Size]byte
			next := 0
			for b.Loop() {
				t0 := cputime.Thread()
				next = fillAggregate(&a, pks, data, nil, next, aggregateLimit)
				out = a.AppendTo(out[:0])
				t1 := cputime.Thread()
				sum = md5.Sum(out)
				t2 := cputime.Thread()
				aggTime += t1 - t0
				md5Time += t2 - t1
			}
			_ = sum
			if aggTime <= 0 || md5Time <= 0 {
				return // thread CPU time is not measured here
			}
			mb := float64(b.N) * float64(len(out)) / 1e6
			b.ReportMetric(100*md5Time.Seconds()/aggTime.Seconds(), "%md5")
			b.ReportMetric(mb/aggTime.Seconds(), "agg-MB/cpu-s")
			b.ReportMetric(mb/md5Time.Seconds(), "md5-MB/cpu-s")
		})
	}
}
