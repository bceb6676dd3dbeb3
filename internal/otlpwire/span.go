package otlpwire

import (
	"encoding/binary"
	"math"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Field numbers of opentelemetry.proto.trace.v1.
const (
	spanTraceID      = 1
	spanSpanID       = 2
	spanTraceState   = 3
	spanParentSpanID = 4
	spanName         = 5
	spanKind         = 6
	spanStart        = 7
	spanEnd          = 8
	spanAttributes   = 9
	spanDroppedAttrs = 10
	spanEvents       = 11
	spanDroppedEvts  = 12
	spanLinks        = 13
	spanDroppedLinks = 14
	spanStatus       = 15
	spanFlags        = 16

	eventTime         = 1
	eventName         = 2
	eventAttributes   = 3
	eventDroppedAttrs = 4

	linkTraceID      = 1
	linkSpanID       = 2
	linkTraceState   = 3
	linkAttributes   = 4
	linkDroppedAttrs = 5
	linkFlags        = 6

	statusMessage = 2
	statusCode    = 3

	// The remote-parent bits of Span.flags and Span.Link.flags.
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// spanFlagsOf returns what otlptrace writes in Span.flags and Span.Link.flags: the
// W3C trace flags, the bit saying whether the parent is remote is known, and
// that bit.
func spanFlagsOf(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if remote {
		f |= flagIsRemote
	}
	return f
}

// unixNano is a timestamp as otlptrace writes it: nanoseconds since the
// epoch, times before it as 0.
func unixNano(t time.Time) uint64 {
	return uint64(max(0, t.UnixNano())) //nolint:gosec // negative clamped
}

// clampCount is a dropped count as otlptrace writes it: clamped to uint32.
func clampCount(n int) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(min(int64(n), math.MaxUint32))
}

// statusCodeOf maps an SDK status code onto the OTLP enum (whose numbers for
// Ok and Error are the other way round).
func statusCodeOf(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

// spanKindOf maps an SDK span kind onto the OTLP enum: the numbers agree for
// the five known kinds; anything else is SPAN_KIND_UNSPECIFIED.
func spanKindOf(k trace.SpanKind) uint64 {
	if k >= trace.SpanKindInternal && k <= trace.SpanKindConsumer {
		return uint64(k)
	}
	return 0
}

// traceStateLen is the length of the W3C form of ts ("k1=v1,k2=v2").
func traceStateLen(ts trace.TraceState) int {
	n := -1
	ts.Walk(func(k, v string) bool {
		n += len(k) + len(v) + 2
		return true
	})
	return max(n, 0)
}

// appendTraceStateText appends the W3C form of ts without the allocation of
// ts.String(). The SDK only builds trace states from validated printable
// ASCII members, so the text needs no UTF-8 repair (JSON still needs two
// escapes: see appendTraceStateJSON).
func appendTraceStateText(b []byte, ts trace.TraceState) []byte {
	first := true
	ts.Walk(func(k, v string) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
		return true
	})
	return b
}

// appendTraceStateJSON appends the W3C form of ts as the inside of a JSON string. The
// SDK's trace state values may hold '"' and '\' (any printable ASCII but ',' and '='),
// which JSON escapes; nothing else in them needs an escape. It appends the text as
// appendTraceStateText does, then escapes in place, from the end, the rare bytes that
// need it.
func appendTraceStateJSON(b []byte, ts trace.TraceState) []byte {
	start := len(b)
	b = appendTraceStateText(b, ts)
	n := 0
	for _, c := range b[start:] {
		if c == '"' || c == '\\' {
			n++
		}
	}
	if n == 0 {
		return b
	}
	end := len(b)
	b = append(b, make([]byte, n)...)
	for i, j := end-1, len(b)-1; i >= start; i-- {
		c := b[i]
		b[j] = c
		j--
		if c == '"' || c == '\\' {
			b[j] = '\\'
			j--
		}
	}
	return b
}

// AppendSpan appends the body of the OTLP Span message for s, with every
// field otlptrace's transform sets, in field-number order (so the bytes equal
// proto.Marshal's for the same message), and each link's trace state
// (Span.Link field 3), which otlptrace leaves out, when it is not empty.
//
// The SDK's own spans are read in place (see spanRecord).
func AppendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	var tmp spanRecord
	return appendSpan(b, spanRecordOf(s, spanView(), &tmp))
}

// appendSpan is AppendSpan for the fields of a span.
func appendSpan(b []byte, r *spanRecord) []byte {
	sc, parent := &r.spanContext, &r.parent
	b = appendSpanHead(b, sc, parent, r.name, r.spanKind, r.startTime, r.endTime)
	b = AppendKeyValues(b, spanAttributes, r.attributes)
	b = AppendVarintField(b, spanDroppedAttrs, clampCount(r.droppedAttributeCount))
	events := r.events
	for i := range events {
		ev := &events[i]
		var m int
		b, m = OpenLen(b, spanEvents)
		b = AppendFixed64Field(b, eventTime, unixNano(ev.Time))
		b = appendShortStringField(b, eventName, ev.Name)
		b = AppendKeyValues(b, eventAttributes, ev.Attributes)
		b = AppendVarintField(b, eventDroppedAttrs, clampCount(ev.DroppedAttributeCount))
		b = CloseLen(b, m)
	}
	b = AppendVarintField(b, spanDroppedEvts, clampCount(r.droppedEventCount))
	links := r.links
	for i := range links {
		l := &links[i]
		var m int
		b, m = OpenLen(b, spanLinks)
		b = appendIDs(b, linkTraceID, &l.SpanContext)
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
			b = AppendLenHeader(b, linkTraceState, traceStateLen(ts))
			b = appendTraceStateText(b, ts)
		}
		b = AppendKeyValues(b, linkAttributes, l.Attributes)
		b = AppendVarintField(b, linkDroppedAttrs, clampCount(l.DroppedAttributeCount))
		b = appendFlags(b, linkFlags, spanFlagsOf(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()))
		b = CloseLen(b, m)
	}
	b = AppendVarintField(b, spanDroppedLinks, clampCount(r.droppedLinkCount))
	// The status is always present, even when unset.
	st := &r.status
	code := statusCodeOf(st.Code)
	if st.Description == "" {
		if code == 0 {
			b = append(b, spanStatus<<3|wireBytes, 0)
		} else {
			b = append(b, spanStatus<<3|wireBytes, 2, statusCode<<3|wireVarint, byte(code))
		}
	} else {
		var m int
		b, m = OpenLen(b, spanStatus)
		b = AppendStringField(b, statusMessage, st.Description)
		b = AppendVarintField(b, statusCode, code)
		b = CloseLen(b, m)
	}
	// Span.flags is field 16: a two-byte tag.
	f := spanFlagsOf(sc.TraceFlags(), parent.IsRemote())
	return append(b, spanFlags<<3|wireFixed32|0x80, spanFlags>>4, byte(f), byte(f>>8), byte(f>>16), byte(f>>24))
}

// appendSpanHead appends the Span fields numbered 1 to 8: trace and span ID,
// trace state, parent span ID, name, kind, start and end time.
func appendSpanHead(b []byte, sc, parent *trace.SpanContext, name string, kind trace.SpanKind, start, end time.Time) []byte {
	b = appendIDs(b, spanTraceID, sc)
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = AppendLenHeader(b, spanTraceState, traceStateLen(ts))
		b = appendTraceStateText(b, ts)
	}
	if psid := parent.SpanID(); psid.IsValid() {
		b = append(b, spanParentSpanID<<3|wireBytes, 8)
		b = append(b, psid[:]...)
	}
	b = appendShortStringField(b, spanName, name)
	if k := spanKindOf(kind); k != 0 {
		b = append(b, spanKind<<3|wireVarint, byte(k))
	}
	b = appendTime(b, spanStart, unixNano(start))
	return appendTime(b, spanEnd, unixNano(end))
}

// appendIDs appends the trace ID and span ID of sc as the bytes fields
// numbered field and field+1 (Span and Span.Link number them alike).
func appendIDs(b []byte, field int, sc *trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, byte(field)<<3|wireBytes, 16)
	b = append(b, tid[:]...)
	b = append(b, byte(field+1)<<3|wireBytes, 8)
	return append(b, sid[:]...)
}

// appendTime appends a fixed64 timestamp field numbered below 16 unless t is
// 0.
func appendTime(b []byte, field int, t uint64) []byte {
	if t == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint64(append(b, byte(field)<<3|wireFixed64), t)
}

// appendFlags appends a fixed32 flags field numbered below 16 unless f is 0.
func appendFlags(b []byte, field int, f uint32) []byte {
	if f == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint32(append(b, byte(field)<<3|wireFixed32), f)
}

// appendShortStringField is AppendStringField for a field numbered below
// 16, faster for the short ASCII strings names are: it writes first and
// checks the bytes written, and only for anything else (long, or not ASCII)
// takes AppendStringField's way.
func appendShortStringField(b []byte, field int, s string) []byte {
	if len(s) >= 0x80 {
		return AppendStringField(b, field, s)
	}
	if s == "" {
		return b
	}
	start := len(b)
	b = append(b, byte(field)<<3|wireBytes, byte(len(s)))
	b = append(b, s...)
	if isASCII(b[start+2:]) {
		return b
	}
	return AppendStringField(b[:start], field, s)
}

// AppendSpanJSON appends the OTLP/JSON Span object for s: the same fields as
// [AppendSpan] (a link's trace state included), with lowercase hex IDs, integer enums and decimal-string
// timestamps, default values left out.
func AppendSpanJSON(b []byte, s sdktrace.ReadOnlySpan) []byte {
	var tmp spanRecord
	return appendSpanJSON(b, spanRecordOf(s, spanView(), &tmp))
}

// appendSpanJSON is AppendSpanJSON for the fields of a span.
func appendSpanJSON(b []byte, r *spanRecord) []byte {
	sc := &r.spanContext
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, '{')
	b = AppendJSONHexMember(b, "traceId", tid[:])
	b = AppendJSONHexMember(b, "spanId", sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = append(appendJSONName(b, "traceState"), '"')
		b = append(appendTraceStateJSON(b, ts), '"')
	}
	parent := &r.parent
	if psid := parent.SpanID(); psid.IsValid() {
		b = AppendJSONHexMember(b, "parentSpanId", psid[:])
	}
	b = AppendJSONUintMember(b, "flags", uint64(spanFlagsOf(sc.TraceFlags(), parent.IsRemote())))
	b = AppendJSONStringMember(b, "name", r.name)
	b = AppendJSONUintMember(b, "kind", spanKindOf(r.spanKind))
	b = AppendJSONUint64Member(b, "startTimeUnixNano", unixNano(r.startTime))
	b = AppendJSONUint64Member(b, "endTimeUnixNano", unixNano(r.endTime))
	b = AppendJSONKeyValues(b, "attributes", r.attributes)
	b = AppendJSONUintMember(b, "droppedAttributesCount", clampCount(r.droppedAttributeCount))
	if events := r.events; len(events) > 0 {
		b = append(appendJSONName(b, "events"), '[')
		for i := range events {
			ev := &events[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = AppendJSONUint64Member(b, "timeUnixNano", unixNano(ev.Time))
			b = AppendJSONStringMember(b, "name", ev.Name)
			b = AppendJSONKeyValues(b, "attributes", ev.Attributes)
			b = AppendJSONUintMember(b, "droppedAttributesCount", clampCount(ev.DroppedAttributeCount))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = AppendJSONUintMember(b, "droppedEventsCount", clampCount(r.droppedEventCount))
	if links := r.links; len(links) > 0 {
		b = append(appendJSONName(b, "links"), '[')
		for i := range links {
			l := &links[i]
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = AppendJSONHexMember(b, "traceId", ltid[:])
			b = AppendJSONHexMember(b, "spanId", lsid[:])
			if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
				b = append(appendJSONName(b, "traceState"), '"')
				b = append(appendTraceStateJSON(b, ts), '"')
			}
			b = AppendJSONKeyValues(b, "attributes", l.Attributes)
			b = AppendJSONUintMember(b, "droppedAttributesCount", clampCount(l.DroppedAttributeCount))
			b = AppendJSONUintMember(b, "flags", uint64(spanFlagsOf(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote())))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = AppendJSONUintMember(b, "droppedLinksCount", clampCount(r.droppedLinkCount))
	st := &r.status
	b = append(appendJSONName(b, "status"), '{')
	b = AppendJSONStringMember(b, "message", st.Description)
	b = AppendJSONUintMember(b, "code", statusCodeOf(st.Code))
	return append(b, '}', '}')
}
