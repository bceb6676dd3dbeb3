package consumer_test

import (
	"fmt"
	"testing"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/cputime"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// benchAggregate returns a 50 KiB aggregate (the default
// aggregate_batch_size) of size-byte user records, each with its own
// 32-character partition key, with or without two tags each.
func benchAggregate(size int, tags []aggregation.Tag) (data []byte, records int) {
	var a aggregation.Aggregator
	payload := make([]byte, size)
	for i := 0; ; i++ {
		pk := fmt.Sprintf("%032x", uint64(i)*0x9E3779B97F4A7C15)
		if a.SizeWith(pk, "", size, tags) > 51200 {
			return a.AppendTo(nil), a.Count()
		}
		a.Add(pk, "", payload, tags)
	}
}

// BenchmarkDeaggregate reads 50 KiB aggregates into a reused slice; MB/s
// counts aggregate bytes per wall-clock second, MB/cpu-s per second of the
// process's CPU time (GC included), which other processes on a busy machine
// do not skew. checksum=off leaves out the MD5 pass, the format's floor, to
// show the decoder's own speed.
func BenchmarkDeaggregate(b *testing.B) {
	noMD5, err := consumer.NewDeaggregator(consumer.WithChecksum(false))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{100, 1024} {
		for _, tagged := range []bool{false, true} {
			var tags []aggregation.Tag
			name := fmt.Sprintf("record=%dB", size)
			if tagged {
				tags = []aggregation.Tag{{Key: "otelkinesis.signal", Value: "traces"}, {Key: "otelkinesis.encoding", Value: "otlp_proto"}}
				name += "/tags=2"
			}
			data, n := benchAggregate(size, tags)
			for _, md5 := range []bool{true, false} {
				d := &consumer.Deaggregator{}
				cname := name + "/checksum=on"
				if !md5 {
					d, cname = noMD5, name+"/checksum=off"
				}
				b.Run(cname, func(b *testing.B) {
					var dst []consumer.UserRecord
					b.SetBytes(int64(len(data)))
					b.ReportAllocs()
					cpu := cputime.Process()
					for b.Loop() {
						var err error
						if dst, err = d.AppendDeaggregated(dst[:0], data, "outer"); err != nil || len(dst) != n {
							b.Fatalf("%d records, %v", len(dst), err)
						}
					}
					if cpu = cputime.Process() - cpu; cpu > 0 {
						b.ReportMetric(float64(b.N)*float64(len(data))/1e6/cpu.Seconds(), "MB/cpu-s")
					}
				})
			}
		}
	}
}
