package trace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// realisticBatch returns n spans shaped like real instrumentation: 10
// attributes, 1 event, 1 link each, spread over n/16 traces.
func realisticBatch(n int) []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "ip-10-0-0-1"),
		attribute.String("telemetry.sdk.language", "go"))
	scope := instrumentation.Scope{Name: "example.com/checkout", Version: "1.0.0"}
	start := time.Unix(1_700_000_000, 0)
	stubs := make(tracetest.SpanStubs, n)
	for i := range stubs {
		var tid oteltrace.TraceID
		tid[0], tid[1], tid[15] = byte(i/16), byte(i/16>>8), 1
		var sid, lsid oteltrace.SpanID
		sid[0], sid[1], sid[7] = byte(i), byte(i>>8), 1
		lsid[0], lsid[7] = byte(i+1), 2
		stubs[i] = tracetest.SpanStub{
			Name: "SELECT orders", SpanKind: oteltrace.SpanKindClient,
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled}),
			Parent:      oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: lsid, TraceFlags: oteltrace.FlagsSampled}),
			StartTime:   start.Add(time.Duration(i) * time.Millisecond), EndTime: start.Add(time.Duration(i)*time.Millisecond + 3*time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("db.system", "postgresql"), attribute.String("db.name", "orders"),
				attribute.String("db.statement", "SELECT * FROM orders WHERE id = $1"), attribute.String("db.operation", "SELECT"),
				attribute.String("net.peer.name", "db.internal"), attribute.Int("net.peer.port", 5432),
				attribute.Int64("db.rows", int64(i%100)), attribute.Bool("db.cached", i%2 == 0),
				attribute.Float64("db.latency_ratio", 0.25), attribute.String("thread.name", "worker-7"),
			},
			Events: []sdktrace.Event{{Name: "retry", Time: start, Attributes: []attribute.KeyValue{attribute.Int("attempt", 1)}}},
			Links: []sdktrace.Link{{SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: lsid}),
				Attributes: []attribute.KeyValue{attribute.String("link.kind", "follows")}}},
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             res,
			InstrumentationScope: scope,
		}
	}
	return stubs.Snapshots()
}

// BenchmarkExport compares, in one run, the CPU and allocations per span of exporting
// realistic spans end to end: otelkinesis to a loopback kinesistest endpoint (delivery
// included: every iteration's records are flushed) against otlptracehttp to a loopback
// OTLP/HTTP sink. Both endpoints run in a child process, so cpu-ns/span and allocs/span
// are the exporter's own (with the HTTP client, signing and encoding), not the endpoint's.
//
//	go test -run '^$' -bench Export -benchmem -count=10 ./trace/ | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /exporter bench.txt
func BenchmarkExport(b *testing.B) {
	const batch = 512
	spans := realisticBatch(batch)
	ctx := context.Background()

	b.Run("exporter=otelkinesis", func(b *testing.B) {
		for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone} {
			b.Run(fmt.Sprintf("compression=%s", comp), func(b *testing.B) {
				// 64 shards and the highest rate limit, so that the per-shard rate limiter
				// (1 MiB/s per shard by default) does not set the pace.
				url := benchendpoint.Start(b, benchendpoint.Kinesis)
				awsCfg := testpeers.Config(url)
				exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchendpoint.Stream), otelkinesis.WithEndpointURL(url),
					otelkinesis.WithAWSConfig(awsCfg), otelkinesis.WithCompression(comp), otelkinesis.WithRateLimit(1000))
				if err != nil {
					b.Fatal(err)
				}
				defer exp.Shutdown(ctx)
				benchendpoint.Loop(b, batch, "span", func() error {
					if err := exp.ExportSpans(ctx, spans); err != nil {
						return err
					}
					return exp.ForceFlush(ctx) // delivery included
				})
			})
		}
	})

	b.Run("exporter=otlptracehttp", func(b *testing.B) {
		url := benchendpoint.Start(b, benchendpoint.OTLP)
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url+"/v1/traces"), otlptracehttp.WithInsecure())
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		benchendpoint.Loop(b, batch, "span", func() error { return exp.ExportSpans(ctx, spans) })
	})
}
