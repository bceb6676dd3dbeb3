package otlpwire

import (
	"context"
	"reflect"
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// asSDKSpans returns spans as the SDK's own span type, with the same values, so that the
// encoder reads them in place. It fails the test when the SDK's layout was not accepted.
func asSDKSpans(tb testing.TB, spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	tb.Helper()
	view := spanView()
	if view == nil {
		tb.Fatal("the SDK's span type is not laid out as spanRecord: the encoder reads spans through their methods")
	}
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		if s == nil {
			continue
		}
		p := reflect.New(view.Elem())
		readSpan(s, (*spanRecord)(p.UnsafePointer()))
		out[i] = p.Interface().(sdktrace.ReadOnlySpan)
	}
	return out
}

// TestSpanView: the SDK's spans are read in place and hold what their methods return;
// other ReadOnlySpans are read through their methods. A newer SDK that lays its spans out
// differently turns the view off, which this reports.
func TestSpanView(t *testing.T) {
	view := spanView()
	if view == nil {
		t.Fatal("the SDK's span type is not laid out as spanRecord: the encoder reads spans through their methods")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tracer := tp.Tracer("view")
	ctx, root := tracer.Start(context.Background(), "root", trace.WithAttributes(attribute.String("k", "v")))
	_, child := tracer.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext()}))
	child.AddEvent("event", trace.WithAttributes(attribute.Bool("b", true)))
	child.SetStatus(codes.Error, "broken")
	child.End()
	root.End()
	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans recorded", len(ended))
	}
	for _, s := range ended {
		if reflect.TypeOf(s) != view {
			t.Fatalf("recorded span of type %T, the view accepted %v", s, view)
		}
		var tmp, want spanRecord
		got := spanRecordOf(s, view, &tmp)
		if got == &tmp || unsafe.Pointer(got) != reflect.ValueOf(s).UnsafePointer() {
			t.Fatalf("span %q was copied, not read in place", s.Name())
		}
		readSpan(s, &want)
		if !sameSpan(got, &want) {
			t.Fatalf("span %q: in place %+v, methods %+v", s.Name(), *got, want)
		}
	}
	stub := tracetest.SpanStubsFromReadOnlySpans(ended).Snapshots()[0] // the child ended first
	var tmp spanRecord
	if got := spanRecordOf(stub, view, &tmp); got != &tmp || got.name != "child" || got.status.Description != "broken" {
		t.Fatalf("a tracetest span: got %+v", *got)
	}
	if got := spanRecordOf(ended[1], nil, &tmp); got != &tmp || got.name != "root" {
		t.Fatalf("with the view off: got %+v", *got)
	}
}

// TestAppendRequestSDKSpans: spans of the SDK's own type, read in place, encode exactly as
// otlptrace's transform and proto.Marshal write them.
func TestAppendRequestSDKSpans(t *testing.T) {
	e := newEncoder(t, TraceConfig{})
	for seed := range propertyCases(200) {
		g := newSpanGen(seed)
		g.invalidUTF8 = seed%5 == 0
		checkRequest(t, e, asSDKSpans(t, g.spans(1+g.r.IntN(40))), g.invalidUTF8)
	}
	checkRequest(t, e, asSDKSpans(t, realisticSpans(64)), false)
}

// TestJSONRequestSDKSpans is TestAppendRequestSDKSpans for OTLP/JSON.
func TestJSONRequestSDKSpans(t *testing.T) {
	e := newEncoder(t, TraceConfig{Encoding: JSON})
	for seed := range propertyCases(100) {
		g := newSpanGen(seed)
		g.invalidUTF8 = seed%5 == 0
		checkJSONRequest(t, e, asSDKSpans(t, g.spans(1+g.r.IntN(30))), g.invalidUTF8)
	}
}

// TestAppendSpanSDKAllocations: reading the SDK's spans in place allocates nothing.
func TestAppendSpanSDKAllocations(t *testing.T) {
	spans := asSDKSpans(t, realisticSpans(16))
	buf := make([]byte, 0, 1<<16)
	allocs := testing.AllocsPerRun(50, func() {
		buf = buf[:0]
		for _, s := range spans {
			buf = AppendSpan(buf, s)
			buf = AppendSpanJSON(buf, s)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 16 spans, want 0", allocs)
	}
}
