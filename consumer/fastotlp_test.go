package consumer

import (
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// richTraces uses every field of the trace messages the fast decoder reads.
func richTraces() *coltracepb.ExportTraceServiceRequest {
	kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
	s := func(v string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}
	}
	attrs := []*commonpb.KeyValue{
		kv("s", s("héllo")), kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
		kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -7}}),
		kv("d", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 2.5}}),
		kv("by", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1, 2}}}),
		kv("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{s("a"), {}}}}}),
		kv("kvl", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("x", s("y")), {Key: "nil"}}}}}),
		kv("empty", &commonpb.AnyValue{}),
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:  &resourcepb.Resource{Attributes: attrs, DroppedAttributesCount: 3},
		SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope:     &commonpb.InstrumentationScope{Name: "lib", Version: "1", Attributes: attrs[:2], DroppedAttributesCount: 1},
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
		Resource: &resourcepb.Resource{Attributes: richTraces().ResourceSpans[0].Resource.Attributes},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "log"},
			LogRecords: []*logspb.LogRecord{{
				TimeUnixNano: 1, ObservedTimeUnixNano: 2, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN,
				SeverityText: "WARN", Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "b"}},
				Attributes: richTraces().ResourceSpans[0].Resource.Attributes[:3], DroppedAttributesCount: 1, Flags: 1,
				TraceId: []byte{1, 2}, SpanId: []byte{3}, EventName: "ev",
			}, {}},
			SchemaUrl: "u",
		}},
	}}}
}

// checkFast holds the fast decoder to proto.Unmarshal on data: when it decodes, the
// standard decoder must decode too, to an equal message.
func checkFast(t *testing.T, data []byte) (fastOK bool) {
	t.Helper()
	var ft coltracepb.ExportTraceServiceRequest
	if fastUnmarshalTraces(data, &ft) == nil {
		fastOK = true
		var st coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &st); err != nil {
			t.Fatalf("traces: fast decoded what proto.Unmarshal refuses (%v)", err)
		}
		if !proto.Equal(&ft, &st) {
			t.Fatalf("traces differ:\nfast %v\nstd  %v", &ft, &st)
		}
	}
	var fl collogspb.ExportLogsServiceRequest
	if fastUnmarshalLogs(data, &fl) == nil {
		var sl collogspb.ExportLogsServiceRequest
		if err := proto.Unmarshal(data, &sl); err != nil {
			t.Fatalf("logs: fast decoded what proto.Unmarshal refuses (%v)", err)
		}
		if !proto.Equal(&fl, &sl) {
			t.Fatalf("logs differ:\nfast %v\nstd  %v", &fl, &sl)
		}
	}
	return fastOK
}

func TestFastDecoderEqualsProtoUnmarshal(t *testing.T) {
	for _, m := range []proto.Message{richTraces(), richLogs()} {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got proto.Message
		if tr, ok := m.(*coltracepb.ExportTraceServiceRequest); ok {
			g := &coltracepb.ExportTraceServiceRequest{}
			if err := fastUnmarshalTraces(b, g); err != nil {
				t.Fatalf("fast decoder gave up on %T", tr)
			}
			got = g
		} else {
			g := &collogspb.ExportLogsServiceRequest{}
			if err := fastUnmarshalLogs(b, g); err != nil {
				t.Fatalf("fast decoder gave up on %T", m)
			}
			got = g
		}
		if !proto.Equal(got, m) {
			t.Errorf("decoded\n%v\nwant\n%v", got, m)
		}
		checkFast(t, b)
	}
}

// What the fast decoder must leave to proto.Unmarshal.
func TestFastDecoderGivesUp(t *testing.T) {
	good, _ := proto.Marshal(richTraces())
	span := func(extra []byte) []byte { // one resource, one scope, one span with extra bytes
		sp := append(protowire.AppendTag(nil, 5, protowire.BytesType), 1, 'n')
		sp = append(sp, extra...)
		ss := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), sp)
		rs := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), ss)
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), rs)
	}
	status := protowire.AppendBytes(protowire.AppendTag(nil, 15, protowire.BytesType), []byte{0x18, 2})
	for name, data := range map[string][]byte{
		"unknown field":           span(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)),
		"known field, wrong type": span(protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), 1)),
		"status twice (merged)":   span(append(append([]byte{}, status...), status...)),
		"invalid UTF-8":           span(append(protowire.AppendTag(nil, 5, protowire.BytesType), 2, 0xff, 0xfe)),
		"truncated":               good[:len(good)-3],
	} {
		var m coltracepb.ExportTraceServiceRequest
		if err := fastUnmarshalTraces(data, &m); err != errFallback {
			t.Errorf("%s: fast decoder did not give up (%v)", name, err)
		}
		checkFast(t, data)
	}
}

// FuzzFastDecoder holds the fast decoder to proto.Unmarshal on any input.
func FuzzFastDecoder(f *testing.F) {
	for _, m := range []proto.Message{richTraces(), richLogs(), &coltracepb.ExportTraceServiceRequest{}} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data)
	})
}
