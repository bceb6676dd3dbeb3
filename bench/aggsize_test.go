package bench

import (
	"fmt"
	"testing"

	"github.com/otelkinesis/otelkinesis"
)

// largeAggregate is the aggregate_batch_size BenchmarkSpanExportAggregateSize sets against
// the default: ten PUT payload units of 25,600 bytes.
const largeAggregate = 256000

// BenchmarkSpanExportAggregateSize is BenchmarkSpanExport's span stream, to its 64-shard
// stream, with the default partitioning (trace_id), at the default aggregate_batch_size
// (51,200 bytes) and at largeAggregate, beside the Collector's exporter in the same run.
//
// A user record holds one trace: about 7 KB of protobuf, 17.6 KB of JSON. Seven protobuf
// traces fill a 51,200-byte aggregate to 97 %, and two JSON traces fill it to 69 % while
// paying for two whole PUT units, however the producer packs them. Larger aggregates leave
// a smaller part of each unit unused. The figures to compare are put-units/10k-spans and
// records/10k-spans:
//
//	go test -run '^$' -bench SpanExportAggregateSize -benchmem -count=6 . | tee results/aggsize.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '.unit:put-units/10k-spans' results/aggsize.txt
func BenchmarkSpanExportAggregateSize(b *testing.B) {
	spans := recordSpans(batchSize, 1)

	for _, size := range []int{51200, largeAggregate} {
		for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
			for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone, otelkinesis.CompressionGzip} {
				b.Run(fmt.Sprintf("exporter=otelkinesis/aggregate=%d/encoding=%s/compression=%s", size, enc, comp), func(b *testing.B) {
					runOurs(b, "kinesis", spans, otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp),
						otelkinesis.WithAggregateBatchSize(size))
				})
			}
		}
	}

	runCollector(b, "kinesis", spans)
}
