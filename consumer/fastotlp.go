package consumer

import (
	"errors"
	"math"
	"unicode/utf8"
	"unsafe"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// A fast path for unmarshalling OTLP protobuf traces and logs into the official
// go.opentelemetry.io/proto/otlp types, for the reading side's throughput.
//
// proto.Unmarshal allocates every message, every oneof wrapper, every string and every
// bytes field on its own: a realistic span is some sixty allocations, and allocation
// and garbage collection take most of its time. This decoder reads the same wire format
// into the same types, but
//   - counts the members of each repeated field first and takes the messages, and the
//     slices of pointers to them, from slabs: chunks of many values allocated at once;
//   - copies the request once, and takes every string and bytes field from the copy.
//
// So strings and bytes of a decoded request keep the whole request's copy alive, and
// its messages keep their slab chunks alive; all of it belongs to one request anyway.
//
// It decodes only what it knows for certain: every field of the OTLP v1 trace and logs
// messages, packed or not, in any order. Anything else (an unknown field, a field with
// the wrong wire type, a singular message or oneof given twice, which protobuf merges,
// invalid UTF-8, profiles-only fields, truncated input) makes it give up, and the caller
// falls back to proto.Unmarshal, which then gives the canonical answer or error. A fuzz
// test holds the two to proto.Equal results.

var errFallback = errors.New("consumer: fast OTLP decoder gives up")

// slab hands out values of T from chunks allocated together. The first chunk has the
// size the decoder estimated from the request's length; later ones a quarter of that,
// so that an estimate a little short wastes little.
type slab[T any] struct {
	free []T
	next int // size of the next chunk
}

func (s *slab[T]) one() *T {
	if len(s.free) == 0 {
		n := max(s.next, 4)
		s.next = max(n/4, 4)
		s.free = make([]T, n)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// ptrs hands out slices of pointers from chunks allocated together.
type ptrs[T any] struct {
	free []*T
	next int
}

func (s *ptrs[T]) take(n int) []*T {
	if n == 0 {
		return nil
	}
	if len(s.free) < n {
		c := max(n, s.next, 8)
		s.next = max(s.next/4, 8)
		s.free = make([]*T, c)
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// fastDecoder decodes one request. Not safe for concurrent use; one per request.
type fastDecoder struct {
	raw []byte // the request's copy: bytes fields alias it
	str string // the same bytes: string fields alias it

	kvs     slab[commonpb.KeyValue]
	kvPtrs  ptrs[commonpb.KeyValue]
	anys    slab[commonpb.AnyValue]
	anyPtrs ptrs[commonpb.AnyValue]
	strVals slab[commonpb.AnyValue_StringValue]
	intVals slab[commonpb.AnyValue_IntValue]
	dblVals slab[commonpb.AnyValue_DoubleValue]
	boolVal slab[commonpb.AnyValue_BoolValue]

	spans    slab[tracepb.Span]
	spanPtrs ptrs[tracepb.Span]
	events   slab[tracepb.Span_Event]
	evPtrs   ptrs[tracepb.Span_Event]
	links    slab[tracepb.Span_Link]
	linkPtrs ptrs[tracepb.Span_Link]
	statuses slab[tracepb.Status]

	logs    slab[logspb.LogRecord]
	logPtrs ptrs[logspb.LogRecord]
}

func newFastDecoder(data []byte) *fastDecoder {
	raw := make([]byte, len(data))
	copy(raw, data)
	// Strings and bytes fields share the one private copy. No byte of it is ever in both:
	// a string field's bytes are never handed out as a []byte (those are capped at
	// their own length, so appending to one reallocates), so the strings never change.
	d := &fastDecoder{raw: raw}
	if len(raw) > 0 {
		d.str = unsafe.String(&raw[0], len(raw))
	}
	// First chunks sized for telemetry of typical density, so that most requests take
	// one chunk of each kind and little is wasted: an attribute takes some 50 bytes on
	// the wire, a span some 500, a log record some 200.
	n := len(data)
	d.kvs.next, d.kvPtrs.next = n/50, n/50
	d.anys.next, d.strVals.next = n/50, n/56
	d.spans.next, d.spanPtrs.next, d.statuses.next = n/512, n/512, n/512
	d.events.next, d.evPtrs.next, d.links.next, d.linkPtrs.next = n/1024, n/1024, n/1024, n/1024
	d.logs.next, d.logPtrs.next = n/256, n/256
	return d
}

// fastUnmarshalTraces decodes an ExportTraceServiceRequest, or returns errFallback.
func fastUnmarshalTraces(data []byte, m *coltracepb.ExportTraceServiceRequest) error {
	d := newFastDecoder(data)
	n, ok := d.count1(0, len(d.raw), 1)
	if !ok {
		return errFallback
	}
	m.ResourceSpans = make([]*tracepb.ResourceSpans, 0, n)
	ok = d.fields(0, len(d.raw), func(num protowire.Number, typ protowire.Type, s, e int) bool {
		if num != 1 || typ != protowire.BytesType {
			return false
		}
		rs := &tracepb.ResourceSpans{}
		m.ResourceSpans = append(m.ResourceSpans, rs)
		return d.resourceSpans(s, e, rs)
	})
	if !ok {
		return errFallback
	}
	return nil
}

// fastUnmarshalLogs decodes an ExportLogsServiceRequest, or returns errFallback.
func fastUnmarshalLogs(data []byte, m *collogspb.ExportLogsServiceRequest) error {
	d := newFastDecoder(data)
	n, ok := d.count1(0, len(d.raw), 1)
	if !ok {
		return errFallback
	}
	m.ResourceLogs = make([]*logspb.ResourceLogs, 0, n)
	ok = d.fields(0, len(d.raw), func(num protowire.Number, typ protowire.Type, s, e int) bool {
		if num != 1 || typ != protowire.BytesType {
			return false
		}
		rl := &logspb.ResourceLogs{}
		m.ResourceLogs = append(m.ResourceLogs, rl)
		return d.resourceLogs(s, e, rl)
	})
	if !ok {
		return errFallback
	}
	return nil
}

// fields walks the fields of the message in raw[s:e], calling f with each field's
// number, wire type and value: for BytesType the bounds of its content, for VarintType,
// Fixed64Type and Fixed32Type the bounds of the encoded value. It returns false on
// malformed input or when f does.
func (d *fastDecoder) fields(s, e int, f func(num protowire.Number, typ protowire.Type, vs, ve int) bool) bool {
	for i := s; i < e; {
		num, typ, n := protowire.ConsumeTag(d.raw[i:e])
		if n < 0 {
			return false
		}
		i += n
		var vs, ve int
		switch typ {
		case protowire.BytesType:
			l, n := protowire.ConsumeVarint(d.raw[i:e])
			if n < 0 || l > uint64(e-i-n) {
				return false
			}
			vs, ve = i+n, i+n+int(l)
		case protowire.VarintType:
			_, n := protowire.ConsumeVarint(d.raw[i:e])
			if n < 0 {
				return false
			}
			vs, ve = i, i+n
		case protowire.Fixed64Type:
			if e-i < 8 {
				return false
			}
			vs, ve = i, i+8
		case protowire.Fixed32Type:
			if e-i < 4 {
				return false
			}
			vs, ve = i, i+4
		default:
			return false
		}
		if !f(num, typ, vs, ve) {
			return false
		}
		i = ve
	}
	return true
}

// countN counts, in the message raw[s:e], the fields of each number in nums.
func (d *fastDecoder) countN(s, e int, nums ...protowire.Number) ([4]int, bool) {
	var c [4]int
	for i := s; i < e; {
		num, typ, n := protowire.ConsumeTag(d.raw[i:e])
		if n < 0 {
			return c, false
		}
		i += n
		for k, want := range nums {
			if num == want {
				c[k]++
			}
		}
		n = protowire.ConsumeFieldValue(num, typ, d.raw[i:e])
		if n < 0 {
			return c, false
		}
		i += n
	}
	return c, true
}

func (d *fastDecoder) count1(s, e int, num protowire.Number) (int, bool) {
	c, ok := d.countN(s, e, num)
	return c[0], ok
}

func (d *fastDecoder) varint(s, e int) uint64 {
	v, _ := protowire.ConsumeVarint(d.raw[s:e])
	return v
}

func (d *fastDecoder) fixed64(s int) uint64 {
	v, _ := protowire.ConsumeFixed64(d.raw[s : s+8])
	return v
}

func (d *fastDecoder) fixed32(s int) uint32 {
	v, _ := protowire.ConsumeFixed32(d.raw[s : s+4])
	return v
}

// string returns raw[s:e] as a string, false if it is not valid UTF-8 (proto3 refuses
// such strings).
func (d *fastDecoder) string(s, e int) (string, bool) {
	v := d.str[s:e]
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return v, utf8.ValidString(v[i:])
		}
	}
	return v, true
}

func (d *fastDecoder) bytes(s, e int) []byte { return d.raw[s:e:e] }

// keyValues decodes count KeyValue fields of number num from the message raw[s:e].
func (d *fastDecoder) keyValueSlice(n int) []*commonpb.KeyValue {
	return d.kvPtrs.take(n)
}

// keyValue decodes a KeyValue: the hottest message, so read without the general walk.
// The usual layout, key then value, each with a one-byte tag and length, takes the
// direct way; anything else goes through fields.
func (d *fastDecoder) keyValue(s, e int) (*commonpb.KeyValue, bool) {
	kv := d.kvs.one()
	b := d.raw
	if e-s >= 4 && b[s] == 1<<3|2 && b[s+1] < 0x80 {
		ks, ke := s+2, s+2+int(b[s+1])
		if ke+2 <= e && b[ke] == 2<<3|2 && b[ke+1] < 0x80 && ke+2+int(b[ke+1]) == e {
			var ok bool
			if kv.Key, ok = d.string(ks, ke); !ok {
				return kv, false
			}
			kv.Value, ok = d.anyValue(ke+2, e)
			return kv, ok
		}
	}
	ok := d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var ok bool
			kv.Key, ok = d.string(vs, ve)
			return ok
		case num == 2 && typ == protowire.BytesType && kv.Value == nil:
			var ok bool
			kv.Value, ok = d.anyValue(vs, ve)
			return ok
		}
		return false // key_strindex (profiles) and anything unknown
	})
	return kv, ok
}

func (d *fastDecoder) anyValue(s, e int) (*commonpb.AnyValue, bool) {
	av := d.anys.one()
	b := d.raw
	if e-s >= 2 && b[s] == 1<<3|2 && b[s+1] < 0x80 && s+2+int(b[s+1]) == e {
		// The usual value: one short string.
		str, ok := d.string(s+2, e)
		w := d.strVals.one()
		w.StringValue = str
		av.Value = w
		return av, ok
	}
	ok := d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		if av.Value != nil {
			return false // a oneof given twice: protobuf's merge rules apply
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			str, ok := d.string(vs, ve)
			w := d.strVals.one()
			w.StringValue = str
			av.Value = w
			return ok
		case num == 2 && typ == protowire.VarintType:
			w := d.boolVal.one()
			w.BoolValue = d.varint(vs, ve) != 0
			av.Value = w
		case num == 3 && typ == protowire.VarintType:
			w := d.intVals.one()
			w.IntValue = int64(d.varint(vs, ve))
			av.Value = w
		case num == 4 && typ == protowire.Fixed64Type:
			w := d.dblVals.one()
			w.DoubleValue = math.Float64frombits(d.fixed64(vs))
			av.Value = w
		case num == 5 && typ == protowire.BytesType:
			n, ok := d.count1(vs, ve, 1)
			if !ok {
				return false
			}
			arr := &commonpb.ArrayValue{Values: d.anyPtrs.take(n)[:0]}
			av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: arr}
			return d.fields(vs, ve, func(num protowire.Number, typ protowire.Type, s, e int) bool {
				if num != 1 || typ != protowire.BytesType {
					return false
				}
				v, ok := d.anyValue(s, e)
				arr.Values = append(arr.Values, v)
				return ok
			})
		case num == 6 && typ == protowire.BytesType:
			n, ok := d.count1(vs, ve, 1)
			if !ok {
				return false
			}
			list := &commonpb.KeyValueList{Values: d.keyValueSlice(n)[:0]}
			av.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: list}
			return d.fields(vs, ve, func(num protowire.Number, typ protowire.Type, s, e int) bool {
				if num != 1 || typ != protowire.BytesType {
					return false
				}
				kv, ok := d.keyValue(s, e)
				list.Values = append(list.Values, kv)
				return ok
			})
		case num == 7 && typ == protowire.BytesType:
			av.Value = &commonpb.AnyValue_BytesValue{BytesValue: d.bytes(vs, ve)}
		default:
			return false // string_value_strindex (profiles) and anything unknown
		}
		return true
	})
	return av, ok
}

// appendKeyValue decodes one KeyValue into *list.
func (d *fastDecoder) appendKeyValue(list *[]*commonpb.KeyValue, s, e int) bool {
	kv, ok := d.keyValue(s, e)
	*list = append(*list, kv)
	return ok
}

func (d *fastDecoder) resource(s, e int) (*resourcepb.Resource, bool) {
	r := &resourcepb.Resource{}
	c, ok := d.countN(s, e, 1)
	if !ok {
		return r, false
	}
	r.Attributes = d.keyValueSlice(c[0])[:0]
	ok = d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		switch {
		case num == 1 && typ == protowire.BytesType:
			return d.appendKeyValue(&r.Attributes, vs, ve)
		case num == 2 && typ == protowire.VarintType:
			r.DroppedAttributesCount = uint32(d.varint(vs, ve))
			return true
		}
		return false // entity_refs (rare, new) and anything unknown
	})
	return r, ok
}

func (d *fastDecoder) scope(s, e int) (*commonpb.InstrumentationScope, bool) {
	sc := &commonpb.InstrumentationScope{}
	c, ok := d.countN(s, e, 3)
	if !ok {
		return sc, false
	}
	sc.Attributes = d.keyValueSlice(c[0])[:0]
	ok = d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType:
			sc.Name, ok = d.string(vs, ve)
		case num == 2 && typ == protowire.BytesType:
			sc.Version, ok = d.string(vs, ve)
		case num == 3 && typ == protowire.BytesType:
			ok = d.appendKeyValue(&sc.Attributes, vs, ve)
		case num == 4 && typ == protowire.VarintType:
			sc.DroppedAttributesCount, ok = uint32(d.varint(vs, ve)), true
		}
		return ok
	})
	return sc, ok
}

func (d *fastDecoder) resourceSpans(s, e int, rs *tracepb.ResourceSpans) bool {
	n, ok := d.count1(s, e, 2)
	if !ok {
		return false
	}
	rs.ScopeSpans = make([]*tracepb.ScopeSpans, 0, n)
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType && rs.Resource == nil:
			rs.Resource, ok = d.resource(vs, ve)
		case num == 2 && typ == protowire.BytesType:
			ss := &tracepb.ScopeSpans{}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
			ok = d.scopeSpans(vs, ve, ss)
		case num == 3 && typ == protowire.BytesType:
			rs.SchemaUrl, ok = d.string(vs, ve)
		}
		return ok
	})
}

func (d *fastDecoder) scopeSpans(s, e int, ss *tracepb.ScopeSpans) bool {
	n, ok := d.count1(s, e, 2)
	if !ok {
		return false
	}
	ss.Spans = d.spanPtrs.take(n)[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType && ss.Scope == nil:
			ss.Scope, ok = d.scope(vs, ve)
		case num == 2 && typ == protowire.BytesType:
			sp := d.spans.one()
			ss.Spans = append(ss.Spans, sp)
			ok = d.span(vs, ve, sp)
		case num == 3 && typ == protowire.BytesType:
			ss.SchemaUrl, ok = d.string(vs, ve)
		}
		return ok
	})
}

func (d *fastDecoder) span(s, e int, sp *tracepb.Span) bool {
	c, ok := d.countN(s, e, 9, 11, 13)
	if !ok {
		return false
	}
	sp.Attributes = d.keyValueSlice(c[0])[:0]
	sp.Events = d.evPtrs.take(c[1])[:0]
	sp.Links = d.linkPtrs.take(c[2])[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		ok := true
		switch typ {
		case protowire.BytesType:
			switch num {
			case 1:
				sp.TraceId = d.bytes(vs, ve)
			case 2:
				sp.SpanId = d.bytes(vs, ve)
			case 3:
				sp.TraceState, ok = d.string(vs, ve)
			case 4:
				sp.ParentSpanId = d.bytes(vs, ve)
			case 5:
				sp.Name, ok = d.string(vs, ve)
			case 9:
				ok = d.appendKeyValue(&sp.Attributes, vs, ve)
			case 11:
				ev := d.events.one()
				sp.Events = append(sp.Events, ev)
				ok = d.event(vs, ve, ev)
			case 13:
				l := d.links.one()
				sp.Links = append(sp.Links, l)
				ok = d.link(vs, ve, l)
			case 15:
				if sp.Status != nil {
					return false
				}
				sp.Status = d.statuses.one()
				ok = d.status(vs, ve, sp.Status)
			default:
				return false
			}
		case protowire.VarintType:
			v := d.varint(vs, ve)
			switch num {
			case 6:
				sp.Kind = tracepb.Span_SpanKind(int32(v))
			case 10:
				sp.DroppedAttributesCount = uint32(v)
			case 12:
				sp.DroppedEventsCount = uint32(v)
			case 14:
				sp.DroppedLinksCount = uint32(v)
			default:
				return false
			}
		case protowire.Fixed64Type:
			switch num {
			case 7:
				sp.StartTimeUnixNano = d.fixed64(vs)
			case 8:
				sp.EndTimeUnixNano = d.fixed64(vs)
			default:
				return false
			}
		case protowire.Fixed32Type:
			if num != 16 {
				return false
			}
			sp.Flags = d.fixed32(vs)
		default:
			return false
		}
		return ok
	})
}

func (d *fastDecoder) event(s, e int, ev *tracepb.Span_Event) bool {
	n, ok := d.count1(s, e, 3)
	if !ok {
		return false
	}
	ev.Attributes = d.keyValueSlice(n)[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			ev.TimeUnixNano, ok = d.fixed64(vs), true
		case num == 2 && typ == protowire.BytesType:
			ev.Name, ok = d.string(vs, ve)
		case num == 3 && typ == protowire.BytesType:
			ok = d.appendKeyValue(&ev.Attributes, vs, ve)
		case num == 4 && typ == protowire.VarintType:
			ev.DroppedAttributesCount, ok = uint32(d.varint(vs, ve)), true
		}
		return ok
	})
}

func (d *fastDecoder) link(s, e int, l *tracepb.Span_Link) bool {
	n, ok := d.count1(s, e, 4)
	if !ok {
		return false
	}
	l.Attributes = d.keyValueSlice(n)[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType:
			l.TraceId, ok = d.bytes(vs, ve), true
		case num == 2 && typ == protowire.BytesType:
			l.SpanId, ok = d.bytes(vs, ve), true
		case num == 3 && typ == protowire.BytesType:
			l.TraceState, ok = d.string(vs, ve)
		case num == 4 && typ == protowire.BytesType:
			ok = d.appendKeyValue(&l.Attributes, vs, ve)
		case num == 5 && typ == protowire.VarintType:
			l.DroppedAttributesCount, ok = uint32(d.varint(vs, ve)), true
		case num == 6 && typ == protowire.Fixed32Type:
			l.Flags, ok = d.fixed32(vs), true
		}
		return ok
	})
}

func (d *fastDecoder) status(s, e int, st *tracepb.Status) bool {
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 2 && typ == protowire.BytesType:
			st.Message, ok = d.string(vs, ve)
		case num == 3 && typ == protowire.VarintType:
			st.Code, ok = tracepb.Status_StatusCode(int32(d.varint(vs, ve))), true
		}
		return ok
	})
}

func (d *fastDecoder) resourceLogs(s, e int, rl *logspb.ResourceLogs) bool {
	n, ok := d.count1(s, e, 2)
	if !ok {
		return false
	}
	rl.ScopeLogs = make([]*logspb.ScopeLogs, 0, n)
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType && rl.Resource == nil:
			rl.Resource, ok = d.resource(vs, ve)
		case num == 2 && typ == protowire.BytesType:
			sl := &logspb.ScopeLogs{}
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
			ok = d.scopeLogs(vs, ve, sl)
		case num == 3 && typ == protowire.BytesType:
			rl.SchemaUrl, ok = d.string(vs, ve)
		}
		return ok
	})
}

func (d *fastDecoder) scopeLogs(s, e int, sl *logspb.ScopeLogs) bool {
	n, ok := d.count1(s, e, 2)
	if !ok {
		return false
	}
	sl.LogRecords = d.logPtrs.take(n)[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		var ok bool
		switch {
		case num == 1 && typ == protowire.BytesType && sl.Scope == nil:
			sl.Scope, ok = d.scope(vs, ve)
		case num == 2 && typ == protowire.BytesType:
			lr := d.logs.one()
			sl.LogRecords = append(sl.LogRecords, lr)
			ok = d.logRecord(vs, ve, lr)
		case num == 3 && typ == protowire.BytesType:
			sl.SchemaUrl, ok = d.string(vs, ve)
		}
		return ok
	})
}

func (d *fastDecoder) logRecord(s, e int, lr *logspb.LogRecord) bool {
	n, ok := d.count1(s, e, 6)
	if !ok {
		return false
	}
	lr.Attributes = d.keyValueSlice(n)[:0]
	return d.fields(s, e, func(num protowire.Number, typ protowire.Type, vs, ve int) bool {
		ok := true
		switch typ {
		case protowire.BytesType:
			switch num {
			case 3:
				lr.SeverityText, ok = d.string(vs, ve)
			case 5:
				if lr.Body != nil {
					return false
				}
				lr.Body, ok = d.anyValue(vs, ve)
			case 6:
				ok = d.appendKeyValue(&lr.Attributes, vs, ve)
			case 9:
				lr.TraceId = d.bytes(vs, ve)
			case 10:
				lr.SpanId = d.bytes(vs, ve)
			case 12:
				lr.EventName, ok = d.string(vs, ve)
			default:
				return false
			}
		case protowire.VarintType:
			v := d.varint(vs, ve)
			switch num {
			case 2:
				lr.SeverityNumber = logspb.SeverityNumber(int32(v))
			case 7:
				lr.DroppedAttributesCount = uint32(v)
			default:
				return false
			}
		case protowire.Fixed64Type:
			switch num {
			case 1:
				lr.TimeUnixNano = d.fixed64(vs)
			case 11:
				lr.ObservedTimeUnixNano = d.fixed64(vs)
			default:
				return false
			}
		case protowire.Fixed32Type:
			if num != 8 {
				return false
			}
			lr.Flags = d.fixed32(vs)
		default:
			return false
		}
		return ok
	})
}
