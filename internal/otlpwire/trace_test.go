package otlpwire

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func newEncoder(tb testing.TB, cfg TraceConfig) *TraceEncoder {
	tb.Helper()
	e, err := NewTraceEncoder(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// checkRequest asserts that AppendRequest writes, for spans, exactly the
// bytes proto.Marshal writes for otlptrace's transform of them.
func checkRequest(t *testing.T, e *TraceEncoder, spans []sdktrace.ReadOnlySpan, invalidUTF8 bool) {
	t.Helper()
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: oracle(t, spans)}
	if invalidUTF8 {
		sanitizeStrings(want.ProtoReflect())
	}
	got := e.AppendRequest(nil, spans)
	checkEncoding(t, got, want, &coltracepb.ExportTraceServiceRequest{})
}

func TestAppendRequestMatchesOtlptrace(t *testing.T) {
	e := newEncoder(t, TraceConfig{})
	for seed := range propertyCases(400) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := newSpanGen(seed)
			g.invalidUTF8 = seed%5 == 0
			g.huge = seed%40 == 0
			spans := g.spans(1 + g.r.IntN(40))
			if seed%7 == 0 {
				spans = append(spans, nil) // the SDK never does this; otlptrace skips nil
				copy(spans[1:], spans)
				spans[0] = nil
			}
			checkRequest(t, e, spans, g.invalidUTF8)
		})
	}
}

func TestAppendRequestEdgeCases(t *testing.T) {
	e := newEncoder(t, TraceConfig{})
	if got := e.AppendRequest([]byte("x"), nil); string(got) != "x" {
		t.Fatalf("no spans: got %q", got)
	}
	if got := e.AppendRequest(nil, []sdktrace.ReadOnlySpan{nil}); len(got) != 0 {
		t.Fatalf("only nil spans: got %x", got)
	}
	// A span with nothing set at all.
	checkRequest(t, e, tracetest.SpanStubs{{}}.Snapshots(), false)
	// The realistic benchmark shape.
	checkRequest(t, e, realisticSpans(64), false)
}

// FuzzAppendRequest checks the property over fuzzer-chosen generator seeds.
func FuzzAppendRequest(f *testing.F) {
	f.Add(uint64(3), uint8(10), false)
	f.Add(uint64(99), uint8(1), true)
	e := newEncoder(f, TraceConfig{})
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, invalid bool) {
		g := newSpanGen(seed)
		g.invalidUTF8 = invalid
		checkRequest(t, e, g.spans(int(n)%64+1), invalid)
	})
}

func TestAppendSpanAllocations(t *testing.T) {
	stubs := tracetest.SpanStubsFromReadOnlySpans(realisticSpans(16))
	ts, err := trace.ParseTraceState("vendor=value,other=x")
	if err != nil {
		t.Fatal(err)
	}
	stubs[3].SpanContext = stubs[3].SpanContext.WithTraceState(ts) // Walk must not allocate
	spans := stubs.Snapshots()
	buf := make([]byte, 0, 1<<16)
	allocs := testing.AllocsPerRun(50, func() {
		buf = buf[:0]
		for _, s := range spans {
			buf = AppendSpan(buf, s)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendSpan: %v allocations per 16 spans, want 0", allocs)
	}
	var one tracepb.Span
	if err := proto.Unmarshal(AppendSpan(nil, spans[0]), &one); err != nil {
		t.Fatal(err)
	}
}

// TestLinkTraceState: a link's trace state is Span.Link field 3 in protobuf and
// "traceState" in OTLP/JSON, written when not empty, '"' and '\' escaped in JSON; the
// span's own trace state (Span field 3) and the flags of span and links go with it.
// The expected message is written out by hand, not taken from otlptrace.
func TestLinkTraceState(t *testing.T) {
	must := func(ts trace.TraceState, err error) trace.TraceState {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	own := must(trace.ParseTraceState("own=1"))
	linked := must(trace.ParseTraceState(`vendor=abc,q=say "hi",w=back\slash`))
	tid, ltid := trace.TraceID{1, 2, 3}, trace.TraceID{9, 8, 7}
	sid, psid, lsid, lsid2 := trace.SpanID{1}, trace.SpanID{2}, trace.SpanID{3}, trace.SpanID{4}
	start := time.Unix(1_700_000_000, 5)
	stub := tracetest.SpanStub{
		Name:        "process",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceState: own, TraceFlags: trace.FlagsSampled}),
		Parent:      trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid, Remote: true}),
		SpanKind:    trace.SpanKindConsumer,
		StartTime:   start,
		EndTime:     start.Add(time.Millisecond),
		Links: []sdktrace.Link{
			{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: ltid, SpanID: lsid, TraceState: linked, TraceFlags: trace.FlagsSampled, Remote: true}),
				Attributes: []attribute.KeyValue{attribute.String("k", "v")}, DroppedAttributeCount: 2},
			{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: ltid, SpanID: lsid2})},
		},
	}
	span := tracetest.SpanStubs{stub}.Snapshots()[0]
	want := &tracepb.Span{
		TraceId: tid[:], SpanId: sid[:], TraceState: "own=1", ParentSpanId: psid[:], Flags: 0x301,
		Name: "process", Kind: tracepb.Span_SPAN_KIND_CONSUMER,
		StartTimeUnixNano: uint64(start.UnixNano()), EndTimeUnixNano: uint64(start.Add(time.Millisecond).UnixNano()),
		Links: []*tracepb.Span_Link{
			{TraceId: ltid[:], SpanId: lsid[:], TraceState: `vendor=abc,q=say "hi",w=back\slash`,
				Attributes:             []*commonpb.KeyValue{{Key: "k", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "v"}}}},
				DroppedAttributesCount: 2, Flags: 0x301},
			{TraceId: ltid[:], SpanId: lsid2[:], Flags: 0x100},
		},
		Status: &tracepb.Status{},
	}
	checkEncoding(t, AppendSpan(nil, span), want, &tracepb.Span{})
	checkJSON(t, AppendSpanJSON(nil, span), want)

	// Through the encoders, in both encodings, against otlptrace's transform with the
	// links' trace states added.
	spans := []sdktrace.ReadOnlySpan{span}
	checkRequest(t, newEncoder(t, TraceConfig{}), spans, false)
	checkJSONRequest(t, newEncoder(t, TraceConfig{Encoding: JSON}), spans, false)
}

// TestSpanGenLinkTraceStates: the random spans of the property tests have links with
// trace states, those needing JSON escapes among them, and links without.
func TestSpanGenLinkTraceStates(t *testing.T) {
	var with, escaped, without int
	for seed := range uint64(20) {
		for _, s := range newSpanGen(seed).spans(20) {
			for _, l := range s.Links() {
				switch ts := l.SpanContext.TraceState().String(); {
				case ts == "":
					without++
				case strings.ContainsAny(ts, `"\`):
					escaped++
					with++
				default:
					with++
				}
			}
		}
	}
	if with == 0 || escaped == 0 || without == 0 {
		t.Fatalf("links: %d with a trace state (%d needing JSON escapes), %d without; want some of each", with, escaped, without)
	}
}
