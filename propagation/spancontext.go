package propagation

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// remoteSpanContext is the context trace.ContextWithRemoteSpanContext makes,
// in one allocation instead of two (the span, and the context holding it): it
// is the context and its current span at once. As a span it does what the
// span package trace would put there does: nothing, but report its span
// context.
type remoteSpanContext struct {
	context.Context // the parent
	// trace.Span is package trace's span for a context without one; its
	// no-op methods serve this span (TracerProvider included, which may know
	// about auto-instrumentation).
	trace.Span
	sc trace.SpanContext
}

// SpanContext returns the remote span context.
func (c *remoteSpanContext) SpanContext() trace.SpanContext { return c.sc }

// Value returns the span itself for package trace's key, and the parent's
// value for any other.
func (c *remoteSpanContext) Value(key any) any {
	if key == spanKey {
		return trace.Span(c)
	}
	return c.Context.Value(key)
}

// String names the context and its parent, as the context package does.
func (c *remoteSpanContext) String() string {
	return fmt.Sprint(c.Context) + ".WithRemoteSpanContext"
}

// spanKey is the key under which package trace keeps the current span in a
// context, learnt at start-up by watching trace.SpanFromContext look it up. It
// is nil, and contextWithRemoteSpanContext leaves the work to package trace,
// unless a context of this package's making is then read back by package
// trace exactly as one of its own.
var spanKey any

func init() { spanKey = learnSpanKey() }

// keyProbe is a context that records the keys looked up in it.
type keyProbe struct{ keys []any }

func (*keyProbe) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*keyProbe) Done() <-chan struct{}       { return nil }
func (*keyProbe) Err() error                  { return nil }
func (p *keyProbe) Value(key any) any {
	p.keys = append(p.keys, key)
	return nil
}

func learnSpanKey() any {
	probe := &keyProbe{}
	trace.SpanFromContext(probe)
	if len(probe.keys) != 1 || probe.keys[0] == nil || !reflect.TypeOf(probe.keys[0]).Comparable() {
		return nil
	}
	spanKey = probe.keys[0]
	defer func() { spanKey = nil }() // the caller sets it
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := newRemoteSpanContext(context.Background(), sc)
	got := trace.SpanFromContext(ctx)
	if got != trace.Span(ctx) || !got.SpanContext().Equal(sc) || got.IsRecording() ||
		!trace.SpanContextFromContext(ctx).Equal(trace.SpanContextFromContext(trace.ContextWithRemoteSpanContext(context.Background(), sc))) {
		return nil
	}
	return probe.keys[0]
}

// noopSpan is package trace's span for a context that holds none.
var noopSpan = trace.SpanFromContext(context.Background())

func newRemoteSpanContext(parent context.Context, sc trace.SpanContext) *remoteSpanContext {
	return &remoteSpanContext{Context: parent, Span: noopSpan, sc: sc.WithRemote(true)}
}

// contextWithRemoteSpanContext returns
// trace.ContextWithRemoteSpanContext(parent, sc), with one allocation fewer.
func contextWithRemoteSpanContext(parent context.Context, sc trace.SpanContext) context.Context {
	if spanKey == nil {
		return trace.ContextWithRemoteSpanContext(parent, sc)
	}
	return newRemoteSpanContext(parent, sc)
}
