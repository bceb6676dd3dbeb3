package otlpwire

import (
	"context"
	"reflect"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The SDK hands exporters its ended spans as pointers to an unexported snapshot struct
// whose ReadOnlySpan methods all have value receivers: each call through the interface
// copies the whole struct (over 400 bytes) to return one field, and the encoder needs
// sixteen fields of every span. So the encoder reads them in place instead, through
// spanRecord, a mirror of that struct, once spanView has checked the SDK's type field by
// field (name, type, offset) and read a real span through both ways. Anything else
// (another SDK version laid out differently, tracetest's stubs, a caller's own
// ReadOnlySpan) is read through the methods, each called once, into a spanRecord.

// spanRecord mirrors the SDK's span snapshot, field for field. It is what the encoder
// reads a span from; it must not be modified when it is the SDK's own.
type spanRecord struct {
	name                  string
	spanContext           trace.SpanContext
	parent                trace.SpanContext
	spanKind              trace.SpanKind
	startTime             time.Time
	endTime               time.Time
	attributes            []attribute.KeyValue
	events                []sdktrace.Event
	links                 []sdktrace.Link
	status                sdktrace.Status
	childSpanCount        int
	droppedAttributeCount int
	droppedEventCount     int
	droppedLinkCount      int
	resource              *resource.Resource
	instrumentationScope  instrumentation.Scope
}

// spanView returns the SDK's span type when spanRecord mirrors it and reads the same
// values as its methods, or nil.
var spanView = sync.OnceValue(checkSpanLayout)

// spanRecordOf returns the fields of s: in place when s is the SDK's span and spanView
// accepted its type, otherwise read through the methods into tmp.
func spanRecordOf(s sdktrace.ReadOnlySpan, view reflect.Type, tmp *spanRecord) *spanRecord {
	if view != nil && reflect.TypeOf(s) == view {
		return (*spanRecord)(reflect.ValueOf(s).UnsafePointer())
	}
	readSpan(s, tmp)
	return tmp
}

// readSpan fills r through the methods of s.
func readSpan(s sdktrace.ReadOnlySpan, r *spanRecord) {
	*r = spanRecord{
		name:                  s.Name(),
		spanContext:           s.SpanContext(),
		parent:                s.Parent(),
		spanKind:              s.SpanKind(),
		startTime:             s.StartTime(),
		endTime:               s.EndTime(),
		attributes:            s.Attributes(),
		events:                s.Events(),
		links:                 s.Links(),
		status:                s.Status(),
		childSpanCount:        s.ChildSpanCount(),
		droppedAttributeCount: s.DroppedAttributes(),
		droppedEventCount:     s.DroppedEvents(),
		droppedLinkCount:      s.DroppedLinks(),
		resource:              s.Resource(),
		instrumentationScope:  s.InstrumentationScope(),
	}
}

// checkSpanLayout makes a span through a TracerProvider, with every field set, and
// returns its type if spanRecord mirrors it: the same fields in the same order, of the
// same types at the same offsets, reading what the methods return.
func checkSpanLayout() reflect.Type {
	var got sdktrace.ReadOnlySpan
	capture := &captureProcessor{ended: func(s sdktrace.ReadOnlySpan) { got = s }}
	res := resource.NewSchemaless(attribute.String("service.name", "layout-check"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(capture), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanLimits(sdktrace.SpanLimits{
			AttributeCountLimit: 1, EventCountLimit: 1, LinkCountLimit: 1,
			AttributePerEventCountLimit: 1, AttributePerLinkCountLimit: 1,
			AttributeValueLengthLimit: -1,
		}))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ts, _ := trace.ParseTraceState("k=v")
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceState: ts,
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	start := time.Unix(1_700_000_000, 1)
	tracer := tp.Tracer("layout-check", trace.WithInstrumentationVersion("1"))
	ctx, s := tracer.Start(ctx, "span", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(start),
		trace.WithAttributes(attribute.Int("a", 1), attribute.Int("b", 2)),
		trace.WithLinks(trace.Link{SpanContext: parent}, trace.Link{SpanContext: parent}))
	_, child := tracer.Start(ctx, "child")
	child.End()
	s.AddEvent("e1")
	s.AddEvent("e2")
	s.SetStatus(codes.Error, "failed")
	s.End(trace.WithTimestamp(start.Add(time.Second)))
	if got == nil {
		return nil
	}
	t := reflect.TypeOf(got)
	if t.Kind() != reflect.Pointer || t.Elem().PkgPath() != reflect.TypeFor[sdktrace.Event]().PkgPath() {
		return nil
	}
	e, m := t.Elem(), reflect.TypeFor[spanRecord]()
	if e.Kind() != reflect.Struct || e.Size() != m.Size() || e.NumField() != m.NumField() {
		return nil
	}
	for i := range e.NumField() {
		f, g := e.Field(i), m.Field(i)
		if f.Name != g.Name || f.Type != g.Type || f.Offset != g.Offset {
			return nil
		}
	}
	var want, tmp spanRecord
	readSpan(got, &want)
	if view := spanRecordOf(got, t, &tmp); view == &tmp || !sameSpan(view, &want) || want.droppedAttributeCount == 0 ||
		want.droppedEventCount == 0 || want.droppedLinkCount == 0 || want.childSpanCount == 0 {
		return nil
	}
	return t
}

// sameSpan reports whether a and b hold the same values.
func sameSpan(a, b *spanRecord) bool {
	return a.name == b.name && a.spanContext.Equal(b.spanContext) && a.parent.Equal(b.parent) &&
		a.spanContext.TraceState().String() == b.spanContext.TraceState().String() &&
		a.parent.TraceState().String() == b.parent.TraceState().String() &&
		a.spanKind == b.spanKind && a.startTime.Equal(b.startTime) && a.endTime.Equal(b.endTime) &&
		reflect.DeepEqual(a.attributes, b.attributes) && reflect.DeepEqual(a.events, b.events) &&
		reflect.DeepEqual(a.links, b.links) && a.status == b.status && a.childSpanCount == b.childSpanCount &&
		a.droppedAttributeCount == b.droppedAttributeCount && a.droppedEventCount == b.droppedEventCount &&
		a.droppedLinkCount == b.droppedLinkCount && a.resource == b.resource &&
		a.instrumentationScope.Name == b.instrumentationScope.Name &&
		a.instrumentationScope.Version == b.instrumentationScope.Version &&
		a.instrumentationScope.SchemaURL == b.instrumentationScope.SchemaURL &&
		a.instrumentationScope.Attributes.Equals(&b.instrumentationScope.Attributes)
}

// captureProcessor is a SpanProcessor that hands each ended span to ended.
type captureProcessor struct {
	ended func(sdktrace.ReadOnlySpan)
}

func (p *captureProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *captureProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == "span" {
		p.ended(s)
	}
}
func (p *captureProcessor) Shutdown(context.Context) error   { return nil }
func (p *captureProcessor) ForceFlush(context.Context) error { return nil }
