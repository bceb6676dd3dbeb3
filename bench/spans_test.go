package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// spansPerTrace is how many spans each trace of a generated batch has.
const spansPerTrace = 16

// recordSpans makes n spans through a real TracerProvider, shaped like instrumented
// database calls: 10 attributes, 1 event and 1 link each, in traces of
// spansPerTrace spans (a root and its children) from one resource and scope. With
// interleave > 1 each trace is spread over that many equal consecutive parts of the
// result (spansPerTrace/interleave spans in each), as a batch processor sees concurrent
// requests; otherwise each trace's spans are adjacent.
func recordSpans(n, interleave int) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"),
		attribute.String("service.version", "2.4.1"), attribute.String("host.name", "ip-10-0-0-1"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tracer := tp.Tracer("example.com/checkout/db", trace.WithInstrumentationVersion("1.0.0"))
	ctx := context.Background()
	var prev trace.SpanContext
	for t := 0; t*spansPerTrace < n; t++ {
		root, rootSpan := tracer.Start(ctx, "GET /orders/{id}", trace.WithSpanKind(trace.SpanKindServer))
		for i := 1; i < spansPerTrace && t*spansPerTrace+i < n; i++ {
			_, s := tracer.Start(root, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient),
				trace.WithLinks(trace.Link{SpanContext: prev, Attributes: []attribute.KeyValue{attribute.String("link.kind", "follows")}}),
				trace.WithAttributes(
					attribute.String("db.system", "postgresql"), attribute.String("db.name", "orders"),
					attribute.String("db.statement", "SELECT * FROM orders WHERE id = $1"), attribute.String("db.operation", "SELECT"),
					attribute.String("server.address", "db.internal"), attribute.Int("server.port", 5432),
					attribute.Int("db.rows", i%100), attribute.Bool("db.cached", i%2 == 0),
					attribute.Float64("db.latency_ratio", 0.25), attribute.String("thread.name", "worker-7")))
			s.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 1)))
			s.SetStatus(codes.Ok, "")
			prev = s.SpanContext()
			s.End()
		}
		rootSpan.SetAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200))
		rootSpan.End()
	}
	spans := rec.Ended()[:n]
	if interleave <= 1 {
		return spans
	}
	// Deal each trace's spans over interleave consecutive slices of len(spans)/interleave:
	// slice b gets the b-th part of every trace.
	out := make([]sdktrace.ReadOnlySpan, 0, n)
	per := spansPerTrace / interleave
	for b := range interleave {
		for first := b * per; first+per <= len(spans); first += spansPerTrace {
			out = append(out, spans[first:first+per]...)
		}
	}
	return out
}

// asPdata returns spans as the Collector's pdata, through the OTLP protobuf that
// otlptracehttp sends for them: the Collector's exporter gets the same spans ours does,
// already in its own format.
func asPdata(tb testing.TB, spans []sdktrace.ReadOnlySpan) ptrace.Traces {
	tb.Helper()
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		tb.Fatal(err)
	}
	_ = exp.Shutdown(context.Background())
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
	if err != nil {
		tb.Fatal(err)
	}
	if td.SpanCount() != len(spans) {
		tb.Fatalf("pdata has %d spans, want %d", td.SpanCount(), len(spans))
	}
	return td
}
