package propagation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

type otherKey struct{}

// The one-allocation context reads back, through package trace and package
// context, as the one trace.ContextWithRemoteSpanContext makes; and without
// the span key learnt, it is that one.
func TestContextWithRemoteSpanContext(t *testing.T) {
	if spanKey == nil {
		t.Fatal("the span key of package trace was not learnt")
	}
	sc := testSC(t, "a=b").WithRemote(false)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), otherKey{}, "v"), time.Now().Add(time.Hour))
	defer cancel()
	want := trace.ContextWithRemoteSpanContext(parent, sc)
	check := func(t *testing.T, got context.Context) {
		t.Helper()
		gs, ws := trace.SpanFromContext(got), trace.SpanFromContext(want)
		if !gs.SpanContext().Equal(ws.SpanContext()) || !gs.SpanContext().IsRemote() || gs.IsRecording() != ws.IsRecording() {
			t.Errorf("span %v (recording %v), want %v", gs.SpanContext(), gs.IsRecording(), ws.SpanContext())
		}
		if gs.TracerProvider() != ws.TracerProvider() {
			t.Errorf("tracer provider %T, want %T", gs.TracerProvider(), ws.TracerProvider())
		}
		if got.Value(otherKey{}) != "v" || got.Value("absent") != nil {
			t.Error("the parent's values are not read through")
		}
		if d, ok := got.Deadline(); !ok || d.IsZero() {
			t.Error("the parent's deadline is not read through")
		}
		child, stop := context.WithCancel(got)
		stop()
		if child.Err() == nil || got.Err() != nil {
			t.Error("a child's cancellation is not its own")
		}
		gs.End() // does nothing, like the span it stands for
		gs.SetName("x")
	}
	t.Run("one allocation", func(t *testing.T) {
		got := contextWithRemoteSpanContext(parent, sc)
		if _, ok := got.(*remoteSpanContext); !ok {
			t.Fatalf("%T", got)
		}
		check(t, got)
		if s := fmt.Sprint(got); !strings.HasPrefix(s, "context.Background.WithValue") || !strings.HasSuffix(s, ".WithRemoteSpanContext") {
			t.Errorf("String() = %q, want the parent's name first", s)
		}
		if n := testing.AllocsPerRun(100, func() { _ = contextWithRemoteSpanContext(parent, sc) }); n != 1 {
			t.Errorf("%v allocations", n)
		}
	})
	t.Run("without the key", func(t *testing.T) {
		key := spanKey
		spanKey = nil
		defer func() { spanKey = key }()
		got := contextWithRemoteSpanContext(parent, sc)
		if _, ok := got.(*remoteSpanContext); ok {
			t.Fatal("made its own context without the key")
		}
		check(t, got)
	})
}
