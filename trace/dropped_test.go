package trace_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// newMeteredExporter starts kinesistest with a stream and a trace exporter on it whose
// metrics a ManualReader collects.
func newMeteredExporter(t *testing.T, opts ...kinesistrace.Option) (*kinesistest.Server, *kinesistrace.Exporter, *sdkmetric.ManualReader) {
	t.Helper()
	srv, base := exportertest.Kinesis[kinesistrace.Option](t, "traces")
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	opts = append(append(base, otelkinesis.WithMeterProvider(mp)), opts...)
	exp, err := kinesistrace.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return srv, exp, reader
}

// TestDeniedSpansCounted: when Kinesis refuses every request with AccessDenied, each span
// the exporter handed to the producer is dropped by the producer, and counted in
// otel.sdk.exporter.span.exported with the error.type permanent_error.
func TestDeniedSpansCounted(t *testing.T) {
	srv, exp, reader := newMeteredExporter(t)
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	rec := newRecorderProvider()
	tr := rec.tp.Tracer("t")
	ctx := context.Background()
	const traces, perTrace = 20, 3
	for i := range traces {
		pctx, root := tr.Start(ctx, fmt.Sprintf("root %d", i))
		for j := range perTrace - 1 {
			_, s := tr.Start(pctx, fmt.Sprintf("child %d", j))
			s.End()
		}
		root.End()
	}
	spans := rec.rec.Ended()
	if len(spans) != traces*perTrace {
		t.Fatalf("%d spans recorded", len(spans))
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("ExportSpans: %v", err) // the producer took them; the drop comes later
	}
	err := exp.ForceFlush(ctx)
	var de *kpl.DropError
	if !errors.As(err, &de) || !errors.Is(err, kpl.ErrPermanent) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("ForceFlush = %v, want a permanent drop naming AccessDenied", err)
	}
	want := map[string]int64{"permanent_error/traces": int64(len(spans))}
	if got := exportertest.Dropped(t, reader); !maps.Equal(got, want) {
		t.Errorf("failed exports = %v, want %v", got, want)
	}
}

// TestOversizeSpanCounted: a span larger than any record may be is dropped by the exporter
// and counted with the reason too_large; the spans beside it are not counted.
func TestOversizeSpanCounted(t *testing.T) {
	_, exp, reader := newMeteredExporter(t)
	rec := newRecorderProvider()
	tr := rec.tp.Tracer("t")
	ctx := context.Background()
	_, big := tr.Start(ctx, "big", oteltrace.WithAttributes(attribute.String("blob", strings.Repeat("x", 1_200_000))))
	big.End()
	for range 5 {
		_, s := tr.Start(ctx, "small")
		s.End()
	}
	if err := exp.ExportSpans(ctx, rec.rec.Ended()); err == nil {
		t.Fatal("ExportSpans = nil, want the big span named")
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	want := map[string]int64{"too_large/traces": 1}
	if got := exportertest.Dropped(t, reader); !maps.Equal(got, want) {
		t.Errorf("failed exports = %v, want %v", got, want)
	}
}
