package otelkinesis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestSharedProducerCountsItsDrops: the spans a producer from NewProducer gives up on
// (every request denied) are counted in otelkinesis.exporter.dropped with the producer's
// reason and no signal, exactly as many as were exported.
func TestSharedProducerCountsItsDrops(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("denied", 2); err != nil {
		t.Fatal(err)
	}
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("denied"), otelkinesis.WithEndpoint(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()), otelkinesis.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	for range 7 {
		_, s := tp.Tracer("t").Start(ctx, "denied")
		s.End()
	}
	if err := p.Flush(ctx); err == nil {
		t.Fatal("Flush = nil, want the permanent drop")
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Logf("provider shutdown: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("producer shutdown: %v", err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "otelkinesis.exporter.dropped" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				reason, _ := dp.Attributes.Value("reason")
				if _, ok := dp.Attributes.Value("signal"); ok {
					t.Errorf("a shared producer's drop counted with a signal: %v", dp.Attributes.ToSlice())
				}
				got[reason.AsString()] += dp.Value
			}
		}
	}
	if len(got) != 1 || got["permanent_error"] != 7 {
		t.Errorf("dropped by reason = %v, want 7 spans, permanent_error", got)
	}
}
