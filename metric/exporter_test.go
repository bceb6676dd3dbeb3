package metric_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
)

func TestMain(m *testing.M) {
	benchendpoint.MaybeServe() // when a benchmark runs this binary as its endpoint
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

func newTestExporter(t *testing.T, opts ...kinesismetric.Option) (*kinesistest.Server, *kinesismetric.Exporter) {
	t.Helper()
	srv, base := exportertest.Kinesis[kinesismetric.Option](t, "metrics")
	exp, err := kinesismetric.New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, exp
}

// gauges returns a ResourceMetrics of n gauge data points.
func gauges(n int) *metricdata.ResourceMetrics {
	pts := make([]metricdata.DataPoint[int64], n)
	now := time.Unix(1_700_000_000, 0)
	for i := range pts {
		pts[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.Int("i", i)), Time: now, Value: int64(i)}
	}
	return &metricdata.ResourceMetrics{
		Resource:     resource.NewSchemaless(attribute.String("service.name", "s")),
		ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{Name: "g", Data: metricdata.Gauge[int64]{DataPoints: pts}}}}},
	}
}

func countPoints(t *testing.T, srv *kinesistest.Server) int {
	return exportertest.ReadCount(t, srv, "metrics", func(r teststream.Record) int { return len(teststream.DataPoints(r.Telemetry.Metrics)) })
}

// TestSurvivesFaults: throttled entries and failing requests lose no data point.
func TestSurvivesFaults(t *testing.T) {
	srv, exp := newTestExporter(t)
	srv.InjectEntryRate(kinesistest.EntryThrottled, 0.2, 7)
	exportertest.SurvivesFaults(t, srv, 20, func(ctx context.Context) error { return exp.Export(ctx, gauges(100)) }, exp.Shutdown,
		func() int { return countPoints(t, srv) }, 2000)
}

// TestPermanentFailure: AccessDenied fails fast and Shutdown reports the drop.
func TestPermanentFailure(t *testing.T) {
	srv, exp := newTestExporter(t)
	exportertest.PermanentFailure(t, srv, func(ctx context.Context) error { return exp.Export(ctx, gauges(10)) }, exp.Shutdown)
}

// TestShutdownSemantics: after Shutdown, Export and Shutdown return ErrExporterShutdown,
// ForceFlush returns nil.
func TestShutdownSemantics(t *testing.T) {
	_, exp := newTestExporter(t)
	exportertest.ShutdownSemantics(t, func(ctx context.Context) error { return exp.Export(ctx, gauges(1)) }, exp.Shutdown, exp.ForceFlush,
		sdkmetric.ErrExporterShutdown, sdkmetric.ErrExporterShutdown)
}

// TestSelectors: the temporality and aggregation options reach the SDK; the defaults are
// cumulative and the SDK's default aggregation.
func TestSelectors(t *testing.T) {
	_, def := newTestExporter(t)
	defer def.Shutdown(context.Background())
	if got := def.Temporality(sdkmetric.InstrumentKindCounter); got != metricdata.CumulativeTemporality {
		t.Errorf("default temporality %v", got)
	}
	if got := def.Aggregation(sdkmetric.InstrumentKindHistogram); fmt.Sprint(got) != fmt.Sprint(sdkmetric.DefaultAggregationSelector(sdkmetric.InstrumentKindHistogram)) {
		t.Errorf("default aggregation %v", got)
	}
	_, exp := newTestExporter(t, kinesismetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector),
		kinesismetric.WithAggregationSelector(func(sdkmetric.InstrumentKind) sdkmetric.Aggregation { return sdkmetric.AggregationDrop{} }))
	defer exp.Shutdown(context.Background())
	if got := exp.Temporality(sdkmetric.InstrumentKindCounter); got != metricdata.DeltaTemporality {
		t.Errorf("temporality %v, want delta", got)
	}
	if _, ok := exp.Aggregation(sdkmetric.InstrumentKindCounter).(sdkmetric.AggregationDrop); !ok {
		t.Errorf("aggregation not the selector's")
	}
}

// TestConcurrentSafe: Export, ForceFlush and Shutdown from many goroutines (run with
// -race -count=20).
func TestConcurrentSafe(t *testing.T) {
	_, exp := newTestExporter(t)
	batch := gauges(20)
	exportertest.ConcurrentSafe(t, func(ctx context.Context) error { return exp.Export(ctx, batch) }, exp.ForceFlush, exp.Shutdown,
		sdkmetric.ErrExporterShutdown, otelkinesis.ErrShutdown)
}

// Wire the exporter into a MeterProvider with a periodic reader. The stream here is an
// in-process kinesistest endpoint; against AWS, set only the stream (option or
// OTEL_EXPORTER_KINESIS_STREAM_NAME) and the region.
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("telemetry", 2); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	exp, err := kinesismetric.New(ctx,
		otelkinesis.WithStreamName("telemetry"),
		otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()),
		kinesismetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector),
	)
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(10*time.Second))))
	counter, _ := mp.Meter("example").Int64Counter("requests")
	counter.Add(ctx, 1)

	// Shutdown collects once more, exports, and shuts the exporter down, which delivers
	// everything it holds.
	if err := mp.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Kinesis records on the stream:", len(srv.Stream("telemetry").AllRecords()))
	// Output: Kinesis records on the stream: 1
}
