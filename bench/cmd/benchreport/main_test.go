package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/otelkinesis/otelkinesis/bench
BenchmarkSpanExport/exporter=otelkinesis/encoding=otlp_proto/compression=none-2   100   4000 cpu-ns/span   0.2 allocs/span   0 ns/op
BenchmarkSpanExport/exporter=otelkinesis/encoding=otlp_proto/compression=none-2   100   2000 cpu-ns/span   0.2 allocs/span   0 ns/op
BenchmarkSpanExport/exporter=otelkinesis/encoding=otlp_proto/compression=none-2   100   3000 cpu-ns/span   0.2 allocs/span   0 ns/op
BenchmarkSpanExport/exporter=awskinesis/encoding=otlp_proto/compression=none-2    100   6000 cpu-ns/span   20 allocs/span   0 ns/op
BenchmarkSpanExport/exporter=otlptracehttp/encoding=otlp_proto/compression=none-2 100  10000 cpu-ns/span   50 allocs/span   0 ns/op
BenchmarkSpanExportByShard/exporter=otelkinesis/partition=shard/encoding=otlp_json/compression=gzip-2   100   40 record-B/span   0 ns/op
BenchmarkSpanExportByShard/exporter=awskinesis/encoding=otlp_json/compression=gzip-2   100   50 record-B/span   0 ns/op
BenchmarkShardCapacity/shards=1-2 	2026/11/22 02:06:55 a log line the benchmark printed
BenchmarkShardCapacity/shards=1-2   1   99.5 capacity-%   0 throttled-%
pkg: github.com/otelkinesis/otelkinesis/trace
BenchmarkSpanExport-2   10   7 cpu-ns/span
`

// TestReport checks medians, the ratio table, families kept apart by package, lines that
// are not results skipped, and one chart per family and non-zero unit.
func TestReport(t *testing.T) {
	r := newResults()
	if err := r.read(strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	if len(r.families) != 4 {
		t.Fatalf("%d families, want 4 (bench span export and by shard, capacity, trace span export)", len(r.families))
	}
	dir := t.TempDir()
	charts, err := r.writeCharts(dir)
	if err != nil {
		t.Fatal(err)
	}
	// span export: cpu-ns/span, allocs/span; by shard: record-B/span; capacity:
	// capacity-% (throttled-% is all 0); trace: cpu-ns/span.
	if len(charts) != 5 {
		t.Errorf("charts %v, want 5", charts)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "BenchmarkSpanExport_cpu-ns_span.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), ">3000<") || !strings.Contains(string(svg), "otelkinesis otlp_proto none") {
		t.Errorf("chart lacks the median 3000 or the label:\n%s", svg)
	}
	var tables strings.Builder
	r.writeTables(&tables, charts)
	for _, want := range []string{
		"| `otlp_proto none` | otlptracehttp | 0.30× | 0.00× |",
		"| `otlp_proto none` | awskinesis | 0.50× | 0.01× |",
		"### BenchmarkSpanExportByShard: ours over each peer",
		"| `shard otlp_json gzip` | awskinesis |  |  |  | 0.80× |  |",
		"### trace.BenchmarkSpanExport",
		"| `shards=1` | 99.50 | 0 |",
	} {
		if !strings.Contains(tables.String(), want) {
			t.Errorf("tables lack %q:\n%s", want, tables.String())
		}
	}
}
