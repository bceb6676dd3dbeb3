package otlpwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

func mtNewEncoder(tb testing.TB, cfg MetricConfig) *MetricEncoder {
	tb.Helper()
	e, err := NewMetricEncoder(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// mtPrune removes the scopes without metrics from req, which otlpmetrichttp
// writes and MetricEncoder leaves out.
func mtPrune(req *colmetricpb.ExportMetricsServiceRequest) {
	for _, rm := range req.ResourceMetrics {
		var kept []*metricpb.ScopeMetrics
		for _, sm := range rm.ScopeMetrics {
			if len(sm.Metrics) > 0 {
				kept = append(kept, sm)
			}
		}
		rm.ScopeMetrics = kept
	}
}

// mtDecode decodes a metrics request in encoding enc.
func mtDecode(t *testing.T, enc Encoding, data []byte) *colmetricpb.ExportMetricsServiceRequest {
	t.Helper()
	req := &colmetricpb.ExportMetricsServiceRequest{}
	if enc == JSON {
		if err := unmarshalOTLPJSON(data, req); err != nil {
			t.Fatalf("request does not decode: %v\n%s", err, data)
		}
		return req
	}
	if err := proto.Unmarshal(data, req); err != nil {
		t.Fatalf("request does not decode: %v", err)
	}
	return req
}

func mtEqual(t *testing.T, what string, got, want *colmetricpb.ExportMetricsServiceRequest) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Fatalf("%s differs %s", what, protoDiff(got, want))
	}
}

// protoDiff shows where the text forms of got and want part.
func protoDiff(got, want proto.Message) string {
	gl, wl := strings.Split(prototext.Format(got), "\n"), strings.Split(prototext.Format(want), "\n")
	i := 0
	for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
		i++
	}
	lo := max(0, i-20)
	return fmt.Sprintf("from line %d:\nwant …%s\n got …%s", i,
		strings.Join(wl[lo:min(len(wl), i+10)], "\n"), strings.Join(gl[lo:min(len(gl), i+10)], "\n"))
}

func TestMetricEncoderAppendRequestMatchesOTLPMetricHTTP(t *testing.T) {
	e := mtNewEncoder(t, MetricConfig{})
	for name, rm := range map[string]*metricdata.ResourceMetrics{
		"all kinds":    mtResourceMetrics(),
		"nil resource": {ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: mtAllKinds()[:3]}}},
		"sdk":          mtSDKMetrics(t, metricdata.DeltaTemporality),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := oracleMetrics(t, rm)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.AppendRequest([]byte("x"), rm)
			if err != nil || got[0] != 'x' {
				t.Fatalf("error %v, first byte %q", err, got[0])
			}
			w := mtDecode(t, Protobuf, want)
			mtPrune(w)
			mtEqual(t, "request", mtDecode(t, Protobuf, got[1:]), w)
			if direct, _ := AppendMetricsRequest(nil, rm); name == "sdk" && !bytes.Equal(direct, got[1:]) {
				t.Errorf("MetricEncoder and AppendMetricsRequest write different bytes")
			}
		})
	}
	if got, err := e.AppendRequest(nil, &metricdata.ResourceMetrics{}); len(got) != 0 || err != nil {
		t.Fatalf("no metrics: %x, %v", got, err)
	}
}

func TestMetricEncoderUnsupported(t *testing.T) {
	rm := mtResourceMetrics()
	rm.ScopeMetrics[0].Metrics = append(rm.ScopeMetrics[0].Metrics, metricdata.Metrics{Name: "nil data"},
		metricdata.Metrics{Name: "bad", Data: metricdata.Sum[int64]{Temporality: 7}})
	e := mtNewEncoder(t, MetricConfig{MaxRecordSize: 5000})
	res, err := e.Encode(rm, func(string, []byte) error { return nil })
	if err != nil || len(res.Unsupported) != 2 || !errors.Is(res.Unsupported[0], ErrUnsupportedMetric) ||
		!strings.Contains(res.Unsupported[1].Error(), `"bad"`) {
		t.Fatalf("error %v, unsupported %v", err, res.Unsupported)
	}
	if _, err := e.AppendRequest(nil, rm); !errors.Is(err, ErrUnsupportedMetric) {
		t.Fatalf("AppendRequest error %v", err)
	}
}

// mtBig is a ResourceMetrics with metrics of every kind, several with many
// data points, some data points large.
func mtBig() *metricdata.ResourceMetrics {
	rm := mtResourceMetrics()
	var many []metricdata.DataPoint[int64]
	var hist []metricdata.HistogramDataPoint[float64]
	for i := range 300 {
		many = append(many, metricdata.DataPoint[int64]{
			Attributes: attribute.NewSet(attribute.Int("i", i), attribute.String("route", strings.Repeat("r", i%40))),
			StartTime:  mtT0, Time: mtT1, Value: int64(i),
		})
		if i%3 == 0 {
			hist = append(hist, mtHistogramPoints(float64(i))[i%2])
			hist[len(hist)-1].Attributes = attribute.NewSet(attribute.Int("i", i))
		}
	}
	rm.ScopeMetrics = append(rm.ScopeMetrics, metricdata.ScopeMetrics{
		Scope: instrumentation.Scope{Name: "many"},
		Metrics: []metricdata.Metrics{
			{Name: "many.sum", Unit: "1", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: many}},
			{Name: "many.histogram", Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: hist}},
			{Name: "huge.description", Description: strings.Repeat("d", 3000), Data: metricdata.Gauge[float64]{}},
		},
	})
	rm.ScopeMetrics = append(rm.ScopeMetrics, metricdata.ScopeMetrics{Scope: instrumentation.Scope{Name: "after"}, Metrics: mtAllKinds()[:2]})
	return rm
}

// mtWithout returns a copy of rm without the data points listed in drop
// (by scope name, metric name and index; index -1 drops the metric).
func mtWithout(rm *metricdata.ResourceMetrics, drop []DroppedDataPoint) *metricdata.ResourceMetrics {
	gone := map[string]bool{}
	for _, d := range drop {
		gone[fmt.Sprintf("%s\x00%s\x00%d", d.Scope, d.Metric, d.Index)] = true
	}
	keep := func(sm *metricdata.ScopeMetrics, m *metricdata.Metrics, i int) bool {
		return !gone[fmt.Sprintf("%s\x00%s\x00%d", sm.Scope.Name, m.Name, i)]
	}
	out := &metricdata.ResourceMetrics{Resource: rm.Resource}
	for _, sm := range rm.ScopeMetrics {
		nsm := metricdata.ScopeMetrics{Scope: sm.Scope}
		for _, m := range sm.Metrics {
			if !keep(&sm, &m, -1) {
				continue
			}
			had, has := 0, 0
			m.Data = filterPoints(m.Data, func(i int) bool {
				had++
				if keep(&sm, &m, i) {
					has++
					return true
				}
				return false
			})
			if had > 0 && has == 0 {
				continue // every data point dropped: no metric left
			}
			nsm.Metrics = append(nsm.Metrics, m)
		}
		out.ScopeMetrics = append(out.ScopeMetrics, nsm)
	}
	return out
}

func filterPoints(a metricdata.Aggregation, keep func(int) bool) metricdata.Aggregation {
	switch a := a.(type) {
	case metricdata.Gauge[int64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Gauge[float64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Sum[int64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Sum[float64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Histogram[int64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Histogram[float64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.ExponentialHistogram[int64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.ExponentialHistogram[float64]:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	case metricdata.Summary:
		a.DataPoints = filterSlice(a.DataPoints, keep)
		return a
	}
	return a
}

func filterSlice[T any](s []T, keep func(int) bool) []T {
	var out []T
	for i, x := range s {
		if keep(i) {
			out = append(out, x)
		}
	}
	return out
}

// mtJoin concatenates the scopes of records (one resource each), merging a
// record's first scope into the previous record's last when they are the
// same scope, and a scope's first metric into the previous one when it
// continues the same metric: the request the records were split from.
func mtJoin(t *testing.T, recs []*colmetricpb.ExportMetricsServiceRequest) *colmetricpb.ExportMetricsServiceRequest {
	t.Helper()
	var all *metricpb.ResourceMetrics
	for i, r := range recs {
		if len(r.ResourceMetrics) != 1 {
			t.Fatalf("record %d holds %d resources", i, len(r.ResourceMetrics))
		}
		rm := r.ResourceMetrics[0]
		if all == nil {
			all = rm // decoded afresh: ours to change (proto.Clone would lose -0 doubles)
			continue
		}
		if !proto.Equal(all.Resource, rm.Resource) || all.SchemaUrl != rm.SchemaUrl {
			t.Fatalf("record %d: another resource", i)
		}
		for j, sm := range rm.ScopeMetrics {
			last := all.ScopeMetrics[len(all.ScopeMetrics)-1]
			if j > 0 || !proto.Equal(last.Scope, sm.Scope) || last.SchemaUrl != sm.SchemaUrl {
				all.ScopeMetrics = append(all.ScopeMetrics, sm)
				continue
			}
			for k, m := range sm.Metrics {
				lm := last.Metrics[len(last.Metrics)-1]
				if k == 0 && mtSameMetric(lm, m) {
					mtAppendPoints(lm, m)
					continue
				}
				last.Metrics = append(last.Metrics, m)
			}
		}
	}
	if all == nil {
		return &colmetricpb.ExportMetricsServiceRequest{}
	}
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricpb.ResourceMetrics{all}}
}

// mtSameMetric reports whether b continues metric a: same name,
// description, unit, kind and data settings.
func mtSameMetric(a, b *metricpb.Metric) bool {
	if a.Name != b.Name || a.Description != b.Description || a.Unit != b.Unit {
		return false
	}
	switch d := a.Data.(type) {
	case *metricpb.Metric_Gauge:
		return b.GetGauge() != nil
	case *metricpb.Metric_Sum:
		e := b.GetSum()
		return e != nil && e.AggregationTemporality == d.Sum.AggregationTemporality && e.IsMonotonic == d.Sum.IsMonotonic
	case *metricpb.Metric_Histogram:
		e := b.GetHistogram()
		return e != nil && e.AggregationTemporality == d.Histogram.AggregationTemporality
	case *metricpb.Metric_ExponentialHistogram:
		e := b.GetExponentialHistogram()
		return e != nil && e.AggregationTemporality == d.ExponentialHistogram.AggregationTemporality
	case *metricpb.Metric_Summary:
		return b.GetSummary() != nil
	}
	return false
}

func mtAppendPoints(a, b *metricpb.Metric) {
	switch d := a.Data.(type) {
	case *metricpb.Metric_Gauge:
		d.Gauge.DataPoints = append(d.Gauge.DataPoints, b.GetGauge().DataPoints...)
	case *metricpb.Metric_Sum:
		d.Sum.DataPoints = append(d.Sum.DataPoints, b.GetSum().DataPoints...)
	case *metricpb.Metric_Histogram:
		d.Histogram.DataPoints = append(d.Histogram.DataPoints, b.GetHistogram().DataPoints...)
	case *metricpb.Metric_ExponentialHistogram:
		d.ExponentialHistogram.DataPoints = append(d.ExponentialHistogram.DataPoints, b.GetExponentialHistogram().DataPoints...)
	case *metricpb.Metric_Summary:
		d.Summary.DataPoints = append(d.Summary.DataPoints, b.GetSummary().DataPoints...)
	}
}

// mtCountPoints counts the data points of req.
func mtCountPoints(req *colmetricpb.ExportMetricsServiceRequest) int {
	n := 0
	for _, rm := range req.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				n += len(m.GetGauge().GetDataPoints()) + len(m.GetSum().GetDataPoints()) + len(m.GetHistogram().GetDataPoints()) +
					len(m.GetExponentialHistogram().GetDataPoints()) + len(m.GetSummary().GetDataPoints())
			}
		}
	}
	return n
}

// checkMetricRecords verifies every promise Encode makes for rm.
func checkMetricRecords(t *testing.T, cfg MetricConfig, rm *metricdata.ResourceMetrics) {
	t.Helper()
	e := mtNewEncoder(t, cfg)
	cfg = e.Config()
	type rec struct {
		key  string
		data []byte
		n    int
	}
	var out, out2 []rec
	res, err := e.Encode(rm, func(key string, data []byte) error {
		out = append(out, rec{key, bytes.Clone(data), e.RecordDataPoints()})
		return nil
	})
	if err != nil || len(res.Unsupported) != 0 {
		t.Fatal(err, res.Unsupported)
	}
	dropped := slicesClone(res.Dropped)
	if _, err := e.Encode(rm, func(key string, data []byte) error {
		out2 = append(out2, rec{key, bytes.Clone(data), 0})
		return nil
	}); err != nil || len(out2) != len(out) {
		t.Fatalf("second run: %d records, first %d (%v)", len(out2), len(out), err)
	}
	whole := mtNewEncoder(t, MetricConfig{Encoding: cfg.Encoding})
	for _, d := range dropped {
		one := mtWithout(rm, nil)
		for si := range one.ScopeMetrics {
			sm := &one.ScopeMetrics[si]
			var kept []metricdata.Metrics
			for _, m := range sm.Metrics {
				if sm.Scope.Name == d.Scope && m.Name == d.Metric {
					m.Data = filterPoints(m.Data, func(i int) bool { return i == d.Index })
					kept = append(kept, m)
				}
			}
			sm.Metrics = kept
		}
		alone, _ := whole.AppendRequest(nil, one)
		if d.Size != len(alone) || d.Size <= cfg.MaxRecordSize || d.Limit != cfg.MaxRecordSize {
			t.Fatalf("dropped %+v: alone it takes %d bytes, limit %d", d, len(alone), cfg.MaxRecordSize)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if sm.Scope.Name == d.Scope && m.Name == d.Metric && d.Index >= 0 {
					// Compared encoded: Set.Equals finds NaN unequal to itself.
					if want := dataPointAttributes(m.Data, d.Index); !bytes.Equal(AppendAttributeSet(nil, 1, &d.Attributes), AppendAttributeSet(nil, 1, &want)) {
						t.Fatalf("dropped %+v: attributes %v, want %v", d, d.Attributes.ToSlice(), want.ToSlice())
					}
				}
			}
		}
	}
	var decoded []*colmetricpb.ExportMetricsServiceRequest
	total := 0
	resKey := lgResourceKey(t, rm.Resource)
	for i, r := range out {
		if !bytes.Equal(r.data, out2[i].data) {
			t.Fatalf("record %d differs between two runs", i)
		}
		if len(r.data) > cfg.MaxRecordSize {
			t.Fatalf("record %d: %d bytes, over the limit %d", i, len(r.data), cfg.MaxRecordSize)
		}
		req := mtDecode(t, cfg.Encoding, r.data)
		if n := mtCountPoints(req); n != r.n {
			t.Fatalf("record %d: RecordDataPoints said %d, holds %d", i, r.n, n)
		}
		total += r.n
		switch cfg.Partitioning {
		case PartitionByResource:
			if r.key != resKey {
				t.Fatalf("record %d: key %q, a TraceEncoder keys the resource %q", i, r.key, resKey)
			}
		case PartitionRandom:
			if len(r.key) != 32 || !lgHex.MatchString(r.key) || r.key == out2[i].key {
				t.Fatalf("record %d: key %q is not 32 random hex digits", i, r.key)
			}
		}
		// Greedy fill: the next record's first metric, when of the scope this
		// record ends with, did not fit in this one (it would have added at
		// least its size and a tag and length, or a comma).
		lastScope := req.ResourceMetrics[0].ScopeMetrics[len(req.ResourceMetrics[0].ScopeMetrics)-1]
		if i+1 < len(out) {
			next := mtDecode(t, cfg.Encoding, out[i+1].data)
			if ns := next.ResourceMetrics[0].ScopeMetrics[0]; !proto.Equal(ns.Scope, lastScope.Scope) || ns.SchemaUrl != lastScope.SchemaUrl {
				decoded = append(decoded, req)
				continue
			}
			first, _ := proto.Marshal(next.ResourceMetrics[0].ScopeMetrics[0].Metrics[0])
			if cfg.Encoding == JSON {
				first = mtMetricJSON(t, next.ResourceMetrics[0].ScopeMetrics[0].Metrics[0])
			}
			if len(r.data)+len(first)+1 <= cfg.MaxRecordSize {
				t.Fatalf("record %d (%d bytes) had room for the next record's first metric (%d bytes)", i, len(r.data), len(first))
			}
		}
		decoded = append(decoded, req)
	}
	if total != res.DataPoints || res.Records != len(out) {
		t.Fatalf("result %+v, records hold %d data points in %d records", res, total, len(out))
	}
	// Joined back, the records are the request for rm without the drops.
	want, _ := whole.AppendRequest(nil, mtWithout(rm, dropped))
	mtEqual(t, "joined records", mtJoin(t, decoded), mtDecode(t, cfg.Encoding, want))
	t.Logf("%d data points in %d records, %d dropped", total, len(out), len(dropped))
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func TestMetricEncoderRecords(t *testing.T) {
	rm := mtBig()
	for _, limit := range []int{0, 30000, 8000, 2500, 700} {
		for _, p := range []Partitioning{PartitionByResource, PartitionRandom} {
			for _, enc := range []Encoding{Protobuf, JSON} {
				cfg := MetricConfig{MaxRecordSize: limit, Partitioning: p, Encoding: enc}
				t.Run(fmt.Sprintf("%d/%s/%s", limit, p, enc), func(t *testing.T) { checkMetricRecords(t, cfg, rm) })
			}
		}
	}
	small := mtBig()
	small.Resource = resource.NewSchemaless(attribute.String("service.name", "small"))
	for _, limit := range []int{2500, 700, 400} {
		for _, enc := range []Encoding{Protobuf, JSON} {
			t.Run(fmt.Sprintf("small resource/%d/%s", limit, enc), func(t *testing.T) {
				checkMetricRecords(t, MetricConfig{MaxRecordSize: limit, Encoding: enc}, small)
			})
		}
	}
	t.Run("sdk", func(t *testing.T) {
		checkMetricRecords(t, MetricConfig{MaxRecordSize: 1000}, mtSDKMetrics(t, metricdata.CumulativeTemporality))
	})
}

func TestMetricEncoderEmitError(t *testing.T) {
	e := mtNewEncoder(t, MetricConfig{MaxRecordSize: 3000})
	boom := errors.New("boom")
	calls := 0
	res, err := e.Encode(mtBig(), func(string, []byte) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "data point") || res.Records != 2 || res.DataPoints == 0 {
		t.Fatalf("error %v, result %+v", err, res)
	}
}

func TestNewMetricEncoder(t *testing.T) {
	for _, cfg := range []MetricConfig{{Encoding: "otlp_xml"}, {MaxRecordSize: -5}, {Partitioning: PartitionByKey}, {Partitioning: 42}} {
		if _, err := NewMetricEncoder(cfg); err == nil || strings.HasPrefix(err.Error(), "otlpwire") {
			t.Errorf("%+v: error %v", cfg, err)
		}
	}
	c := mtNewEncoder(t, MetricConfig{}).Config()
	if c.Partitioning != PartitionByResource || c.MaxRecordSize != DefaultMaxRecordSize || c.Encoding != Protobuf {
		t.Errorf("defaults %+v", c)
	}
}

// mtMetricJSON is the OTLP/JSON of m as protojson writes it, compact.
func mtMetricJSON(t *testing.T, m *metricpb.Metric) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMetricsJSONMatchesOTLPMetricHTTP(t *testing.T) {
	e := mtNewEncoder(t, MetricConfig{Encoding: JSON})
	for name, rm := range map[string]*metricdata.ResourceMetrics{
		"all kinds":    mtResourceMetrics(),
		"nil resource": {ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: mtAllKinds()[:13]}}},
		"big":          mtBig(),
		"sdk delta":    mtSDKMetrics(t, metricdata.DeltaTemporality),
		"sdk":          mtSDKMetrics(t, metricdata.CumulativeTemporality),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := oracleMetrics(t, rm)
			if err != nil {
				t.Fatal(err)
			}
			w := mtDecode(t, Protobuf, want)
			mtPrune(w)
			got, err := e.AppendRequest(nil, rm)
			if err != nil {
				t.Fatal(err)
			}
			checkJSON(t, got, w)
		})
	}
	if got, _ := e.AppendRequest(nil, &metricdata.ResourceMetrics{}); string(got) != "{}" {
		t.Fatalf("no metrics: %s", got)
	}
}

func TestMetricEncoderAllocations(t *testing.T) {
	rm, _ := benchMetrics(t)
	for _, cfg := range []MetricConfig{{}, {Encoding: JSON}, {MaxRecordSize: 2000}} {
		e := mtNewEncoder(t, cfg)
		emit := func(string, []byte) error { return nil }
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := e.Encode(rm, emit); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%+v: Encode made %v allocations, want 0", cfg, allocs)
		}
		var buf []byte
		if allocs := testing.AllocsPerRun(20, func() { buf, _ = e.AppendRequest(buf[:0], rm) }); allocs != 0 {
			t.Errorf("%+v: AppendRequest made %v allocations, want 0", cfg, allocs)
		}
	}
}
