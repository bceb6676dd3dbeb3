package consumer

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"unicode/utf8"
	"unsafe"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// A fast path for unmarshalling OTLP protobuf requests (traces, metrics and logs) into
// the official go.opentelemetry.io/proto/otlp types, for the reading side's throughput.
//
// proto.Unmarshal allocates every message, every oneof wrapper, every string and every
// bytes field on its own: a realistic span is some sixty allocations, and allocation
// and garbage collection take most of its time. This decoder reads the same wire format
// into the same types in one pass, but
//   - takes every message and oneof wrapper from a slab: a chunk of many values of one
//     type allocated at once, shared by all the requests of a batch (an otlpArena);
//   - takes the slice of pointers of a repeated field from a slab of pointers, sized by
//     counting the run of that field's elements when it meets the first one (encoders
//     write a repeated field's elements one after the other);
//   - copies the request once, into a slab of bytes, and takes every string and bytes
//     field from that copy. Nobody else can change the copy, so strings over it are
//     safe.
//
// So a batch takes a few dozen allocations whatever its size. A decoded request keeps
// the chunks it took values from alive, and so the other requests' values in them: all
// of it belongs to one batch anyway. Batch.Release hands the chunks back for reuse.
//
// It decodes only what it knows for certain: every field of the OTLP v1 trace, metric
// and log messages, packed or not, in any order. Anything else (an unknown field, a
// field with the wrong wire type, a singular message or oneof given twice, which
// protobuf merges, invalid UTF-8, profiles-only fields, nesting deeper than
// maxFastDepth, truncated input) makes it give up, and the caller falls back to
// proto.Unmarshal, which then gives the canonical answer or error. Fuzz tests hold the
// two to proto.Equal results.

var errFallback = errors.New("consumer: fast OTLP decoder gives up")

// maxFastDepth bounds the nesting of AnyValue arrays and lists the fast decoder follows;
// deeper values go to proto.Unmarshal.
const maxFastDepth = 32

// slabber is any slab, for resetting all of an arena's.
type slabber interface {
	reset(reuse bool)
}

// pos is where the decoder is in its batch, for sizing chunks: how many payload bytes
// it has decoded and how many are left.
type pos struct{ done, left int }

// slab hands out values of T from chunks allocated together. The first chunks of an
// arena double in size, but hold no more values than the bytes left could need at per
// wire bytes a value; once some values have been handed out, a chunk holds what the
// bytes left need at the rate seen so far, and a little more. Either way a chunk holds
// no more values than what was asked or the bytes left, so the memory allocated is
// bounded by the size of the input.
type slab[T any] struct {
	cur    []T // the chunk values are handed out from
	used   int // values of cur handed out
	given  int // values handed out from earlier chunks since the last reset
	total  int // values in all the chunks allocated
	chunks [][]T
	next   int // the chunk of chunks to use next (kept from before a reset)
	per    int
}

func (s *slab[T]) init(per int) slabber {
	s.per = per
	return s
}

// one returns a zero value of T.
func (s *slab[T]) one(p pos) *T {
	if s.used < len(s.cur) {
		v := &s.cur[s.used]
		s.used++
		return v
	}
	return s.oneSlow(p)
}

func (s *slab[T]) oneSlow(p pos) *T {
	s.grow(1, p)
	s.used = 1
	return &s.cur[0]
}

// take returns an empty slice with room for n values (nil for none).
func (s *slab[T]) take(n int, p pos) []T {
	if n <= 0 {
		return nil
	}
	if len(s.cur)-s.used < n {
		s.grow(n, p)
	}
	out := s.cur[s.used : s.used : s.used+n]
	s.used += n
	return out
}

func (s *slab[T]) grow(n int, p pos) {
	s.given += s.used
	s.used = 0
	for s.next < len(s.chunks) {
		c := s.chunks[s.next]
		s.next++
		if len(c) >= n {
			s.cur, s.used = c, 0
			return
		}
	}
	size := min(max(8, s.total), p.left/s.per)
	if s.given >= 16 && p.done > 0 {
		size = s.given*p.left/p.done + s.given/32
	}
	// Every value takes at least a byte of the input: never more than the bytes left.
	size = max(n, min(size, p.left), 1)
	c := make([]T, size)
	s.total += size
	s.chunks = append(s.chunks, c)
	s.next = len(s.chunks)
	s.cur, s.used = c, 0
}

// reset prepares the slab for another batch: with reuse, the values handed out so far
// are cleared and their chunks handed out again (nobody may use those values any
// more), unless they are many times what the batch used; without, the chunks are
// forgotten (they belong to the decoded messages).
func (s *slab[T]) reset(reuse bool) {
	if !reuse || s.total > 4*(s.given+s.used)+4096 {
		// Memory kept for reuse stays within a few times what the last batch used.
		*s = slab[T]{per: s.per}
		return
	}
	if s.next > 0 {
		for _, c := range s.chunks[:s.next-1] {
			clear(c)
		}
		clear(s.cur[:s.used])
	}
	s.cur, s.used, s.given, s.next = nil, 0, 0, 0
}

// otlpArena holds the slabs the fast decoder takes values from, for one batch.
type otlpArena struct {
	start int // payload bytes decoded in the batch before the current request
	ahead int // payload bytes still to decode in the batch after the current request
	slabs []slabber
	dec   fastDecoder // the decoder of the current request

	// Kept for reuse by Batch.Release: a batch's Records, and the Reader's scratch list
	// of user records.
	records []Record
	users   []UserRecord

	raw      slab[byte]
	kvs      slab[commonpb.KeyValue]
	kvPtrs   slab[*commonpb.KeyValue]
	anys     slab[commonpb.AnyValue]
	anyPtrs  slab[*commonpb.AnyValue]
	strVals  slab[commonpb.AnyValue_StringValue]
	boolVals slab[commonpb.AnyValue_BoolValue]
	intVals  slab[commonpb.AnyValue_IntValue]
	dblVals  slab[commonpb.AnyValue_DoubleValue]
	bytesW   slab[commonpb.AnyValue_BytesValue]
	arrays   slab[commonpb.ArrayValue]
	arrayW   slab[commonpb.AnyValue_ArrayValue]
	kvLists  slab[commonpb.KeyValueList]
	kvListW  slab[commonpb.AnyValue_KvlistValue]
	resource slab[resourcepb.Resource]
	scopes   slab[commonpb.InstrumentationScope]

	traceSlabs
	logSlabs
	metricSlabs
}

// Wire bytes a value typically takes, for sizing the chunks of each slab: a chunk
// never holds more values than the bytes left could hold at this rate (the first chunks
// are smaller still).
const (
	perAttr  = 40   // a KeyValue, its AnyValue and string
	perRare  = 200  // values of other types
	perGroup = 2000 // resources, scopes and their groups
	perSpan  = 400
	perLog   = 150
	perPoint = 60
)

func newOTLPArena() *otlpArena {
	a := &otlpArena{}
	a.slabs = []slabber{a.raw.init(1), a.kvs.init(perAttr), a.kvPtrs.init(perAttr), a.anys.init(perAttr),
		a.anyPtrs.init(perRare), a.strVals.init(perAttr), a.boolVals.init(perRare), a.intVals.init(perRare),
		a.dblVals.init(perRare), a.bytesW.init(perRare), a.arrays.init(perRare), a.arrayW.init(perRare),
		a.kvLists.init(perRare), a.kvListW.init(perRare), a.resource.init(perGroup), a.scopes.init(perGroup)}
	a.slabs = a.traceSlabs.init(a.slabs)
	a.slabs = a.logSlabs.init(a.slabs)
	a.slabs = a.metricSlabs.init(a.slabs)
	return a
}

// reset prepares the arena for another batch (see slab.reset).
func (a *otlpArena) reset(reuse bool) {
	for _, s := range a.slabs {
		s.reset(reuse)
	}
	a.start, a.ahead = 0, 0
	a.dec = fastDecoder{}
	clear(a.users[:cap(a.users)])
}

// arenaPool holds arenas without chunks, for requests decoded one at a time.
var arenaPool = sync.Pool{New: func() any { return newOTLPArena() }}

// fastDecoder decodes one request. Its arena holds it.
type fastDecoder struct {
	a     *otlpArena
	raw   []byte // the request's copy: bytes fields alias it
	str   string // the same bytes: string fields alias it
	start int    // a.start and a.ahead
	ahead int
}

// newFastDecoder returns a's decoder, set to decode a copy of data.
func newFastDecoder(a *otlpArena, data []byte) *fastDecoder {
	raw := a.raw.take(len(data), pos{a.start, len(data) + a.ahead})[:len(data)]
	copy(raw, data)
	a.dec = fastDecoder{a: a, raw: raw, start: a.start, ahead: a.ahead}
	if len(raw) > 0 {
		a.dec.str = unsafe.String(&raw[0], len(raw))
	}
	return &a.dec
}

// at is where offset i of the request is in the batch.
func (d *fastDecoder) at(i int) pos { return pos{d.start + i, len(d.raw) - i + d.ahead} }

// pbField is one field read by next.
type pbField struct {
	key    uint64 // num<<3 | wire type, as its tag says
	v      uint64 // the value of a varint, fixed64 or fixed32 field
	vs, ve int    // the bounds of its value in raw: of a bytes field, of its content
}

// Field keys' wire types.
const (
	vt  = uint64(protowire.VarintType)
	bt  = uint64(protowire.BytesType)
	f64 = uint64(protowire.Fixed64Type)
	f32 = uint64(protowire.Fixed32Type)
)

// next reads the field at raw[i:e]. The field's end, where the next one starts, is f.ve.
// Bytes fields with a one-byte tag and length, most fields of OTLP, take a short way
// that the compiler inlines.
func (d *fastDecoder) next(i, e int) (f pbField, ok bool) {
	b := d.raw[:e]
	if i >= 0 && i+1 < len(b) {
		if c, l := b[i], b[i+1]; c < 0x80 && c&7 == 2 && c >= 8 && l < 0x80 {
			f.key, f.vs, f.ve = uint64(c), i+2, i+2+int(l)
			return f, f.ve <= len(b)
		}
	}
	return d.nextSlow(i, e)
}

func (d *fastDecoder) nextSlow(i, e int) (f pbField, ok bool) {
	b := d.raw[:e]
	if i >= len(b) {
		return f, false
	}
	if c := b[i]; c < 0x80 {
		f.key = uint64(c)
		i++
	} else {
		v, n := protowire.ConsumeVarint(b[i:])
		if n < 0 {
			return f, false
		}
		f.key = v
		i += n
	}
	if f.key < 8 {
		return f, false // field number 0, which protobuf refuses
	}
	f.vs = i
	switch f.key & 7 {
	case bt:
		v, n := protowire.ConsumeVarint(b[i:])
		if n < 0 || v > uint64(len(b)-i-n) {
			return f, false
		}
		f.vs, f.ve = i+n, i+n+int(v)
		return f, true
	case vt:
		if i < len(b) && b[i] < 0x80 {
			f.v, f.ve = uint64(b[i]), i+1
			return f, true
		}
		v, n := protowire.ConsumeVarint(b[i:])
		if n < 0 {
			return f, false
		}
		f.v, f.ve = v, i+n
		return f, true
	case f64:
		if len(b)-i < 8 {
			return f, false
		}
		f.v, f.ve = binary.LittleEndian.Uint64(b[i:]), i+8
		return f, true
	case f32:
		if len(b)-i < 4 {
			return f, false
		}
		f.v, f.ve = uint64(binary.LittleEndian.Uint32(b[i:])), i+4
		return f, true
	}
	return f, false
}

// run counts the fields that start at raw[i:e] with the same one-byte tag as the first:
// the elements of a repeated field, which encoders write one after the other.
func (d *fastDecoder) run(i, e int) int {
	b := d.raw[:e]
	if i < 0 || i >= len(b) {
		return 0
	}
	tag, n := b[i], 0
	if tag&7 != 2 {
		for i < len(b) && b[i] == tag {
			f, ok := d.nextSlow(i, e)
			if !ok {
				break
			}
			n++
			i = f.ve
		}
		return n
	}
	for i+1 < len(b) && b[i] == tag {
		l, j := int(b[i+1]), i+2
		if l >= 0x80 {
			v, k := protowire.ConsumeVarint(b[i+1:])
			if k < 0 || v > uint64(len(b)) {
				break
			}
			l, j = int(v), i+1+k
		}
		n++
		i = j + l
	}
	return n
}

// room returns list, or for a repeated field's first element (list is nil, its tag at
// raw[i]) an empty slice from s with room for the run of elements starting there.
func room[T any](d *fastDecoder, s *slab[T], list []T, i, e int) []T {
	if list != nil {
		return list
	}
	return s.take(d.run(i, e), d.at(i))
}

// hiBits has the top bit of every byte of a word set.
const hiBits = 0x8080808080808080

// validUTF8 reports whether raw[s:e] is valid UTF-8 (proto3 refuses strings that are
// not). ASCII, the usual case, is checked a word at a time; the last word of a string
// may start before it (inside raw: its tag and length come first), and its bytes before
// the string are shifted out.
func (d *fastDecoder) validUTF8(s, e int) bool {
	b := d.raw[:e]
	i := s
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&hiBits != 0 {
			return utf8.Valid(b[s:])
		}
	}
	if n := len(b) - i; n > 0 {
		if len(b) >= 8 {
			return binary.LittleEndian.Uint64(b[len(b)-8:])>>(8*(8-n))&hiBits == 0 || utf8.Valid(b[s:])
		}
		return utf8.Valid(b[i:])
	}
	return true
}

// string returns a bytes field as a string, false if it is not valid UTF-8.
func (d *fastDecoder) string(f pbField) (string, bool) {
	return d.str[f.vs:f.ve], d.validUTF8(f.vs, f.ve)
}

// setString sets *p to a string field, false if it is not valid UTF-8.
func (d *fastDecoder) setString(p *string, f pbField) bool {
	*p = d.str[f.vs:f.ve]
	return d.validUTF8(f.vs, f.ve)
}

func (d *fastDecoder) bytes(f pbField) []byte { return d.raw[f.vs:f.ve:f.ve] }

// each calls fn with every field of the message in raw[in.vs:in.ve] and the offset of
// its tag. It returns false for malformed input, or as soon as fn does.
func (d *fastDecoder) each(in pbField, fn func(f pbField, at int) bool) bool {
	for i := in.vs; i < in.ve; {
		f, ok := d.next(i, in.ve)
		if !ok || !fn(f, i) {
			return false
		}
		i = f.ve
	}
	return true
}

// appendOne takes a value from items for one element (its tag at raw[at], in a message
// ending at end) of a repeated message field, and appends it to list.
func appendOne[T any](d *fastDecoder, items *slab[T], ptrs *slab[*T], list []*T, at, end int) ([]*T, *T) {
	list = room(d, ptrs, list, at, end)
	x := items.one(d.at(at))
	return append(list, x), x
}

// addKeyValue decodes one element of a repeated KeyValue field (f, its tag at raw[at],
// in a message ending at end) into *list.
func (d *fastDecoder) addKeyValue(list *[]*commonpb.KeyValue, f pbField, at, end int) bool {
	var kv *commonpb.KeyValue
	*list, kv = appendOne(d, &d.a.kvs, &d.a.kvPtrs, *list, at, end)
	return d.keyValue(kv, f.vs, f.ve, 0)
}

// keyValue decodes a KeyValue: the hottest message, so read without the general walk
// in its usual layout, key then value, each with a one-byte tag and length.
func (d *fastDecoder) keyValue(kv *commonpb.KeyValue, s, e, depth int) bool {
	b := d.raw[:e]
	if s >= 0 && e-s >= 4 && b[s] == 1<<3|2 && b[s+1] < 0x80 {
		ks, ke := s+2, s+2+int(b[s+1])
		if ke+2 <= e && b[ke] == 2<<3|2 && b[ke+1] < 0x80 && ke+2+int(b[ke+1]) == e {
			kv.Key = d.str[ks:ke]
			av := d.a.anys.one(d.at(s))
			kv.Value = av
			return d.validUTF8(ks, ke) && d.anyValue(av, ke+2, e, depth)
		}
	}
	return d.each(pbField{vs: s, ve: e}, func(f pbField, at int) bool {
		switch {
		case f.key == 1<<3|bt:
			return d.setString(&kv.Key, f)
		case f.key == 2<<3|bt && kv.Value == nil: // a second one is merged by protobuf
			kv.Value = d.a.anys.one(d.at(at))
			return d.anyValue(kv.Value, f.vs, f.ve, depth)
		}
		return false // key_strindex (profiles) and anything unknown
	})
}

// anyValue decodes the AnyValue in raw[s:e] into av.
func (d *fastDecoder) anyValue(av *commonpb.AnyValue, s, e, depth int) bool {
	b := d.raw[:e]
	if s >= 0 && e-s >= 2 && b[s] == 1<<3|2 && b[s+1] < 0x80 && s+2+int(b[s+1]) == e {
		// The usual value: one short string.
		w := d.a.strVals.one(d.at(s))
		w.StringValue = d.str[s+2 : e]
		av.Value = w
		return d.validUTF8(s+2, e)
	}
	if depth >= maxFastDepth {
		return false
	}
	a := d.a
	return d.each(pbField{vs: s, ve: e}, func(f pbField, at int) bool {
		if av.Value != nil {
			return false // a oneof given twice: protobuf's merge rules apply
		}
		p := d.at(at)
		switch f.key {
		case 1<<3 | bt:
			w := a.strVals.one(p)
			av.Value = w
			return d.setString(&w.StringValue, f)
		case 2<<3 | vt:
			w := a.boolVals.one(p)
			w.BoolValue, av.Value = f.v != 0, w
		case 3<<3 | vt:
			w := a.intVals.one(p)
			w.IntValue, av.Value = int64(f.v), w
		case 4<<3 | f64:
			w := a.dblVals.one(p)
			w.DoubleValue, av.Value = math.Float64frombits(f.v), w
		case 5<<3 | bt:
			w := a.arrayW.one(p)
			w.ArrayValue, av.Value = a.arrays.one(p), w
			return d.arrayValue(w.ArrayValue, f, depth+1)
		case 6<<3 | bt:
			w := a.kvListW.one(p)
			w.KvlistValue, av.Value = a.kvLists.one(p), w
			return d.kvList(w.KvlistValue, f, depth+1)
		case 7<<3 | bt:
			w := a.bytesW.one(p)
			w.BytesValue, av.Value = d.bytes(f), w
		default:
			return false // string_value_strindex (profiles) and anything unknown
		}
		return true
	})
}

func (d *fastDecoder) arrayValue(arr *commonpb.ArrayValue, in pbField, depth int) bool {
	return values(d, in, &d.a.anys, &d.a.anyPtrs, &arr.Values, func(v *commonpb.AnyValue, f pbField) bool {
		return d.anyValue(v, f.vs, f.ve, depth)
	})
}

func (d *fastDecoder) kvList(list *commonpb.KeyValueList, in pbField, depth int) bool {
	return values(d, in, &d.a.kvs, &d.a.kvPtrs, &list.Values, func(kv *commonpb.KeyValue, f pbField) bool {
		return d.keyValue(kv, f.vs, f.ve, depth)
	})
}

// values decodes a message whose one field (1) is a repeated message field: each
// element, appended to *list, is decoded by item.
func values[T any](d *fastDecoder, in pbField, items *slab[T], ptrs *slab[*T], list *[]*T, item func(*T, pbField) bool) bool {
	var x *T
	return d.each(in, func(f pbField, at int) bool {
		if f.key != 1<<3|bt {
			return false
		}
		*list, x = appendOne(d, items, ptrs, *list, at, in.ve)
		return item(x, f)
	})
}

// resourceInto decodes a Resource field; a second one (merged by protobuf) gives up.
func (d *fastDecoder) resourceInto(r **resourcepb.Resource, in pbField) bool {
	if *r != nil {
		return false
	}
	res := d.a.resource.one(d.at(in.vs))
	*r = res
	return d.each(in, func(f pbField, at int) bool {
		switch f.key {
		case 1<<3 | bt:
			return d.addKeyValue(&res.Attributes, f, at, in.ve)
		case 2<<3 | vt:
			res.DroppedAttributesCount = uint32(f.v)
			return true
		}
		return false // entity_refs (rare, new) and anything unknown
	})
}

// scopeInto decodes an InstrumentationScope field; a second one gives up.
func (d *fastDecoder) scopeInto(sc **commonpb.InstrumentationScope, in pbField) bool {
	if *sc != nil {
		return false
	}
	s := d.a.scopes.one(d.at(in.vs))
	*sc = s
	return d.each(in, func(f pbField, at int) bool {
		switch f.key {
		case 1<<3 | bt:
			return d.setString(&s.Name, f)
		case 2<<3 | bt:
			return d.setString(&s.Version, f)
		case 3<<3 | bt:
			return d.addKeyValue(&s.Attributes, f, at, in.ve)
		case 4<<3 | vt:
			s.DroppedAttributesCount = uint32(f.v)
			return true
		}
		return false
	})
}

// levels describes a signal's request: Q holds resource groups R (field 1), each a
// resource (1), scope groups S (2) and a schema URL (3); each scope group a scope (1),
// items I (2) and a schema URL (3). It names the arena's slabs of each type, how to
// decode an item, and where each level keeps its fields.
type levels[Q, R, S, I any] struct {
	reqs      *slab[Q]
	groups    *slab[R]
	groupPtrs *slab[*R]
	scopes    *slab[S]
	scopePtrs *slab[*S]
	items     *slab[I]
	itemPtrs  *slab[*I]
	item      func(*fastDecoder, *I, pbField) bool
	request   func(*Q) *[]*R
	group     func(*R) (**resourcepb.Resource, *[]*S, *string)
	scope     func(*S) (**commonpb.InstrumentationScope, *[]*I, *string)
}

// decodeSignal decodes a request of a signal that shape describes, with values from
// arena a (nil: a pooled one), or returns errFallback.
func decodeSignal[Q, R, S, I any](a *otlpArena, data []byte, shape func(*otlpArena) levels[Q, R, S, I]) (m *Q, err error) {
	err = decodeFast(a, data, func(d *fastDecoder) bool {
		l := shape(d.a)
		m = l.reqs.one(d.at(0))
		var g *R
		return d.each(pbField{ve: len(d.raw)}, func(f pbField, at int) bool {
			if f.key != 1<<3|bt {
				return false
			}
			*l.request(m), g = appendOne(d, l.groups, l.groupPtrs, *l.request(m), at, len(d.raw))
			res, scopes, schema := l.group(g)
			head := func(f pbField) bool { return d.resourceInto(res, f) }
			return group(d, f, head, l.scopes, l.scopePtrs, scopes, schema, func(s *S, f pbField) bool {
				sc, items, schema := l.scope(s)
				head := func(f pbField) bool { return d.scopeInto(sc, f) }
				return group(d, f, head, l.items, l.itemPtrs, items, schema, func(x *I, f pbField) bool { return l.item(d, x, f) })
			})
		})
	})
	return m, err
}

// group decodes a message that groups telemetry under a resource or a scope: field 1
// is the resource or scope (decoded by head), field 2 the repeated items (appended to
// list, each decoded by item), field 3 the schema URL.
func group[T any](d *fastDecoder, in pbField, head func(pbField) bool, items *slab[T], ptrs *slab[*T], list *[]*T,
	schema *string, item func(*T, pbField) bool) bool {
	var x *T
	return d.each(in, func(f pbField, at int) bool {
		switch f.key {
		case 1<<3 | bt:
			return head(f)
		case 2<<3 | bt:
			*list, x = appendOne(d, items, ptrs, *list, at, in.ve)
			return item(x, f)
		case 3<<3 | bt:
			return d.setString(schema, f)
		}
		return false
	})
}

// decodeFast runs decode over a copy of data taken from arena a, or from a pooled
// arena when a is nil. It returns errFallback if the fast decoder gives up.
func decodeFast(a *otlpArena, data []byte, decode func(d *fastDecoder) bool) error {
	own := a == nil
	if own {
		a = arenaPool.Get().(*otlpArena)
	}
	ok := decode(newFastDecoder(a, data))
	a.start += len(data)
	if own {
		a.reset(false)
		arenaPool.Put(a)
	}
	if !ok {
		return errFallback
	}
	return nil
}
