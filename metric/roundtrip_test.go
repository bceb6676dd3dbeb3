package metric_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
)

// tee hands every ResourceMetrics to the official exporter first (the oracle), then to
// ours, while the SDK's data is still valid. Both get a context the reader cannot cancel:
// MeterProvider.Shutdown cancels a periodic export in flight, which would let one
// exporter see data the other did not.
type tee struct {
	*kinesismetric.Exporter
	official sdkmetric.Exporter
}

func (t tee) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	ctx = context.WithoutCancel(ctx)
	if err := t.official.Export(ctx, rm); err != nil {
		return err
	}
	return t.Exporter.Export(ctx, rm)
}

// record drives every instrument kind for a while, with attributes of every kind and
// exemplars carrying trace and span IDs.
func record(t *testing.T, mp *sdkmetric.MeterProvider, rounds int) {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	m := mp.Meter("example.com/shop", otelmetric.WithInstrumentationVersion("2.0"), otelmetric.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))
	ic, _ := m.Int64Counter("orders", otelmetric.WithUnit("{order}"), otelmetric.WithDescription("orders placed"))
	fc, _ := m.Float64Counter("revenue", otelmetric.WithUnit("EUR"))
	ud, _ := m.Int64UpDownCounter("queue.depth")
	h, _ := m.Float64Histogram("latency", otelmetric.WithUnit("ms"), otelmetric.WithExplicitBucketBoundaries(1, 5, 10, 50))
	eh, _ := m.Int64Histogram("payload.size", otelmetric.WithUnit("By"))
	g, _ := m.Float64Gauge("temperature")
	var obs int64
	_, _ = m.Int64ObservableGauge("goroutines", otelmetric.WithInt64Callback(func(_ context.Context, o otelmetric.Int64Observer) error {
		obs++
		o.Observe(obs, otelmetric.WithAttributes(attribute.String("pool", "io")))
		return nil
	}))
	attrs := []attribute.KeyValue{
		attribute.String("region", "eu-west-1"), attribute.Bool("vip", true), attribute.Int64("tier", 3),
		attribute.Float64("weight", 0.5), attribute.StringSlice("tags", []string{"a", "é"}), attribute.Int64Slice("ids", []int64{1, 2}),
		attribute.Float64Slice("fs", []float64{1.5}), attribute.BoolSlice("bs", []bool{true}),
	}
	for i := 0; i < rounds; i++ {
		sctx, span := tp.Tracer("t").Start(ctx, "op")
		set := otelmetric.WithAttributes(append(attrs, attribute.Int("shard", i%3))...)
		ic.Add(sctx, int64(i), set)
		fc.Add(sctx, float64(i)/3, set)
		ud.Add(sctx, int64(i%5-2), set)
		h.Record(sctx, float64(i%60), set)
		eh.Record(sctx, int64(i*i), set)
		g.Record(sctx, 20+float64(i%4), set)
		span.End()
		if i%30 == 0 {
			time.Sleep(10 * time.Millisecond) // let the periodic reader collect several times
		}
	}
}

// TestRoundTrip exports every instrument kind, in both temporalities, through a
// MeterProvider with a periodic reader into kinesalite and kinesis-local, reads the stream
// back and checks that the data points are exactly those otlpmetrichttp sent for the same
// data, field for field (as multisets: the exporter may split a batch into several
// records), each resource's series on one shard.
func TestRoundTrip(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		for _, temp := range []struct {
			name string
			sel  sdkmetric.TemporalitySelector
		}{{"cumulative", sdkmetric.CumulativeTemporalitySelector}, {"delta", sdkmetric.DeltaTemporalitySelector}} {
			for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
				t.Run(fmt.Sprintf("%s/%s/%s", peer.Name, temp.name, enc), func(t *testing.T) {
					t.Parallel()
					roundTrip(t, peer, temp.sel, enc)
				})
			}
		}
	}
}

func roundTrip(t *testing.T, peer testpeers.Peer, sel sdkmetric.TemporalitySelector, enc otelkinesis.Encoding) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)

	exp, err := kinesismetric.New(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client),
		otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(otelkinesis.CompressionGzip),
		otelkinesis.WithFlushInterval(20*time.Millisecond), otelkinesis.WithRequestTimeout(2*time.Minute),
		kinesismetric.WithTemporalitySelector(sel))
	if err != nil {
		t.Fatal(err)
	}
	sink := exportertest.NewSink(t, func() *colmetricpb.ExportMetricsServiceRequest { return &colmetricpb.ExportMetricsServiceRequest{} })
	official, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(sink.URL+"/v1/metrics"),
		otlpmetrichttp.WithTemporalitySelector(sel))
	if err != nil {
		t.Fatal(err)
	}
	exponential := sdkmetric.NewView(sdkmetric.Instrument{Name: "payload.size"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 20, MaxScale: 10}})
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "shop"))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithView(exponential),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(tee{exp, official}, sdkmetric.WithInterval(30*time.Millisecond))))
	record(t, mp, 300)
	if err := mp.Shutdown(ctx); err != nil { // a last collection, then exporter shutdown
		t.Fatal(err)
	}

	want := map[string]int{}
	for _, r := range sink.Requests() {
		for k, n := range teststream.Multiset(teststream.DataPoints(r)) {
			want[k] += n
		}
	}
	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	shardOf := map[string]string{}
	for _, r := range recs {
		if r.Telemetry.Metrics == nil {
			t.Fatalf("user record tagged %+v, want metrics", r.Telemetry.Format)
		}
		for k, n := range teststream.Multiset(teststream.DataPoints(r.Telemetry.Metrics)) {
			got[k] += n
		}
		if prev, ok := shardOf[r.PartitionKey]; ok && prev != r.Shard {
			t.Errorf("resource key %s on shards %s and %s", r.PartitionKey, prev, r.Shard)
		}
		shardOf[r.PartitionKey] = r.Shard
	}
	if len(want) == 0 {
		t.Fatal("the official exporter saw no data points")
	}
	if !hasExemplarWithTrace(sink.Requests()) {
		t.Fatal("no exemplar with a trace ID: the test does not cover exemplars")
	}
	missing, extra := 0, 0
	for k, n := range want {
		if got[k] != n {
			missing++
		}
	}
	for k, n := range got {
		if want[k] != n {
			extra++
		}
	}
	if missing+extra > 0 {
		t.Fatalf("%d data points differ from otlpmetrichttp's and %d were not sent by it (of %d)", missing, extra, len(want))
	}
	t.Logf("%d distinct data points in %d user records, equal to otlpmetrichttp's", len(want), len(recs))
}

// hasExemplarWithTrace reports whether any sum data point carries an exemplar with trace
// and span IDs.
func hasExemplarWithTrace(reqs []*colmetricpb.ExportMetricsServiceRequest) bool {
	for _, r := range reqs {
		for _, rm := range r.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					for _, p := range m.GetSum().GetDataPoints() {
						for _, e := range p.Exemplars {
							if len(e.TraceId) == 16 && len(e.SpanId) == 8 {
								return true
							}
						}
					}
				}
			}
		}
	}
	return false
}
