package otlpwire

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// otlpSink is a loopback OTLP/HTTP receiver: it answers every request with
// 200 and an empty body and, unless it discards them, keeps the request
// bodies (gunzipped when the client compressed them).
type otlpSink struct {
	srv     *httptest.Server
	discard bool

	mu     sync.Mutex
	bodies [][]byte
}

func newOTLPSink(tb testing.TB, discard bool) *otlpSink {
	tb.Helper()
	s := &otlpSink{discard: discard}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *otlpSink) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	if s.discard {
		_, _ = io.Copy(io.Discard, body)
	} else {
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// take returns the bodies received since the last call.
func (s *otlpSink) take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bodies
	s.bodies = nil
	return b
}

func newOracleMetricExporter(tb testing.TB, sink *otlpSink, opts ...otlpmetrichttp.Option) *otlpmetrichttp.Exporter {
	tb.Helper()
	opts = append([]otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(sink.srv.URL + "/v1/metrics"),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
	}, opts...)
	exp, err := otlpmetrichttp.New(context.Background(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// oracleMetrics returns the request body otlpmetrichttp sends for rm and
// the error its Export returns.
func oracleMetrics(t *testing.T, rm *metricdata.ResourceMetrics, opts ...otlpmetrichttp.Option) ([]byte, error) {
	t.Helper()
	sink := newOTLPSink(t, false)
	exp := newOracleMetricExporter(t, sink, opts...)
	err := exp.Export(context.Background(), rm)
	bodies := sink.take()
	if len(bodies) != 1 {
		t.Fatalf("otlpmetrichttp sent %d requests (export error %v), want 1", len(bodies), err)
	}
	return bodies[0], err
}

// mtCompareRequests asserts that got decodes into the same message as the
// oracle's body want, and (for the record) that the bytes are the same.
func mtCompareRequests(t *testing.T, got, want []byte, gotMsg, wantMsg proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(want, wantMsg); err != nil {
		t.Fatalf("oracle body does not decode: %v", err)
	}
	if err := proto.Unmarshal(got, gotMsg); err != nil {
		t.Fatalf("our bytes do not decode: %v\n%x", err, got)
	}
	if !proto.Equal(gotMsg, wantMsg) {
		t.Fatalf("decoded request differs from the official exporter's:\nwant %s\n got %s",
			prototext.Format(wantMsg), prototext.Format(gotMsg))
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-48)
		t.Errorf("bytes differ from the official exporter's from offset %d of %d/%d (messages equal):\n got …%x\nwant …%x",
			i, len(got), len(want), got[lo:min(len(got), i+48)], want[lo:min(len(want), i+48)])
	}
}

func checkMetricsOracle(t *testing.T, rm *metricdata.ResourceMetrics) {
	t.Helper()
	want, oerr := oracleMetrics(t, rm)
	got, err := AppendMetricsRequest([]byte("prefix"), rm)
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatal("AppendMetricsRequest lost the bytes before it")
	}
	if (err == nil) != (oerr == nil) {
		t.Errorf("error %v, official exporter's %v", err, oerr)
	}
	mtCompareRequests(t, got[len("prefix"):], want, &colmetricpb.ExportMetricsServiceRequest{}, &colmetricpb.ExportMetricsServiceRequest{})
}

// mtValues holds an attribute value of every kind, with empty, zero,
// unicode and long members, nested slices and maps.
func mtValues() []attribute.KeyValue {
	long := strings.Repeat("long-ü-", 40)
	return []attribute.KeyValue{
		attribute.Bool("bool.true", true),
		attribute.Bool("bool.false", false),
		attribute.Int64("int", -42),
		attribute.Int64("int.zero", 0),
		attribute.Int64("int.max", math.MaxInt64),
		attribute.Int64("int.min", math.MinInt64),
		attribute.Float64("float", 3.25),
		attribute.Float64("float.zero", 0),
		attribute.Float64("float.negzero", math.Copysign(0, -1)),
		attribute.Float64("float.inf", math.Inf(-1)),
		attribute.String("string", "value"),
		attribute.String("string.empty", ""),
		attribute.String("string.unicode", "ünïcødé 日本語 🚀 \u2028"),
		attribute.String("string.long", long),
		attribute.String("ключ", "значение"),
		attribute.BoolSlice("bools", []bool{true, false, true}),
		attribute.BoolSlice("bools.empty", []bool{}),
		attribute.Int64Slice("ints", []int64{0, -1, 1 << 40}),
		attribute.Float64Slice("floats", []float64{0, -1.5, math.MaxFloat64}),
		attribute.StringSlice("strings", []string{"", "a", "日本", long}),
		attribute.ByteSlice("bytes", []byte{0, 1, 0xff, 'x'}),
		attribute.ByteSlice("bytes.empty", nil),
		attribute.Slice("slice", attribute.StringValue("s"), attribute.Int64Value(1),
			attribute.SliceValue(attribute.BoolValue(true), attribute.Value{}),
			attribute.MapValue(attribute.String("in", "map"))),
		attribute.Slice("slice.empty"),
		attribute.Map("map", attribute.String("a", "b"), attribute.Int64("n", 7),
			attribute.Map("nested", attribute.Float64Slice("f", []float64{1, 2}), attribute.ByteSlice("b", []byte("xyz"))),
			attribute.Slice("list", attribute.StringValue(long))),
		attribute.Map("map.empty"),
		{Key: "empty.value"},
		{Key: "", Value: attribute.StringValue("empty key")},
	}
}

var (
	mtT0 = time.Unix(1700000000, 123456789)
	mtT1 = mtT0.Add(10 * time.Second)

	mtTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	mtSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

func mtExemplars[N int64 | float64](v N) []metricdata.Exemplar[N] {
	return []metricdata.Exemplar[N]{
		{FilteredAttributes: mtValues(), Time: mtT1, Value: v, SpanID: mtSpanID[:], TraceID: mtTraceID[:]},
		{Value: 0},
		{FilteredAttributes: []attribute.KeyValue{attribute.String("user", "ü")}, Time: mtT0, Value: -v, TraceID: mtTraceID[:]},
	}
}

func mtNumberPoints[N int64 | float64](values ...N) []metricdata.DataPoint[N] {
	dps := []metricdata.DataPoint[N]{
		{Attributes: attribute.NewSet(mtValues()...), StartTime: mtT0, Time: mtT1, Value: values[0], Exemplars: mtExemplars(values[0])},
		{}, // zero everything, no attributes
	}
	for i, v := range values[1:] {
		dps = append(dps, metricdata.DataPoint[N]{
			Attributes: attribute.NewSet(attribute.Int("i", i), attribute.String("s", "ü")),
			Time:       mtT1,
			Value:      v,
		})
	}
	return dps
}

func mtHistogramPoints[N int64 | float64](sum N) []metricdata.HistogramDataPoint[N] {
	bounds := []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
	counts := []uint64{1, 0, 3, 0, 0, 7, 1 << 40, 0, 0, 0, 0, 0, 0, 0, 2, 1}
	return []metricdata.HistogramDataPoint[N]{
		{
			Attributes: attribute.NewSet(mtValues()...), StartTime: mtT0, Time: mtT1,
			Count: 1<<40 + 14, Bounds: bounds, BucketCounts: counts,
			Min: metricdata.NewExtrema[N](-sum), Max: metricdata.NewExtrema(sum), Sum: sum,
			Exemplars: mtExemplars(sum),
		},
		{}, // no min, max, buckets; zero sum still written
		{Min: metricdata.NewExtrema[N](0), Max: metricdata.NewExtrema[N](0), Count: 1, Bounds: []float64{1}, BucketCounts: []uint64{1, 0}},
	}
}

func mtExpPoints[N int64 | float64](sum N) []metricdata.ExponentialHistogramDataPoint[N] {
	return []metricdata.ExponentialHistogramDataPoint[N]{
		{
			Attributes: attribute.NewSet(mtValues()...), StartTime: mtT0, Time: mtT1,
			Count: 1000, Min: metricdata.NewExtrema[N](-sum), Max: metricdata.NewExtrema(sum), Sum: sum,
			Scale: -3, ZeroCount: 17, ZeroThreshold: 1e-9,
			PositiveBucket: metricdata.ExponentialBucket{Offset: -5, Counts: []uint64{1, 0, 300, 1 << 50, 7}},
			NegativeBucket: metricdata.ExponentialBucket{Offset: 12, Counts: []uint64{0, 2}},
			Exemplars:      mtExemplars(sum),
		},
		{}, // empty buckets still written, scale 0 left out
		{Scale: 20, ZeroThreshold: math.Copysign(0, -1), PositiveBucket: metricdata.ExponentialBucket{Offset: math.MinInt32}},
		{Scale: math.MaxInt32, NegativeBucket: metricdata.ExponentialBucket{Offset: math.MaxInt32, Counts: []uint64{0}}},
	}
}

func mtAllKinds() []metricdata.Metrics {
	return []metricdata.Metrics{
		{Name: "gauge.int", Description: "an int gauge", Unit: "1", Data: metricdata.Gauge[int64]{DataPoints: mtNumberPoints[int64](7, 0, -1, math.MinInt64)}},
		{Name: "gauge.float", Description: "ünïcødé", Unit: "°C", Data: metricdata.Gauge[float64]{DataPoints: mtNumberPoints(2.5, 0, math.Copysign(0, -1), math.NaN(), math.Inf(1))}},
		{Name: "sum.int.cumulative.monotonic", Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: mtNumberPoints[int64](1 << 33)}},
		{Name: "sum.int.delta", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, DataPoints: mtNumberPoints[int64](-5, 3)}},
		{Name: "sum.float.delta.monotonic", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: mtNumberPoints(0.125)}},
		{Name: "sum.float.cumulative", Unit: "By", Data: metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: mtNumberPoints(-1e300)}},
		{Name: "sum.empty", Data: metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality}},
		{Name: "gauge.empty", Data: metricdata.Gauge[int64]{}},
		{Name: "histogram.int.delta", Unit: "ms", Data: metricdata.Histogram[int64]{Temporality: metricdata.DeltaTemporality, DataPoints: mtHistogramPoints[int64](12345)}},
		{Name: "histogram.float.cumulative", Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: mtHistogramPoints(0.75)}},
		{Name: "exphistogram.int.cumulative", Data: metricdata.ExponentialHistogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: mtExpPoints[int64](99)}},
		{Name: "exphistogram.float.delta", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: mtExpPoints(-2.5)}},
		{Name: "summary", Description: strings.Repeat("d", 200), Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{
			{
				Attributes: attribute.NewSet(mtValues()...), StartTime: mtT0, Time: mtT1, Count: 12, Sum: 3.5,
				QuantileValues: []metricdata.QuantileValue{{Quantile: 0, Value: 0}, {Quantile: 0.5, Value: 0}, {Quantile: 0, Value: -1}, {Quantile: 1, Value: 9}},
			},
			{},
		}}},
		{}, // no name, no data: left out
	}
}

func mtResourceMetrics() *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{
		Resource: resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", mtValues()...),
		ScopeMetrics: []metricdata.ScopeMetrics{
			{
				Scope: instrumentation.Scope{
					Name: "scope/ü", Version: "v1.2.3", SchemaURL: "https://example.com/scope",
					Attributes: attribute.NewSet(attribute.String("scope.attr", "x"), attribute.Int64Slice("scope.ints", []int64{1})),
				},
				Metrics: mtAllKinds()[:13],
			},
			{Metrics: []metricdata.Metrics{{Name: "zero scope", Data: metricdata.Gauge[float64]{DataPoints: mtNumberPoints(1.0)}}}},
			{Scope: instrumentation.Scope{Name: "no metrics"}},
		},
	}
}

func TestMetricsRequestMatchesOTLPMetricHTTP(t *testing.T) {
	cases := map[string]*metricdata.ResourceMetrics{
		"all kinds":      mtResourceMetrics(),
		"nil resource":   {ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: mtAllKinds()[:2]}}},
		"empty":          {},
		"empty resource": {Resource: resource.Empty()},
		"one metric per scope": {
			Resource: resource.NewSchemaless(attribute.String("service.name", "svc")),
			ScopeMetrics: func() []metricdata.ScopeMetrics {
				var sms []metricdata.ScopeMetrics
				for i, m := range mtAllKinds()[:13] {
					sms = append(sms, metricdata.ScopeMetrics{Scope: instrumentation.Scope{Name: m.Name, Version: strings.Repeat("v", i)}, Metrics: []metricdata.Metrics{m}})
				}
				return sms
			}(),
		},
	}
	for name, rm := range cases {
		t.Run(name, func(t *testing.T) { checkMetricsOracle(t, rm) })
	}
}

func TestMetricsRequestLeavesOutUnsupported(t *testing.T) {
	type custom struct{ metricdata.Gauge[int64] }
	rm := mtResourceMetrics()
	bad := []metricdata.Metrics{
		{Name: "nil data"},
		{Name: "pointer", Data: &metricdata.Gauge[int64]{}},
		{Name: "bad temporality", Data: metricdata.Sum[int64]{Temporality: 0, DataPoints: mtNumberPoints[int64](1)}},
		{Name: "bad histogram temporality", Data: metricdata.Histogram[float64]{Temporality: 9}},
		{Name: "bad exp temporality", Data: metricdata.ExponentialHistogram[int64]{}},
		{Name: "custom", Data: custom{}},
	}
	sm := &rm.ScopeMetrics[0]
	sm.Metrics = append(bad[:3:3], append(sm.Metrics, bad[3:]...)...)
	want, oerr := oracleMetrics(t, rm)
	if oerr == nil {
		t.Fatal("the official exporter accepted unsupported metrics")
	}
	got, err := AppendMetricsRequest(nil, rm)
	if !errors.Is(err, ErrUnsupportedMetric) {
		t.Fatalf("error %v, want one wrapping ErrUnsupportedMetric", err)
	}
	for _, m := range bad {
		if !strings.Contains(err.Error(), `"`+m.Name+`"`) {
			t.Errorf("error %q does not name metric %q", err, m.Name)
		}
	}
	mtCompareRequests(t, got, want, &colmetricpb.ExportMetricsServiceRequest{}, &colmetricpb.ExportMetricsServiceRequest{})
}

func TestMetricsRequestGzipOracle(t *testing.T) {
	rm := mtResourceMetrics()
	want, err := oracleMetrics(t, rm, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := AppendMetricsRequest(nil, rm)
	mtCompareRequests(t, got, want, &colmetricpb.ExportMetricsServiceRequest{}, &colmetricpb.ExportMetricsServiceRequest{})
}

// mtSDKMetrics collects what a MeterProvider makes of every instrument kind,
// with exemplars from a sampled span context.
func mtSDKMetrics(t testing.TB, temporality metricdata.Temporality) *metricdata.ResourceMetrics {
	t.Helper()
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return temporality
	}))
	expView := sdkmetric.NewView(sdkmetric.Instrument{Name: "*.exp"}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 20, MaxScale: 10},
	})
	noMinMax := sdkmetric.NewView(sdkmetric.Instrument{Name: "*.nominmax"}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{1, 10}, NoMinMax: true},
	})
	filtered := sdkmetric.NewView(sdkmetric.Instrument{Name: "*.filtered"}, sdkmetric.Stream{
		AttributeFilter: attribute.NewAllowKeysFilter("kept"),
	})
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(reader),
		sdkmetric.WithResource(resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
			attribute.String("service.name", "oracle"), attribute.StringSlice("host.ips", []string{"10.0.0.1", "::1"}))),
		sdkmetric.WithView(expView, noMinMax, filtered),
		sdkmetric.WithExemplarFilter(func(context.Context) bool { return true }),
	)
	defer func() { _ = mp.Shutdown(context.Background()) }()
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: mtTraceID, SpanID: mtSpanID, TraceFlags: trace.FlagsSampled,
	}))
	meter := mp.Meter("oracle/meter", otelmetric.WithInstrumentationVersion("1.0"),
		otelmetric.WithInstrumentationAttributes(attribute.String("lib", "ü")), otelmetric.WithSchemaURL("https://example.com/s"))
	recordAllInstruments(t, ctx, meter)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return &rm
}

func TestSDKMetricsMatchOTLPMetricHTTP(t *testing.T) {
	for _, temp := range []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality} {
		t.Run(temp.String(), func(t *testing.T) {
			rm := mtSDKMetrics(t, temp)
			kinds := map[string]bool{}
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					kinds[strings.TrimPrefix(strings.Split(fmt.Sprintf("%T", m.Data), "[")[0], "metricdata.")] = true
				}
			}
			for _, k := range []string{"Gauge", "Sum", "Histogram", "ExponentialHistogram"} {
				if !kinds[k] {
					t.Fatalf("the SDK produced no %s (got %v)", k, kinds)
				}
			}
			checkMetricsOracle(t, rm)
		})
	}
}

// recordAllInstruments records on every synchronous instrument kind and
// registers every asynchronous one.
func recordAllInstruments(t testing.TB, ctx context.Context, meter otelmetric.Meter) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	attrSets := []otelmetric.MeasurementOption{
		otelmetric.WithAttributes(attribute.String("route", "/a"), attribute.Bool("ok", true)),
		otelmetric.WithAttributes(attribute.String("route", "/ü"), attribute.Int("code", 500), attribute.Float64Slice("f", []float64{1.5})),
		otelmetric.WithAttributes(),
	}
	ic, err := meter.Int64Counter("int.counter", otelmetric.WithUnit("1"), otelmetric.WithDescription("ints"))
	must(err)
	fc, err := meter.Float64Counter("float.counter")
	must(err)
	iud, err := meter.Int64UpDownCounter("int.updown")
	must(err)
	fud, err := meter.Float64UpDownCounter("float.updown")
	must(err)
	ih, err := meter.Int64Histogram("int.histogram", otelmetric.WithUnit("ms"))
	must(err)
	fh, err := meter.Float64Histogram("float.histogram", otelmetric.WithExplicitBucketBoundaries(0.1, 1, 10))
	must(err)
	ie, err := meter.Int64Histogram("int.exp")
	must(err)
	fe, err := meter.Float64Histogram("float.exp")
	must(err)
	fn, err := meter.Float64Histogram("float.nominmax")
	must(err)
	ig, err := meter.Int64Gauge("int.gauge")
	must(err)
	fg, err := meter.Float64Gauge("float.gauge")
	must(err)
	ifl, err := meter.Int64Counter("int.filtered")
	must(err)
	for i, as := range attrSets {
		ic.Add(ctx, int64(i+1), as)
		fc.Add(ctx, 0.5*float64(i), as)
		iud.Add(ctx, int64(-i), as)
		fud.Add(ctx, -0.25, as)
		for _, v := range []int64{0, 3, 700, -2} {
			ih.Record(ctx, v, as)
			ie.Record(ctx, v, as)
		}
		for _, v := range []float64{0, 0.05, 5, 50, -1e-3, 1e6} {
			fh.Record(ctx, v, as)
			fe.Record(ctx, v, as)
			fn.Record(ctx, v, as)
		}
		ig.Record(ctx, int64(i*10), as)
		fg.Record(ctx, float64(i)/3, as)
	}
	ifl.Add(ctx, 3, otelmetric.WithAttributes(attribute.String("kept", "k"), attribute.String("dropped", "d"), attribute.Int("n", 1)))
	oc, err := meter.Int64ObservableCounter("obs.int.counter")
	must(err)
	og, err := meter.Float64ObservableGauge("obs.float.gauge")
	must(err)
	oud, err := meter.Float64ObservableUpDownCounter("obs.float.updown")
	must(err)
	_, err = meter.RegisterCallback(func(_ context.Context, o otelmetric.Observer) error {
		o.ObserveInt64(oc, 42, otelmetric.WithAttributes(attribute.String("cpu", "0")))
		o.ObserveFloat64(og, -3.5)
		o.ObserveFloat64(oud, 1e-300, otelmetric.WithAttributes(attribute.StringSlice("s", []string{"a", ""})))
		return nil
	}, oc, og, oud)
	must(err)
}

// benchResource is a typical service resource.
func benchResource() *resource.Resource {
	return resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "checkout"),
		attribute.String("service.version", "1.42.0"),
		attribute.String("service.instance.id", "627cc493-f310-47de-96bd-71410b7dec09"),
		attribute.String("host.name", "ip-10-0-12-34.ec2.internal"),
		attribute.String("cloud.region", "us-east-1"),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.version", "1.47.0"),
	)
}

// benchMetrics collects what a MeterProvider reports for a typical HTTP
// service: 20 attribute sets (method, route, status, scheme) on a request
// counter, an active-requests up-down counter, a duration histogram (default
// buckets), an exponential histogram and a gauge: 100 data points.
func benchMetrics(b testing.TB) (*metricdata.ResourceMetrics, int) {
	b.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(benchResource()),
		sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "http.server.request.size"}, sdkmetric.Stream{
			Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20},
		})))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	meter := mp.Meter("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", otelmetric.WithInstrumentationVersion("0.62.0"))
	requests, _ := meter.Int64Counter("http.server.requests", otelmetric.WithUnit("{request}"))
	active, _ := meter.Int64UpDownCounter("http.server.active_requests", otelmetric.WithUnit("{request}"))
	duration, _ := meter.Float64Histogram("http.server.request.duration", otelmetric.WithUnit("s"),
		otelmetric.WithDescription("Duration of HTTP server requests."))
	size, _ := meter.Int64Histogram("http.server.request.size", otelmetric.WithUnit("By"))
	cpu, _ := meter.Float64Gauge("process.cpu.utilization", otelmetric.WithUnit("1"))
	ctx := context.Background()
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range 20 {
		attrs := otelmetric.WithAttributes(
			attribute.String("http.request.method", methods[i%4]),
			attribute.String("http.route", fmt.Sprintf("/api/v1/resource%d/{id}", i/4)),
			attribute.Int("http.response.status_code", []int{200, 201, 404, 500}[i%4]),
			attribute.String("url.scheme", "https"),
		)
		for j := range 50 {
			requests.Add(ctx, 1, attrs)
			active.Add(ctx, int64(j%3-1), attrs)
			duration.Record(ctx, float64(j)*0.0123, attrs)
			size.Record(ctx, int64(j*j*17), attrs)
		}
		cpu.Record(ctx, float64(i)/20, attrs)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		b.Fatal(err)
	}
	var ends []int
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			appendDataPoints(nil, m.Data, Protobuf, &ends)
		}
	}
	return &rm, len(ends)
}

func TestAppendMetricMatchesOTLPMetricHTTP(t *testing.T) {
	rm := mtResourceMetrics()
	body, err := oracleMetrics(t, rm)
	if err != nil {
		t.Fatal(err)
	}
	var req colmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	for i, sm := range rm.ScopeMetrics {
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			want := req.ResourceMetrics[0].ScopeMetrics[i].Metrics[j]
			wantBytes, err := proto.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := AppendMetric(nil, m); !bytes.Equal(got, wantBytes) {
				t.Errorf("AppendMetric(%q) differs from otlpmetrichttp's Metric", m.Name)
			}
			checkJSON(t, AppendMetricJSON(nil, m), want)
		}
	}
	bad := &metricdata.Metrics{Name: "n", Description: "d", Unit: "u", Data: metricdata.Sum[int64]{}}
	if got := string(AppendMetricJSON(nil, bad)); got != `{"name":"n","description":"d","unit":"u"}` {
		t.Errorf("unsupported metric as JSON: %s", got)
	}
	if got := AppendMetric(nil, bad); !bytes.Equal(got, []byte{0x0a, 1, 'n', 0x12, 1, 'd', 0x1a, 1, 'u'}) {
		t.Errorf("unsupported metric: %x", got)
	}
}

// TestPackedFixed64Portable: the byte-by-byte path big-endian machines take for packed
// bucket counts and bounds writes what the in-memory copy writes on this one.
func TestPackedFixed64Portable(t *testing.T) {
	var native [][]byte
	for _, m := range mtAllKinds() {
		native = append(native, AppendMetric(nil, &m))
	}
	defer func(le bool) { nativeLittleEndian = le }(nativeLittleEndian)
	nativeLittleEndian = false
	for i, m := range mtAllKinds() {
		if got := AppendMetric(nil, &m); !bytes.Equal(got, native[i]) {
			t.Errorf("metric %q: byte by byte %x, copied %x", m.Name, got, native[i])
		}
	}
}
