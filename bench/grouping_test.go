package bench

import (
	"fmt"
	"testing"

	"github.com/otelkinesis/otelkinesis"
)

// BenchmarkSpanExportByShard is BenchmarkSpanExport on a stream of 4 shards
// (fewShardsEndpoint), where the 32 traces of an export call share shards, so that
// partition_by=shard can group them: one user record per shard and call instead of one
// per trace. In one run, on the same spans (recordSpans, 512 per export call):
//
//   - exporter=otelkinesis/partition=shard: ours with partition_by=shard, each encoding
//     and compression;
//   - exporter=otelkinesis/partition=trace_id: ours with the default partitioning, on the
//     same 4-shard stream;
//   - exporter=awskinesis: the Collector's exporter, as in BenchmarkSpanExport (its
//     partition key is random, so the shard count does not change what it writes).
//
// The figures to compare are record-B/span and put-units/10k-spans at matching encoding
// and compression:
//
//	go test -run '^$' -bench SpanExportByShard -benchmem -count=10 . | tee results/byshard.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '.unit:(record-B/span OR put-units/10k-spans)' results/byshard.txt
func BenchmarkSpanExportByShard(b *testing.B) {
	spans := recordSpans(batchSize, 1)

	for _, part := range []otelkinesis.PartitionBy{otelkinesis.PartitionByShard, otelkinesis.PartitionByTraceID} {
		for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
			for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone, otelkinesis.CompressionGzip, otelkinesis.CompressionZstd} {
				b.Run(fmt.Sprintf("exporter=otelkinesis/partition=%s/encoding=%s/compression=%s", part, enc, comp), func(b *testing.B) {
					runOurs(b, fewShardsEndpoint, spans, otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp),
						otelkinesis.WithPartitionBy(part))
				})
			}
		}
	}

	runCollector(b, fewShardsEndpoint, spans)
}
