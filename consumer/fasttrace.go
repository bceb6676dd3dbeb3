package consumer

import (
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// traceSlabs are an arena's slabs of trace messages.
type traceSlabs struct {
	traceReqs slab[coltracepb.ExportTraceServiceRequest]
	rss       slab[tracepb.ResourceSpans]
	rsPtrs    slab[*tracepb.ResourceSpans]
	sss       slab[tracepb.ScopeSpans]
	ssPtrs    slab[*tracepb.ScopeSpans]
	spans     slab[tracepb.Span]
	spanPtrs  slab[*tracepb.Span]
	events    slab[tracepb.Span_Event]
	eventPtrs slab[*tracepb.Span_Event]
	links     slab[tracepb.Span_Link]
	linkPtrs  slab[*tracepb.Span_Link]
	statuses  slab[tracepb.Status]
}

func (s *traceSlabs) init(all []slabber) []slabber {
	return append(all, s.traceReqs.init(perGroup), s.rss.init(perGroup), s.rsPtrs.init(perGroup), s.sss.init(perGroup), s.ssPtrs.init(perGroup),
		s.spans.init(perSpan), s.spanPtrs.init(perSpan), s.events.init(perRare), s.eventPtrs.init(perRare),
		s.links.init(perRare), s.linkPtrs.init(perRare), s.statuses.init(perSpan))
}

// fastUnmarshalTraces decodes an ExportTraceServiceRequest with values from arena a
// (nil: a pooled one), or returns errFallback.
func fastUnmarshalTraces(a *otlpArena, data []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	return decodeSignal(a, data, traceLevels)
}

func traceLevels(a *otlpArena) levels[coltracepb.ExportTraceServiceRequest, tracepb.ResourceSpans, tracepb.ScopeSpans, tracepb.Span] {
	return levels[coltracepb.ExportTraceServiceRequest, tracepb.ResourceSpans, tracepb.ScopeSpans, tracepb.Span]{
		&a.traceReqs, &a.rss, &a.rsPtrs, &a.sss, &a.ssPtrs, &a.spans, &a.spanPtrs, (*fastDecoder).span,
		func(m *coltracepb.ExportTraceServiceRequest) *[]*tracepb.ResourceSpans { return &m.ResourceSpans },
		func(g *tracepb.ResourceSpans) (**resourcepb.Resource, *[]*tracepb.ScopeSpans, *string) {
			return &g.Resource, &g.ScopeSpans, &g.SchemaUrl
		},
		func(s *tracepb.ScopeSpans) (**commonpb.InstrumentationScope, *[]*tracepb.Span, *string) {
			return &s.Scope, &s.Spans, &s.SchemaUrl
		},
	}
}

func (d *fastDecoder) span(sp *tracepb.Span, in pbField) bool {
	// The lists grow in locals, and are set once the span is done.
	var attrs []*commonpb.KeyValue
	var events []*tracepb.Span_Event
	var links []*tracepb.Span_Link
	var ev *tracepb.Span_Event
	var l *tracepb.Span_Link
	a := d.a
	ok := d.each(in, func(f pbField, at int) bool {
		ok := true
		switch f.key {
		case 1<<3 | bt:
			sp.TraceId = d.bytes(f)
		case 2<<3 | bt:
			sp.SpanId = d.bytes(f)
		case 3<<3 | bt:
			ok = d.setString(&sp.TraceState, f)
		case 4<<3 | bt:
			sp.ParentSpanId = d.bytes(f)
		case 5<<3 | bt:
			ok = d.setString(&sp.Name, f)
		case 6<<3 | vt:
			sp.Kind = tracepb.Span_SpanKind(int32(f.v))
		case 7<<3 | f64:
			sp.StartTimeUnixNano = f.v
		case 8<<3 | f64:
			sp.EndTimeUnixNano = f.v
		case 9<<3 | bt:
			ok = d.addKeyValue(&attrs, f, at, in.ve)
		case 10<<3 | vt:
			sp.DroppedAttributesCount = uint32(f.v)
		case 11<<3 | bt:
			events, ev = appendOne(d, &a.events, &a.eventPtrs, events, at, in.ve)
			ok = d.event(ev, f)
		case 12<<3 | vt:
			sp.DroppedEventsCount = uint32(f.v)
		case 13<<3 | bt:
			links, l = appendOne(d, &a.links, &a.linkPtrs, links, at, in.ve)
			ok = d.link(l, f)
		case 14<<3 | vt:
			sp.DroppedLinksCount = uint32(f.v)
		case 15<<3 | bt:
			if sp.Status != nil {
				return false // merged by protobuf
			}
			sp.Status = a.statuses.one(d.at(at))
			ok = d.status(sp.Status, f)
		case 16<<3 | f32:
			sp.Flags = uint32(f.v)
		default:
			return false
		}
		return ok
	})
	sp.Attributes, sp.Events, sp.Links = attrs, events, links
	return ok
}

func (d *fastDecoder) event(ev *tracepb.Span_Event, in pbField) bool {
	return d.each(in, func(f pbField, at int) bool {
		ok := true
		switch f.key {
		case 1<<3 | f64:
			ev.TimeUnixNano = f.v
		case 2<<3 | bt:
			ok = d.setString(&ev.Name, f)
		case 3<<3 | bt:
			ok = d.addKeyValue(&ev.Attributes, f, at, in.ve)
		case 4<<3 | vt:
			ev.DroppedAttributesCount = uint32(f.v)
		default:
			return false
		}
		return ok
	})
}

func (d *fastDecoder) link(l *tracepb.Span_Link, in pbField) bool {
	return d.each(in, func(f pbField, at int) bool {
		ok := true
		switch f.key {
		case 1<<3 | bt:
			l.TraceId = d.bytes(f)
		case 2<<3 | bt:
			l.SpanId = d.bytes(f)
		case 3<<3 | bt:
			ok = d.setString(&l.TraceState, f)
		case 4<<3 | bt:
			ok = d.addKeyValue(&l.Attributes, f, at, in.ve)
		case 5<<3 | vt:
			l.DroppedAttributesCount = uint32(f.v)
		case 6<<3 | f32:
			l.Flags = uint32(f.v)
		default:
			return false
		}
		return ok
	})
}

func (d *fastDecoder) status(st *tracepb.Status, in pbField) bool {
	return d.each(in, func(f pbField, _ int) bool {
		switch f.key {
		case 2<<3 | bt:
			return d.setString(&st.Message, f)
		case 3<<3 | vt:
			st.Code = tracepb.Status_StatusCode(int32(f.v))
			return true
		}
		return false
	})
}
