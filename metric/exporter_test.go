package metric_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
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
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
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

func newTestExporter(t *testing.T, opts ...otelkinesis.Option) (*kinesistest.Server, *kinesismetric.Exporter) {
	t.Helper()
	srv, base := exportertest.Kinesis(t, "metrics")
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
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := teststream.Read(ctx, testpeers.Client(t, srv.URL()), "metrics")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		n += len(teststream.DataPoints(r.Telemetry.Metrics))
	}
	return n
}

// TestSurvivesFaults: throttled entries and failing requests lose no data point.
func TestSurvivesFaults(t *testing.T) {
	srv, exp := newTestExporter(t)
	srv.InjectEntryRate(kinesistest.EntryThrottled, 0.2, 7)
	srv.InjectRequests(2, kinesistest.ServiceUnavailable(), "PutRecords")
	srv.InjectRequests(1, kinesistest.DropConnection(), "PutRecords")
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if err := exp.Export(ctx, gauges(100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countPoints(t, srv); got != 2000 {
		t.Fatalf("read %d data points, want 2000", got)
	}
	if srv.Stats().RecordsThrottled == 0 {
		t.Error("no entry was throttled: the fault did not happen")
	}
}

// TestPermanentFailure: AccessDenied fails fast and Shutdown reports the drop.
func TestPermanentFailure(t *testing.T) {
	srv, exp := newTestExporter(t)
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exp.Export(ctx, gauges(10)); err != nil {
		t.Fatal(err)
	}
	err := exp.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Shutdown = %v, want the AccessDenied drop", err)
	}
	if n := len(srv.RequestsFor("PutRecords")); n > 5 {
		t.Errorf("%d requests for a permanent error", n)
	}
}

// TestShutdownSemantics: after Shutdown, Export and Shutdown return ErrExporterShutdown,
// ForceFlush returns nil.
func TestShutdownSemantics(t *testing.T) {
	_, exp := newTestExporter(t)
	ctx := context.Background()
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, gauges(1)); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("Export after Shutdown = %v", err)
	}
	if err := exp.Shutdown(ctx); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("second Shutdown = %v", err)
	}
	if err := exp.ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush after Shutdown = %v", err)
	}
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
		otelkinesis.WithEndpoint(srv.URL()),
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
