package consumer

import (
	"bytes"
	"math"
	"strings"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func strVal(v string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
}

// richAttrs uses every kind of AnyValue, nested lists among them.
func richAttrs() []*commonpb.KeyValue {
	return []*commonpb.KeyValue{
		kv("s", strVal("héllo")), kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
		kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -7}}),
		kv("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 2.5}}),
		kv("by", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1, 2}}}),
		kv("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{strVal("a"), {},
			{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{strVal("nested")}}}}}}}}),
		kv("kvl", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("x", strVal("y")), {Key: "nil"}}}}}),
		kv("empty", &commonpb.AnyValue{}),
		kv("long ascii key, longer than a word", strVal(strings.Repeat("abcdefgh", 5)+"xyz")),
		kv("ключ", strVal("значение, longer than eight bytes")),
	}
}

func richResource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: richAttrs(), DroppedAttributesCount: 3}
}

func richScope() *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{Name: "lib", Version: "1", Attributes: richAttrs()[:2], DroppedAttributesCount: 1}
}

// richTraces uses every field of the trace messages the fast decoder reads.
func richTraces() *coltracepb.ExportTraceServiceRequest {
	attrs := richAttrs()
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:  richResource(),
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope:     richScope(),
			SchemaUrl: "s",
			Spans: []*tracepb.Span{{
				TraceId: make([]byte, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, TraceState: "k=v", ParentSpanId: []byte{9},
				Flags: 0x301, Name: "n", Kind: tracepb.Span_SPAN_KIND_CONSUMER, StartTimeUnixNano: 1, EndTimeUnixNano: 2,
				Attributes: attrs, DroppedAttributesCount: 4, DroppedEventsCount: 5, DroppedLinksCount: 6,
				Events: []*tracepb.Span_Event{{TimeUnixNano: 3, Name: "e", Attributes: attrs[:1], DroppedAttributesCount: 7}, {}},
				Links: []*tracepb.Span_Link{{TraceId: []byte{1}, SpanId: []byte{2}, TraceState: "t", Attributes: attrs[2:3],
					DroppedAttributesCount: 8, Flags: 1}},
				Status: &tracepb.Status{Message: "m", Code: tracepb.Status_STATUS_CODE_ERROR},
			}, {Kind: tracepb.Span_SpanKind(99), Status: &tracepb.Status{}}, {}},
		}, {}},
	}, {}}}
}

func richLogs() *collogspb.ExportLogsServiceRequest {
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: richResource(),
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: richScope(),
			LogRecords: []*logspb.LogRecord{{
				TimeUnixNano: 1, ObservedTimeUnixNano: 2, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN,
				SeverityText: "WARN", Body: strVal("b"),
				Attributes: richAttrs()[:3], DroppedAttributesCount: 1, Flags: 1,
				TraceId: []byte{1, 2}, SpanId: []byte{3}, EventName: "ev",
			}, {Body: richAttrs()[6].Value}, {}},
			SchemaUrl: "u",
		}},
		SchemaUrl: "r",
	}}}
}

// richMetrics uses every field of the metric messages the fast decoder reads: every
// data type, both kinds of number, exemplars, optional fields set and not.
func richMetrics() *colmetricpb.ExportMetricsServiceRequest {
	f := func(v float64) *float64 { return &v }
	exemplars := []*metricspb.Exemplar{
		{FilteredAttributes: richAttrs()[:2], TimeUnixNano: 5, Value: &metricspb.Exemplar_AsDouble{AsDouble: 1.5},
			SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, TraceId: make([]byte, 16)},
		{Value: &metricspb.Exemplar_AsInt{AsInt: -3}}, {},
	}
	numbers := []*metricspb.NumberDataPoint{
		{Attributes: richAttrs()[:3], StartTimeUnixNano: 1, TimeUnixNano: 2,
			Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 3.25}, Exemplars: exemplars, Flags: 1},
		{Value: &metricspb.NumberDataPoint_AsInt{AsInt: -42}}, {},
	}
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource:  richResource(),
		SchemaUrl: "r",
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope:     richScope(),
			SchemaUrl: "s",
			Metrics: []*metricspb.Metric{
				{Name: "gauge", Description: "d", Unit: "1", Metadata: richAttrs()[:1],
					Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: numbers}}},
				{Name: "sum", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: numbers[1:],
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true}}},
				{Name: "histogram", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.HistogramDataPoint{{
						Attributes: richAttrs()[:2], StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 10, Sum: f(12.5),
						BucketCounts: []uint64{1, 2, 3, 4}, ExplicitBounds: []float64{0, 5, 10}, Exemplars: exemplars[:1],
						Flags: 1, Min: f(-1), Max: f(math.Inf(1)),
					}, {Count: 1, Sum: f(0)}, {}}}}},
				{Name: "exponential", Data: &metricspb.Metric_ExponentialHistogram{ExponentialHistogram: &metricspb.ExponentialHistogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE,
					DataPoints: []*metricspb.ExponentialHistogramDataPoint{{
						Attributes: richAttrs()[:1], StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 7, Sum: f(3), Scale: -3,
						ZeroCount: 1, Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: -2, BucketCounts: []uint64{1, 300, 1 << 40}},
						Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 5}, Flags: 1, Exemplars: exemplars[1:],
						Min: f(0.5), Max: f(9), ZeroThreshold: 1e-9,
					}, {Scale: 20}, {}}}}},
				{Name: "summary", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
					DataPoints: []*metricspb.SummaryDataPoint{{
						Attributes: richAttrs()[:1], StartTimeUnixNano: 1, TimeUnixNano: 2, Count: 3, Sum: 6,
						QuantileValues: []*metricspb.SummaryDataPoint_ValueAtQuantile{{Quantile: 0.5, Value: 2}, {Quantile: 1, Value: 3}, {}},
						Flags:          1,
					}, {}}}}},
				{Name: "no data"},
				{Name: "empty gauge", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}},
			},
		}, {}},
	}, {}}}
}

// fastDecode runs the fast decoder of m's signal over data, with arena a (nil: pooled).
func fastDecode(a *otlpArena, m proto.Message, data []byte) (proto.Message, error) {
	switch m.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		return fastUnmarshalTraces(a, data)
	case *collogspb.ExportLogsServiceRequest:
		return fastUnmarshalLogs(a, data)
	default:
		return fastUnmarshalMetrics(a, data)
	}
}

// signals has an empty request of each signal.
var signals = []proto.Message{&coltracepb.ExportTraceServiceRequest{}, &collogspb.ExportLogsServiceRequest{},
	&colmetricpb.ExportMetricsServiceRequest{}}

// checkFast holds the fast decoders to proto.Unmarshal on data: when one decodes,
// proto.Unmarshal must decode too, to an equal message. It reports which decoded.
func checkFast(t *testing.T, a *otlpArena, data []byte) (fastOK [3]bool) {
	t.Helper()
	for i, empty := range signals {
		got, err := fastDecode(a, empty, data)
		if err != nil {
			if err != errFallback {
				t.Fatalf("%T: fast decoder failed with %v, not errFallback", empty, err)
			}
			continue
		}
		fastOK[i] = true
		want := empty.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(data, want); err != nil {
			t.Fatalf("%T: fast decoded what proto.Unmarshal refuses (%v)", empty, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("%T differs:\nfast %v\nstd  %v", empty, got, want)
		}
	}
	return fastOK
}

func TestFastDecoderEqualsProtoUnmarshal(t *testing.T) {
	for i, m := range []proto.Message{richTraces(), richLogs(), richMetrics()} {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fastDecode(nil, m, b)
		if err != nil {
			t.Fatalf("fast decoder gave up on %T", m)
		}
		if !proto.Equal(got, m) {
			t.Errorf("decoded\n%v\nwant\n%v", got, m)
		}
		if ok := checkFast(t, nil, b); !ok[i] {
			t.Errorf("%T: fast decoder gave up", m)
		}
		// Empty values come out nil where proto.Unmarshal leaves them nil too.
		if !proto.Equal(got, m) {
			t.Errorf("%T differs", m)
		}
	}
}

// pbBytes appends a bytes field of number num holding v to b.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

// metricPoint wraps the encoded data point of a histogram (9) or exponential histogram
// (10) into a whole metrics request.
func metricPoint(dataField protowire.Number, point []byte) []byte {
	series := pbBytes(nil, 1, point)
	metric := pbBytes(pbBytes(nil, 1, []byte("m")), dataField, series)
	sm := pbBytes(nil, 2, metric)
	rm := pbBytes(nil, 2, sm)
	return pbBytes(nil, 1, rm)
}

// Repeated numbers may come packed or one by one, even mixed: protobuf parsers read
// them all, and so does the fast decoder.
func TestFastDecoderUnpackedNumbers(t *testing.T) {
	var hp []byte // HistogramDataPoint: bucket_counts (6) and explicit_bounds (7)
	hp = protowire.AppendFixed64(protowire.AppendTag(hp, 6, protowire.Fixed64Type), 1)
	hp = pbBytes(hp, 6, protowire.AppendFixed64(protowire.AppendFixed64(nil, 2), 3))
	hp = protowire.AppendFixed64(protowire.AppendTag(hp, 6, protowire.Fixed64Type), 4)
	hp = protowire.AppendFixed64(protowire.AppendTag(hp, 7, protowire.Fixed64Type), math.Float64bits(0.5))
	hp = protowire.AppendFixed64(protowire.AppendTag(hp, 7, protowire.Fixed64Type), math.Float64bits(1.5))
	var bk []byte // Buckets: offset (1), bucket_counts (2)
	bk = protowire.AppendVarint(protowire.AppendTag(bk, 2, protowire.VarintType), 7)
	bk = pbBytes(bk, 2, protowire.AppendVarint(protowire.AppendVarint(nil, 300), 1<<50))
	bk = protowire.AppendVarint(protowire.AppendTag(bk, 1, protowire.VarintType), protowire.EncodeZigZag(-4))
	bk = protowire.AppendVarint(protowire.AppendTag(bk, 2, protowire.VarintType), 9)
	ep := pbBytes(nil, 8, bk)
	for name, data := range map[string][]byte{"histogram": metricPoint(9, hp), "exponential": metricPoint(10, ep)} {
		if ok := checkFast(t, nil, data); !ok[2] {
			t.Errorf("%s: fast decoder gave up", name)
		}
	}
}

// What the fast decoders must leave to proto.Unmarshal.
func TestFastDecoderGivesUp(t *testing.T) {
	good, _ := proto.Marshal(richTraces())
	span := func(extra []byte) []byte { // one resource, one scope, one span with extra bytes
		sp := append(protowire.AppendTag(nil, 5, protowire.BytesType), 1, 'n')
		sp = append(sp, extra...)
		return pbBytes(nil, 1, pbBytes(nil, 2, pbBytes(nil, 2, sp)))
	}
	status := pbBytes(nil, 15, []byte{0x18, 2})
	deep := strVal("x")
	for range maxFastDepth + 2 {
		deep = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{deep}}}}
	}
	deepSpan, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Attributes: []*commonpb.KeyValue{kv("deep", deep)}}}}}}}})
	gauge := pbBytes(nil, 5, nil)
	metricTwice := pbBytes(nil, 1, pbBytes(nil, 2, pbBytes(nil, 2, append(pbBytes(pbBytes(nil, 1, []byte("m")), 5, nil), gauge...))))
	numberDP := func(b []byte) []byte { return metricPoint(5, b) }
	asDouble := protowire.AppendFixed64(protowire.AppendTag(nil, 4, protowire.Fixed64Type), 1)
	for name, tc := range map[string]struct {
		data   []byte
		signal int
	}{
		"unknown field":                {span(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)), 0},
		"known field, wrong type":      {span(protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), 1)), 0},
		"status twice (merged)":        {span(append(append([]byte{}, status...), status...)), 0},
		"invalid UTF-8":                {span(append(protowire.AppendTag(nil, 5, protowire.BytesType), 2, 0xff, 0xfe)), 0},
		"invalid UTF-8, long":          {span(pbBytes(nil, 5, []byte("abcdefghijklmnop\xff"))), 0},
		"truncated":                    {good[:len(good)-3], 0},
		"nested deeper than the limit": {deepSpan, 0},
		"metric data twice":            {metricTwice, 2},
		"number value twice":           {numberDP(append(append([]byte{}, asDouble...), asDouble...)), 2},
		"buckets twice":                {metricPoint(10, pbBytes(pbBytes(nil, 8, nil), 8, nil)), 2},
		"packed fixed64, bad length":   {metricPoint(9, pbBytes(nil, 6, []byte{1, 2, 3})), 2},
		"packed varint, truncated":     {metricPoint(10, pbBytes(nil, 8, pbBytes(nil, 2, []byte{0x80}))), 2},
		"field number 0":               {append(protowire.AppendTag(nil, 0, protowire.VarintType), 0), 0},
	} {
		if _, err := fastDecode(nil, signals[tc.signal], tc.data); err != errFallback {
			t.Errorf("%s: fast decoder did not give up (%v)", name, err)
		}
		checkFast(t, nil, tc.data)
	}
}

// Requests decoded into one arena, as a Reader decodes a batch, each equal what
// proto.Unmarshal reads; after a reset for reuse, the next batch too, with nothing
// left over from the first.
func TestFastDecoderArenaReuse(t *testing.T) {
	var reqs [][]byte
	for _, m := range []proto.Message{richTraces(), richMetrics(), richLogs(), &coltracepb.ExportTraceServiceRequest{}} {
		b, _ := proto.Marshal(m)
		reqs = append(reqs, b)
	}
	// A smaller span than the first batch's, so that reused values must be cleared.
	small, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "only a name"}}}}}}})
	a := newOTLPArena()
	for round, batch := range [][][]byte{reqs, reqs, {small, small}, reqs} {
		total := 0
		for _, r := range batch {
			total += len(r)
		}
		for _, r := range batch {
			total -= len(r)
			a.ahead = total
			checkFast(t, a, r)
		}
		if round%2 == 1 {
			a.reset(true)
		} else {
			a.reset(false)
		}
	}
}

// A batch decoded into reused memory allocates nothing per span.
func TestFastDecoderReuseAllocations(t *testing.T) {
	var spans []*tracepb.Span
	for range 50 {
		spans = append(spans, richTraces().ResourceSpans[0].ScopeSpans[0].Spans[0])
	}
	data, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}})
	a := newOTLPArena()
	allocs := testing.AllocsPerRun(20, func() {
		for range 10 {
			if _, err := fastUnmarshalTraces(a, data); err != nil {
				t.Fatal(err)
			}
		}
		a.reset(true)
	})
	if allocs > 0 {
		t.Errorf("%v allocations for 500 spans decoded into reused memory", allocs)
	}
}

func TestValidUTF8(t *testing.T) {
	// Every string length and position, with the non-ASCII byte anywhere, against
	// utf8.Valid.
	for n := range 20 {
		for pre := range 10 {
			for bad := -1; bad < n; bad++ {
				s := bytes.Repeat([]byte{'a'}, n)
				if bad >= 0 {
					s[bad] = 0xff
				}
				raw := append(bytes.Repeat([]byte{0xc3}, pre), s...)
				raw = append(raw, 0xff) // never part of the string
				d := fastDecoder{raw: raw}
				if got, want := d.validUTF8(pre, pre+n), bad < 0; got != want {
					t.Fatalf("len %d after %d bytes, bad byte at %d: got %v", n, pre, bad, got)
				}
			}
		}
	}
}

// FuzzFastDecoder holds the fast decoders of all three signals to proto.Unmarshal on
// any input, decoding with a pooled arena and with one shared and reused as a Reader
// does.
func FuzzFastDecoder(f *testing.F) {
	for _, m := range []proto.Message{richTraces(), richLogs(), richMetrics(), &coltracepb.ExportTraceServiceRequest{}} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	a := newOTLPArena()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, nil, data)
		a.ahead = len(data)
		checkFast(t, a, data)
		a.reset(true)
	})
}
