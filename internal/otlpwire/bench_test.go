package otlpwire

import (
	"context"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/internal/cputime"
)

// marshalClient is an otlptrace.Client that marshals what it is handed, as
// otlptracehttp does before sending: otlptrace's transform plus
// proto.Marshal (or protojson) is the path the direct encoder replaces.
type marshalClient struct {
	json bool
	buf  []byte
}

func (c *marshalClient) Start(context.Context) error { return nil }
func (c *marshalClient) Stop(context.Context) error  { return nil }
func (c *marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: rs}
	var err error
	if c.json {
		c.buf, err = protojson.MarshalOptions{UseEnumNumbers: true}.MarshalAppend(c.buf[:0], req)
	} else {
		c.buf, err = proto.MarshalOptions{}.MarshalAppend(c.buf[:0], req)
	}
	return err
}

// perSpan runs fn b.N times over a batch of n spans and reports ns/span
// (wall time), cpu-ns/span (process CPU time, garbage collection included),
// allocs/span and B/span (the encoded bytes per span).
func perSpan(b *testing.B, n int, fn func() int) {
	b.Helper()
	size := fn() // warm up scratch buffers
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	cpu = cputime.Process() - cpu
	runtime.ReadMemStats(&after)
	spans := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/spans, "cpu-ns/span")
	}
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/spans, "allocs/span")
	b.ReportMetric(float64(size)/float64(n), "B/span")
}

// BenchmarkTraces compares, on realistic spans (10 attributes, 1 event,
// 1 link, 512 per batch), otlptrace's transform plus proto.Marshal with the
// direct encoder: one whole request, and records split by trace ID.
func BenchmarkTraces(b *testing.B) {
	const n = 512
	spans := realisticSpans(n)
	b.Run("otlptrace+proto.Marshal", func(b *testing.B) {
		otlptraceBench(b, false, spans)
	})
	b.Run("otlpwire/request", func(b *testing.B) {
		e := newEncoder(b, TraceConfig{})
		var buf []byte
		perSpan(b, n, func() int {
			buf = e.AppendRequest(buf[:0], spans)
			return len(buf)
		})
	})
	for _, c := range []struct {
		name string
		cfg  TraceConfig
	}{
		{"otlpwire/records-by-trace", TraceConfig{}},
		{"otlpwire/records-random", TraceConfig{Partitioning: PartitionRandom}},
	} {
		b.Run(c.name, func(b *testing.B) {
			encodeBench(b, c.cfg, spans)
		})
	}
	b.Run("otlptrace+protojson", func(b *testing.B) {
		otlptraceBench(b, true, spans)
	})
	b.Run("otlpwire/json-records-by-trace", func(b *testing.B) {
		encodeBench(b, TraceConfig{Encoding: JSON}, spans)
	})
}

// otlptraceBench measures otlptrace's transform followed by proto.Marshal
// (or protojson).
func otlptraceBench(b *testing.B, json bool, spans []sdktrace.ReadOnlySpan) {
	ctx := context.Background()
	c := &marshalClient{json: json}
	exp, err := otlptrace.New(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	perSpan(b, len(spans), func() int {
		if err := exp.ExportSpans(ctx, spans); err != nil {
			b.Fatal(err)
		}
		return len(c.buf)
	})
}

func encodeBench(b *testing.B, cfg TraceConfig, spans []sdktrace.ReadOnlySpan) {
	e := newEncoder(b, cfg)
	size := 0
	emit := func(_ string, data []byte) error {
		size += len(data)
		return nil
	}
	perSpan(b, len(spans), func() int {
		size = 0
		if _, err := e.Encode(spans, emit); err != nil {
			b.Fatal(err)
		}
		return size
	})
}
