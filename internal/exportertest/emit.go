package exportertest

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	otelmetric "go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Emit starts n traces through tp, each a span with a log record emitted under it through
// lp and an increment of the counter "requests" of mp over four routes, and returns their
// trace IDs.
func Emit(ctx context.Context, t testing.TB, tp trace.TracerProvider, mp otelmetric.MeterProvider, lp otellog.LoggerProvider, n int) map[string]bool {
	t.Helper()
	tracer, logger := tp.Tracer("t"), lp.Logger("l")
	counter, err := mp.Meter("m").Int64Counter("requests")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i := range n {
		sctx, span := tracer.Start(ctx, fmt.Sprintf("request %d", i))
		ids[span.SpanContext().TraceID().String()] = true
		counter.Add(sctx, 1, otelmetric.WithAttributes(attribute.Int("route", i%4)))
		var r otellog.Record
		r.SetBody(attribute.StringValue(fmt.Sprintf("log %d", i)))
		logger.Emit(sctx, r)
		span.End()
	}
	return ids
}
