package otlpwire

import (
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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
