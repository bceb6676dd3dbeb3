package otelkinesis_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestSharedProducerCountsItsDrops: the spans a producer from NewProducer gives up on
// (every request denied) are counted in its otelkinesis.producer.items.dropped with the
// producer's reason as error.type, exactly as many as were exported.
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
	p, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("denied"), otelkinesis.WithEndpointURL(srv.URL()),
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

	got := exportertest.ProducerDropped(t, reader)
	if want := map[string]int64{"permanent_error": 7}; !maps.Equal(got, want) {
		t.Errorf("otelkinesis.producer.items.dropped = %v, want %v", got, want)
	}
}
