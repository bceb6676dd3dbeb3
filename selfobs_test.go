package otelkinesis_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// The otel.component.type of each component.
const (
	spanExporterType   = "github.com/otelkinesis/otelkinesis/trace.Exporter"
	metricExporterType = "github.com/otelkinesis/otelkinesis/metric.Exporter"
	logExporterType    = "github.com/otelkinesis/otelkinesis/log.Exporter"
	producerType       = "github.com/otelkinesis/otelkinesis.Producer"
)

// obsServer starts kinesistest with the streams "traces", "metrics" and "logs" of 2 shards.
func obsServer(t *testing.T) *kinesistest.Server {
	t.Helper()
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	for _, s := range []string{"traces", "metrics", "logs"} {
		if _, err := srv.CreateStream(s, 2); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// obsOptions are the options of an exporter or producer writing stream on srv.
// O is the option type of the constructor (trace.Option, otelkinesis.Option, ...).
func obsOptions[O any](srv *kinesistest.Server, stream string, more ...otelkinesis.Option) []O {
	all := append([]otelkinesis.Option{
		otelkinesis.WithStreamName(stream), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig()),
		otelkinesis.WithFlushInterval(10 * time.Millisecond), otelkinesis.WithMaxBackoff(20 * time.Millisecond),
	}, more...)
	out := make([]O, len(all))
	for i, o := range all {
		out[i] = any(o).(O)
	}
	return out
}

// obsSpans returns n ended spans of n traces.
func obsSpans(n int) []sdktrace.ReadOnlySpan {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	for i := range n {
		_, s := tp.Tracer("t").Start(context.Background(), fmt.Sprint("span ", i))
		s.End()
	}
	return rec.Ended()
}

// obsLogs returns n log records of body size bytes each.
func obsLogs(n, size int) []sdklog.Record {
	rs := make([]sdklog.Record, n)
	for i := range rs {
		rs[i].SetTimestamp(time.Now())
		rs[i].SetBody(attribute.StringValue(strings.Repeat("l", size)))
	}
	return rs
}

// obsMetrics returns a ResourceMetrics of one gauge of n data points.
func obsMetrics(n int) *metricdata.ResourceMetrics {
	g := metricdata.Gauge[int64]{}
	for i := range n {
		g.DataPoints = append(g.DataPoints, metricdata.DataPoint[int64]{
			Attributes: attribute.NewSet(attribute.Int("i", i)), Time: time.Now(), Value: int64(i),
		})
	}
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{Name: "g", Data: g}}}}}
}

// series is one data point of a collection, described by what the test asserts on.
type series struct {
	name, unit, kind string
	attrs            attribute.Set
	value            float64 // a sum's value, a histogram's count
}

// collect collects reader and returns every data point, checking that all come from the
// library's scope with its version and the semantic conventions' schema. The Go SDK's own
// metrics (its scopes under go.opentelemetry.io/, which OTEL_GO_X_OBSERVABILITY turns on
// too) are left out.
func collect(t *testing.T, reader *sdkmetric.ManualReader) []series {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []series
	for _, sm := range rm.ScopeMetrics {
		if strings.HasPrefix(sm.Scope.Name, "go.opentelemetry.io/") {
			continue
		}
		if sm.Scope.Name != "github.com/otelkinesis/otelkinesis" || sm.Scope.Version != otelkinesis.Version || sm.Scope.SchemaURL != semconv.SchemaURL {
			t.Errorf("scope %+v, want github.com/otelkinesis/otelkinesis %s %s", sm.Scope, otelkinesis.Version, semconv.SchemaURL)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				kind := "updowncounter"
				if d.IsMonotonic {
					kind = "counter"
				}
				for _, dp := range d.DataPoints {
					out = append(out, series{m.Name, m.Unit, kind, dp.Attributes, float64(dp.Value)})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out = append(out, series{m.Name, m.Unit, "histogram", dp.Attributes, float64(dp.Count)})
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					out = append(out, series{m.Name, m.Unit, "histogram", dp.Attributes, float64(dp.Count)})
				}
			default:
				t.Errorf("%s: data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// str returns the string value of key in set, "" if it has none.
func str(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.Emit()
}

// describe writes s as "name unit kind component-type key,key,...[ error.type=...]": what
// is fixed about a series, its component's name aside.
func describe(s series) string {
	var keys []string
	for _, kv := range s.attrs.ToSlice() {
		keys = append(keys, string(kv.Key))
	}
	d := fmt.Sprintf("%s %s %s %s %s", s.name, s.unit, s.kind, str(s.attrs, "otel.component.type"), strings.Join(keys, ","))
	if e := str(s.attrs, "error.type"); e != "" {
		d += " error.type=" + e
	}
	return d
}

// TestSelfObservabilityInstruments lists every instrument the exporters and producers
// report, with its unit, kind and attributes, exactly: a trace exporter whose first
// record is throttled once, a metric exporter, and a log exporter whose every request is
// denied and one of whose log records is too large, each with its own producer, all with
// WithMeterProvider.
func TestSelfObservabilityInstruments(t *testing.T) {
	srv := obsServer(t)
	var throttled atomic.Bool
	srv.InjectEntryFunc(func(e kinesistest.EntryInfo) kinesistest.EntryFault {
		if e.Stream == "traces" && throttled.CompareAndSwap(false, true) {
			return kinesistest.EntryThrottled
		}
		return kinesistest.EntryOK
	})
	srv.InjectRequestFunc(func(r kinesistest.RequestInfo) (kinesistest.Fault, bool) {
		return kinesistest.AccessDenied(), r.Operation == "PutRecords" && r.Stream == "logs"
	})
	defer setErrorHandler(t)() // the denied log records are reported there
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()

	texp, err := kinesistrace.New(ctx, obsOptions[kinesistrace.Option](srv, "traces", otelkinesis.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	mexp, err := kinesismetric.New(ctx, obsOptions[kinesismetric.Option](srv, "metrics", otelkinesis.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	lexp, err := kinesislog.New(ctx, obsOptions[kinesislog.Option](srv, "logs", otelkinesis.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := texp.ExportSpans(ctx, obsSpans(3)); err != nil {
		t.Fatal(err)
	}
	if err := mexp.Export(ctx, obsMetrics(2)); err != nil {
		t.Fatal(err)
	}
	if err := lexp.Export(ctx, obsLogs(2, 10)); err != nil {
		t.Fatal(err)
	}
	if err := lexp.Export(ctx, obsLogs(1, 1_200_000)); err == nil {
		t.Fatal("exporting a log record too large for any record: nil error")
	}
	if err := texp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mexp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lexp.ForceFlush(ctx); err == nil {
		t.Fatal("log ForceFlush: nil error, want the denied records reported")
	}

	const (
		exp  = "otel.component.name,otel.component.type,server.address,server.port"
		expE = "error.type," + exp
		prod = "aws.kinesis.stream_name,otel.component.name,otel.component.type,server.address,server.port"
		proE = "aws.kinesis.stream_name,error.type,otel.component.name,otel.component.type,server.address,server.port"
	)
	want := []string{
		"otel.sdk.exporter.span.exported {span} counter " + spanExporterType + " " + exp,
		"otel.sdk.exporter.span.inflight {span} updowncounter " + spanExporterType + " " + exp,
		"otel.sdk.exporter.operation.duration s histogram " + spanExporterType + " " + exp,
		"otel.sdk.exporter.metric_data_point.exported {data_point} counter " + metricExporterType + " " + exp,
		"otel.sdk.exporter.metric_data_point.inflight {data_point} updowncounter " + metricExporterType + " " + exp,
		"otel.sdk.exporter.operation.duration s histogram " + metricExporterType + " " + exp,
		"otel.sdk.exporter.log.exported {log_record} counter " + logExporterType + " " + exp,
		"otel.sdk.exporter.log.exported {log_record} counter " + logExporterType + " " + expE + " error.type=permanent_error",
		"otel.sdk.exporter.log.exported {log_record} counter " + logExporterType + " " + expE + " error.type=too_large",
		"otel.sdk.exporter.log.inflight {log_record} updowncounter " + logExporterType + " " + exp,
		"otel.sdk.exporter.operation.duration s histogram " + logExporterType + " " + exp,
		"otel.sdk.exporter.operation.duration s histogram " + logExporterType + " " + expE + " error.type=too_large",
	}
	for _, stream := range []string{"traces", "metrics", "logs"} {
		for _, m := range []string{
			"otelkinesis.producer.user_records {record} counter",
			"otelkinesis.producer.user_records.size By counter",
			"otelkinesis.producer.user_records.delivered {record} counter",
			"otelkinesis.producer.user_records.possible_duplicates {record} counter",
			"otelkinesis.producer.items.delivered {item} counter",
			"otelkinesis.producer.kinesis_records {record} counter",
			"otelkinesis.producer.requests {request} counter",
			"otelkinesis.producer.throttles {record} counter",
			"otelkinesis.producer.buffered.user_records {record} updowncounter",
			"otelkinesis.producer.buffered.size By updowncounter",
			"otelkinesis.producer.memory.used By updowncounter",
			"otelkinesis.producer.memory.limit By updowncounter",
			"otelkinesis.producer.aggregation.user_records {record} histogram",
		} {
			want = append(want, m+" "+producerType+" "+prod+" stream="+stream)
		}
		switch stream {
		case "traces":
			want = append(want,
				"otelkinesis.producer.retries {record} counter "+producerType+" "+proE+" error.type=ProvisionedThroughputExceededException stream=traces",
				"otelkinesis.producer.request.duration s histogram "+producerType+" "+prod+" stream=traces",
				"otelkinesis.producer.request.duration s histogram "+producerType+" "+proE+" error.type=partial stream=traces")
		case "metrics":
			want = append(want, "otelkinesis.producer.request.duration s histogram "+producerType+" "+prod+" stream=metrics")
		case "logs":
			for _, m := range []string{
				"otelkinesis.producer.user_records.dropped {record} counter",
				"otelkinesis.producer.user_records.dropped.size By counter",
				"otelkinesis.producer.items.dropped {item} counter",
			} {
				want = append(want, m+" "+producerType+" "+proE+" error.type=permanent_error stream=logs")
			}
			want = append(want, "otelkinesis.producer.request.duration s histogram "+producerType+" "+proE+" error.type=AccessDeniedException stream=logs")
		}
	}

	got := collect(t, reader)
	u, _ := url.Parse(srv.URL())
	names := map[string]map[string]bool{} // component type: names
	var described []string
	for _, s := range got {
		d := describe(s)
		if st := str(s.attrs, "aws.kinesis.stream_name"); st != "" {
			d += " stream=" + st
		}
		described = append(described, d)
		if a, p := str(s.attrs, "server.address"), str(s.attrs, "server.port"); a != u.Hostname() || p != u.Port() {
			t.Errorf("%s: server %s:%s, want %s", s.name, a, p, u.Host)
		}
		typ, name := str(s.attrs, "otel.component.type"), str(s.attrs, "otel.component.name")
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(typ) + `/\d+$`).MatchString(name) {
			t.Errorf("%s: otel.component.name %q, want %s/N", s.name, name, typ)
		}
		if names[typ] == nil {
			names[typ] = map[string]bool{}
		}
		names[typ][name] = true
	}
	sort.Strings(want)
	sort.Strings(described)
	if !slices.Equal(described, want) {
		for _, w := range want {
			if !slices.Contains(described, w) {
				t.Errorf("missing: %s", w)
			}
		}
		for _, g := range described {
			if !slices.Contains(want, g) {
				t.Errorf("unexpected: %s", g)
			}
		}
	}
	for typ, n := range map[string]int{spanExporterType: 1, metricExporterType: 1, logExporterType: 1, producerType: 3} {
		if len(names[typ]) != n {
			t.Errorf("%s: names %v, want %d", typ, names[typ], n)
		}
	}

	// The counts: every item exported once, nothing left in flight.
	values := map[string]float64{}
	for _, s := range got {
		if strings.HasPrefix(s.name, "otel.sdk.exporter.") && s.kind != "histogram" {
			values[s.name+"/"+str(s.attrs, "error.type")] += s.value
		}
	}
	for k, v := range map[string]float64{
		"otel.sdk.exporter.span.exported/": 3, "otel.sdk.exporter.span.inflight/": 0,
		"otel.sdk.exporter.metric_data_point.exported/": 2, "otel.sdk.exporter.metric_data_point.inflight/": 0,
		"otel.sdk.exporter.log.exported/": 0, "otel.sdk.exporter.log.exported/permanent_error": 2,
		"otel.sdk.exporter.log.exported/too_large": 1, "otel.sdk.exporter.log.inflight/": 0,
	} {
		if values[k] != v {
			t.Errorf("%s = %v, want %v", k, values[k], v)
		}
	}

	// After Shutdown the exporters' series keep their counts.
	for _, shut := range []func(context.Context) error{texp.Shutdown, mexp.Shutdown, lexp.Shutdown} {
		_ = shut(ctx)
	}
	for _, s := range collect(t, reader) {
		if s.name == "otel.sdk.exporter.span.exported" && s.value != 3 {
			t.Errorf("after Shutdown, spans exported %v, want 3", s.value)
		}
		if s.name == "otelkinesis.producer.memory.limit" && s.value != 0 {
			t.Errorf("after Shutdown, memory.limit %v, want 0", s.value)
		}
	}
}

// setErrorHandler silences otel.Handle until the returned function restores it.
func setErrorHandler(t *testing.T) func() {
	t.Helper()
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	return func() { otel.SetErrorHandler(prev) }
}

// valuesBy returns the value of each series of the metric name, by otel.component.name.
func valuesBy(got []series, name string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range got {
		if s.name == name {
			out[str(s.attrs, "otel.component.name")] += s.value
		}
	}
	return out
}

// TestSelfObservabilityPerComponent: two exporters, each with its own producer, report
// two series of each metric, and so do their producers: the memory budget reads 64 MiB
// twice, not 128 MiB once. Two exporters sharing one producer report apart too, beside
// the one producer.
func TestSelfObservabilityPerComponent(t *testing.T) {
	srv := obsServer(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ctx := context.Background()
	for i := range 2 {
		exp, err := kinesistrace.New(ctx, obsOptions[kinesistrace.Option](srv, "traces", otelkinesis.WithMeterProvider(mp))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = exp.Shutdown(ctx) })
		if err := exp.ExportSpans(ctx, obsSpans(i+1)); err != nil {
			t.Fatal(err)
		}
		if err := exp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, reader)
	exported := valuesBy(got, "otel.sdk.exporter.span.exported")
	if len(exported) != 2 || !slices.Equal(sortedValues(exported), []float64{1, 2}) {
		t.Errorf("spans exported by exporter: %v, want 1 and 2 apart", exported)
	}
	limits := valuesBy(got, "otelkinesis.producer.memory.limit")
	if len(limits) != 2 || !slices.Equal(sortedValues(limits), []float64{64 << 20, 64 << 20}) {
		t.Errorf("memory.limit by producer: %v, want 64 MiB for each of 2", limits)
	}

	// Shared: one producer, two exporters.
	reader = sdkmetric.NewManualReader()
	mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	p, err := otelkinesis.NewProducer(ctx, obsOptions[otelkinesis.Option](srv, "metrics", otelkinesis.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(ctx) })
	for i := range 2 {
		exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p), otelkinesis.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		if err := exp.ExportSpans(ctx, obsSpans(i+1)); err != nil {
			t.Fatal(err)
		}
		if err := exp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got = collect(t, reader)
	exported = valuesBy(got, "otel.sdk.exporter.span.exported")
	if len(exported) != 2 || !slices.Equal(sortedValues(exported), []float64{1, 2}) {
		t.Errorf("spans exported by exporter on a shared producer: %v, want 1 and 2 apart", exported)
	}
	if items := valuesBy(got, "otelkinesis.producer.items.delivered"); len(items) != 1 || sortedValues(items)[0] != 3 {
		t.Errorf("items delivered by the shared producer: %v, want 3 from one producer", items)
	}
}

func sortedValues(m map[string]float64) []float64 {
	var v []float64
	for _, x := range m {
		v = append(v, x)
	}
	slices.Sort(v)
	return v
}

// useGlobalMeterProvider makes a MeterProvider read by the returned reader the global
// one until the test ends.
func useGlobalMeterProvider(t *testing.T) *sdkmetric.ManualReader {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	return reader
}

// exportAll creates a trace, a metric and a log exporter and a shared producer on srv
// with opts, exports through each and shuts them down.
func exportAll(t *testing.T, srv *kinesistest.Server, opts ...otelkinesis.Option) {
	t.Helper()
	ctx := context.Background()
	texp, err := kinesistrace.New(ctx, obsOptions[kinesistrace.Option](srv, "traces", opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mexp, err := kinesismetric.New(ctx, obsOptions[kinesismetric.Option](srv, "metrics", opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	lexp, err := kinesislog.New(ctx, obsOptions[kinesislog.Option](srv, "logs", opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := otelkinesis.NewProducer(ctx, obsOptions[otelkinesis.Option](srv, "logs", opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := texp.ExportSpans(ctx, obsSpans(2)); err != nil {
		t.Fatal(err)
	}
	if err := mexp.Export(ctx, obsMetrics(2)); err != nil {
		t.Fatal(err)
	}
	if err := lexp.Export(ctx, obsLogs(2, 10)); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(ctx, "k", "", []byte("data"), nil); err != nil {
		t.Fatal(err)
	}
	for _, shut := range []func(context.Context) error{texp.Shutdown, mexp.Shutdown, lexp.Shutdown, p.Shutdown} {
		if err := shut(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSelfObservabilityOffByDefault: with a global MeterProvider set and neither
// WithMeterProvider nor OTEL_GO_X_OBSERVABILITY=true, the exporters and producers report
// nothing, nor with the variable set to anything but "true".
func TestSelfObservabilityOffByDefault(t *testing.T) {
	reader := useGlobalMeterProvider(t)
	srv := obsServer(t)
	for _, env := range []string{"", "1", "false", "on"} {
		t.Setenv("OTEL_GO_X_OBSERVABILITY", env)
		exportAll(t, srv)
		if got := collect(t, reader); len(got) != 0 {
			t.Errorf("OTEL_GO_X_OBSERVABILITY=%q: %d series reported, want none: first %s", env, len(got), describe(got[0]))
		}
	}
}

// TestSelfObservabilityEnv: OTEL_GO_X_OBSERVABILITY=true (in any case) turns the metrics
// on, to the global MeterProvider, for every exporter and producer.
func TestSelfObservabilityEnv(t *testing.T) {
	reader := useGlobalMeterProvider(t)
	srv := obsServer(t)
	t.Setenv("OTEL_GO_X_OBSERVABILITY", "True")
	exportAll(t, srv)
	got := collect(t, reader)
	for name, want := range map[string]float64{
		"otel.sdk.exporter.span.exported":              2,
		"otel.sdk.exporter.metric_data_point.exported": 2,
		"otel.sdk.exporter.log.exported":               2,
		"otelkinesis.producer.items.delivered":         2 + 2 + 2 + 1,
	} {
		var sum float64
		for _, v := range valuesBy(got, name) {
			sum += v
		}
		if sum != want {
			t.Errorf("%s = %v, want %v", name, sum, want)
		}
	}
	if n := len(valuesBy(got, "otelkinesis.producer.memory.limit")); n != 4 {
		t.Errorf("%d producers reported, want 4", n)
	}
}
