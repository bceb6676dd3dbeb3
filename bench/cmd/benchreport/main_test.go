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

const splitSample = `pkg: github.com/otelkinesis/otelkinesis/bench
BenchmarkPerByteShare/exporter=otelkinesis/encoding=otlp_proto/compression=none-2  100  600 perbyte-md5-ns/span  300 perbyte-sha256-ns/span  500 other-encode-ns/span  900 perbyte-ns/span  500 other-ns/span  0.55 other-per-perbyte  1400 cpu-ns/span  0 ns/op
BenchmarkPerByteShare/exporter=otelkinesis/encoding=otlp_proto/compression=none-2  100  700 perbyte-md5-ns/span  300 perbyte-sha256-ns/span  700 other-encode-ns/span  1000 perbyte-ns/span  700 other-ns/span  0.7 other-per-perbyte  1700 cpu-ns/span  0 ns/op
BenchmarkPerByteShare/exporter=otelkinesis/encoding=otlp_proto/compression=none-2  100  650 perbyte-md5-ns/span  300 perbyte-sha256-ns/span  600 other-encode-ns/span  950 perbyte-ns/span  600 other-ns/span  0.63 other-per-perbyte  1550 cpu-ns/span  0 ns/op
`

// TestSplitReport: a family that splits its CPU time (BenchmarkPerByteShare) gets one
// chart of the classes per sub-benchmark instead of one chart per class.
func TestSplitReport(t *testing.T) {
	r := newResults()
	if err := r.read(strings.NewReader(splitSample)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	charts, err := r.writeCharts(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"BenchmarkPerByteShare_other-per-perbyte.svg", "BenchmarkPerByteShare_cpu-ns_span.svg",
		"BenchmarkPerByteShare_otelkinesis_otlp_proto_none_split.svg"}
	if strings.Join(charts, " ") != strings.Join(want, " ") {
		t.Fatalf("charts %v, want %v", charts, want)
	}
	svg, err := os.ReadFile(filepath.Join(dir, want[2]))
	if err != nil {
		t.Fatal(err)
	}
	// The bars in order: per-byte classes, their sum, the other classes, their sum.
	rest := string(svg)
	for _, s := range []string{">perbyte: md5<", ">650.0<", ">perbyte: sha256<", ">perbyte, in all<", ">950.0<",
		">other: encode<", ">600.0<", ">other, in all<"} {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("split chart lacks %q after the bars before it:\n%s", s, svg)
		}
		rest = rest[i:]
	}
}
