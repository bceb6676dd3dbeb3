package otlpwire

import (
	"cmp"
	"math/bits"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Encoding selects the wire format of the requests written. Its values are
// the names the exporters' encoding setting takes, and it is that setting's
// type. The zero value "" is Protobuf.
type Encoding string

const (
	// Protobuf is the OTLP protobuf encoding (content type
	// application/x-protobuf). It is the default.
	Protobuf Encoding = "otlp_proto"
	// JSON is the OTLP/JSON mapping (content type application/json): field
	// names in lowerCamelCase, trace and span IDs as lowercase hex, enums as
	// integers, 64-bit integers as decimal strings, default values left out.
	JSON Encoding = "otlp_json"
)

// signalNames holds the JSON member names of one signal's containers.
type signalNames struct {
	resources, scopes, items string
}

var traceNames = signalNames{"resourceSpans", "scopeSpans", "spans"}

// item is one encoded span (or, later, log record or metric) waiting to be
// placed in a record.
type item struct {
	hi, lo     uint64 // trace ID halves, big-endian (trace ID partitioning)
	group      int32  // partition group (other partitionings)
	res, scope int32  // indexes into builder.res and builder.scopes
	idx        int32  // position in the input
	off, size  int    // body bytes in builder.arena
}

// compareItems orders items by partition, then resource, then scope (both
// in order of first appearance), then input order.
func compareItems(a, b item) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	if c := cmp.Compare(a.group, b.group); c != 0 {
		return c
	}
	if c := cmp.Compare(a.res, b.res); c != 0 {
		return c
	}
	if c := cmp.Compare(a.scope, b.scope); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

func samePartition(a, b *item) bool {
	return a.hi == b.hi && a.lo == b.lo && a.group == b.group
}

// span is a range of builder.meta.
type span struct{ off, n int }

// container is a resource or scope: its encoded bytes before and after its
// list of children.
type container struct {
	head, tail span
	key        string // resource partition key, made on demand
	ptr        *resource.Resource
}

type scopeKey struct {
	res   int32
	scope instrumentation.Scope
}

// builder groups encoded items by partition, resource and scope and writes
// them as self-contained export requests no larger than a limit. Its
// scratch is reused from one batch to the next. It knows nothing of the
// signal beyond the JSON names of the containers.
type builder struct {
	enc   Encoding
	json  bool // enc == JSON, tested once an item
	names signalNames

	arena []byte // item bodies
	items []item
	meta  []byte // container heads and tails
	res   []container
	scope []container
	req   container // the request's own head and tail (JSON only)

	resIndex   map[attribute.Distinct]int32
	scopeIndex map[scopeKey]int32
	lastRes    *resource.Resource
	lastResIdx int32
	lastScope  scopeKey
	lastScIdx  int32

	parts partitions // sort's scratch
	spare []item     // sort's scratch: the other items buffer

	rec []int32 // items of the record being packed
	out []byte  // the record being written
}

// reset prepares b for a batch in encoding enc.
func (b *builder) reset(enc Encoding, names signalNames) {
	b.enc, b.json, b.names = enc, enc == JSON, names
	b.arena = b.arena[:0]
	b.items = b.items[:0]
	b.meta = b.meta[:0]
	clear(b.res) // release resources of the previous batch
	b.res = b.res[:0]
	b.scope = b.scope[:0]
	if b.resIndex == nil {
		b.resIndex = make(map[attribute.Distinct]int32)
		b.scopeIndex = make(map[scopeKey]int32)
	}
	clear(b.resIndex)
	clear(b.scopeIndex)
	b.lastRes, b.lastResIdx = nil, -1
	b.lastScope, b.lastScIdx = scopeKey{}, -1
	b.req = container{}
	if enc == JSON {
		off := len(b.meta)
		b.meta = append(b.meta, `{"`...)
		b.meta = append(b.meta, names.resources...)
		b.meta = append(b.meta, `":[`...)
		b.req.head = span{off, len(b.meta) - off}
		off = len(b.meta)
		b.meta = append(b.meta, "]}"...)
		b.req.tail = span{off, len(b.meta) - off}
	}
}

// resourceOf returns the index of the resource group r belongs to. Like
// otlptrace, resources group by their attributes' Equivalent(); the first
// resource seen of a group supplies its schema URL.
func (b *builder) resourceOf(r *resource.Resource) int32 {
	if b.lastResIdx >= 0 && r == b.lastRes {
		return b.lastResIdx
	}
	d := r.Equivalent()
	i, ok := b.resIndex[d]
	if !ok {
		i = int32(len(b.res))
		b.resIndex[d] = i
		c := b.encodeResource(r)
		c.ptr = r
		b.res = append(b.res, c)
	}
	b.lastRes, b.lastResIdx = r, i
	return i
}

// scopeOf returns the index of the scope group of s within resource res.
func (b *builder) scopeOf(res int32, s *instrumentation.Scope) int32 {
	if b.lastScIdx >= 0 && b.lastScope.res == res && b.lastScope.scope == *s {
		return b.lastScIdx
	}
	k := scopeKey{res, *s}
	i, ok := b.scopeIndex[k]
	if !ok {
		i = int32(len(b.scope))
		b.scopeIndex[k] = i
		b.scope = append(b.scope, b.encodeScope(s))
	}
	b.lastScope, b.lastScIdx = k, i
	return i
}

func (b *builder) encodeResource(r *resource.Resource) container {
	return b.encodeContainer(b.names.scopes, r.SchemaURL(), FieldResourceSchemaURL,
		func(m []byte) []byte { return AppendResourceField(m, FieldResource, r) },
		func(m []byte) []byte { return AppendJSONResourceMember(m, r) })
}

func (b *builder) encodeScope(s *instrumentation.Scope) container {
	return b.encodeContainer(b.names.items, s.SchemaURL, FieldScopeSchemaURL,
		func(m []byte) []byte { return AppendScopeField(m, FieldScope, s) },
		func(m []byte) []byte { return AppendJSONScopeMember(m, s) })
}

// encodeContainer writes the head and tail of a resource or scope container
// into b.meta: in protobuf, the resource or scope field and the schema URL
// field (numbered schemaField); in JSON, `{"resource":{...},"<children>":[`
// and `],"schemaUrl":"..."}`.
func (b *builder) encodeContainer(children, schemaURL string, schemaField int, proto, json func([]byte) []byte) container {
	var c container
	off := len(b.meta)
	if b.json {
		b.meta = json(append(b.meta, '{'))
		b.meta = append(appendJSONName(b.meta, children), '[')
	} else {
		b.meta = proto(b.meta)
	}
	c.head = span{off, len(b.meta) - off}
	off = len(b.meta)
	if b.json {
		b.meta = AppendJSONStringMember(append(b.meta, ']'), "schemaUrl", schemaURL)
		b.meta = append(b.meta, '}')
	} else {
		b.meta = AppendStringField(b.meta, schemaField, schemaURL)
	}
	c.tail = span{off, len(b.meta) - off}
	return c
}

// sort orders the items by partition, resource, scope and input order (compareItems).
// Rather than comparison-sorting the items, it numbers the partitions in a hash table,
// sorts only the distinct partitions, and moves each item straight to its partition's
// place, keeping the input order within a partition; a partition whose items then are
// not in resource and scope order (resources or scopes interleaved in the input) is
// sorted on its own.
func (b *builder) sort() {
	items := b.items
	if len(items) < 2 || slices.IsSortedFunc(items, compareItems) {
		return
	}
	ps := &b.parts
	ps.number(items)
	// Where each partition's items start once the partitions are in order.
	slices.SortFunc(ps.order, func(x, y int32) int {
		a, c := &items[ps.first[x]], &items[ps.first[y]]
		if r := cmp.Compare(a.hi, c.hi); r != 0 {
			return r
		}
		if r := cmp.Compare(a.lo, c.lo); r != 0 {
			return r
		}
		return cmp.Compare(a.group, c.group)
	})
	at := 0
	for _, p := range ps.order {
		at, ps.count[p] = at+int(ps.count[p]), int32(at)
	}
	sorted := slices.Grow(b.spare[:0], len(items))[:len(items)]
	for i := range items {
		p := ps.of[i]
		sorted[ps.count[p]] = items[i]
		ps.count[p]++
	}
	b.items, b.spare = sorted, items
	for start := 0; start < len(sorted); {
		end := start + 1
		for end < len(sorted) && samePartition(&sorted[start], &sorted[end]) {
			end++
		}
		if part := sorted[start:end]; !slices.IsSortedFunc(part, compareItems) {
			slices.SortFunc(part, compareItems)
		}
		start = end
	}
}

// partitions numbers the partitions of a batch's items (builder.sort). Its slices are
// scratch reused from one batch to the next.
type partitions struct {
	slots []partSlot // open-addressing hash table of the partitions
	first []int32    // partition → its first item
	count []int32    // partition → its item count, then where its items go
	order []int32    // partition numbers, to be sorted
	of    []int32    // item → its partition
}

// partSlot is a slot of partitions.slots.
type partSlot struct {
	hi, lo uint64
	group  int32
	part   int32 // partition number + 1; 0 marks a free slot
}

// partHash mixes every bit of an item's partition (trace IDs may differ in a few bits
// only, anywhere) into every bit of the hash.
func partHash(it *item) uint64 {
	h := it.hi ^ bits.RotateLeft64(it.lo, 32) ^ uint64(uint32(it.group))<<16
	h = (h ^ h>>33) * 0xff51afd7ed558ccd
	h = (h ^ h>>33) * 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// number numbers the partitions of items in order of first appearance.
func (ps *partitions) number(items []item) {
	size := 1 << bits.Len(uint(2*len(items)-1)) // a power of two, at least twice the items
	if cap(ps.slots) < size {
		ps.slots = make([]partSlot, size)
	} else {
		ps.slots = ps.slots[:size]
		clear(ps.slots)
	}
	mask := uint64(size - 1)
	ps.first, ps.count, ps.order, ps.of = ps.first[:0], ps.count[:0], ps.order[:0], ps.of[:0]
	for i := range items {
		it := &items[i]
		j := partHash(it) & mask
		for {
			s := &ps.slots[j]
			if s.part == 0 {
				s.hi, s.lo, s.group = it.hi, it.lo, it.group
				ps.first = append(ps.first, int32(i))
				ps.count = append(ps.count, 0)
				ps.order = append(ps.order, int32(len(ps.order)))
				s.part = int32(len(ps.first))
			}
			if s.hi == it.hi && s.lo == it.lo && s.group == it.group {
				ps.of = append(ps.of, s.part-1)
				ps.count[s.part-1]++
				break
			}
			j = (j + 1) & mask
		}
	}
}

// frame is what a child of n bytes adds to its parent: a one-byte tag (all
// container fields here are numbered below 16) and its length in protobuf;
// just itself in JSON, where separators are counted apart.
func (b *builder) frame(n int) int {
	if b.json {
		return n
	}
	return 1 + SizeVarint(uint64(n)) + n
}

// sep is the size of the separator between two children: a comma in JSON.
func (b *builder) sep() int {
	if b.json {
		return 1
	}
	return 0
}

func (c *container) fixed() int { return c.head.n + c.tail.n }

// packState is the size bookkeeping of a record being filled: closed
// resources and scopes are summed, the open ones kept apart so that their
// length prefixes can be recomputed as they grow.
type packState struct {
	n            int // items
	closedRes    int // framed closed resources, with separators
	res          int32
	resFixed     int
	closedScopes int
	scope        int32
	scopeFixed   int
	items        int // framed items of the open scope, with separators
}

// total is the exact size the record would be written with.
func (b *builder) total(st *packState) int {
	if st.n == 0 {
		return 0
	}
	sc := st.scopeFixed + st.items
	rs := st.resFixed + st.closedScopes + b.frame(sc)
	return b.req.fixed() + st.closedRes + b.frame(rs)
}

// add returns the state after adding it (which must follow the items
// already added in sort order).
func (b *builder) add(st packState, it *item) packState {
	fs := b.frame(it.size)
	switch {
	case st.n == 0 || it.res != st.res:
		if st.n > 0 {
			sc := st.scopeFixed + st.items
			st.closedRes += b.frame(st.resFixed+st.closedScopes+b.frame(sc)) + b.sep()
		}
		st.res, st.resFixed, st.closedScopes = it.res, b.res[it.res].fixed(), 0
		st.scope, st.scopeFixed, st.items = it.scope, b.scope[it.scope].fixed(), fs
	case it.scope != st.scope:
		st.closedScopes += b.frame(st.scopeFixed+st.items) + b.sep()
		st.scope, st.scopeFixed, st.items = it.scope, b.scope[it.scope].fixed(), fs
	default:
		st.items += b.sep() + fs
	}
	st.n++
	return st
}

// write appends the request holding the items rec (indexes into b.items, in
// sort order) to dst.
func (b *builder) write(dst []byte, rec []int32) []byte {
	json := b.json
	dst = b.appendMeta(dst, b.req.head)
	for i := 0; i < len(rec); {
		r := b.items[rec[i]].res
		j := i + 1
		for j < len(rec) && b.items[rec[j]].res == r {
			j++
		}
		if json {
			if i > 0 {
				dst = append(dst, ',')
			}
		} else {
			dst = AppendLenHeader(dst, FieldRequestResources, b.resourceBody(rec[i:j]))
		}
		dst = b.appendMeta(dst, b.res[r].head)
		for k := i; k < j; {
			sc := b.items[rec[k]].scope
			l := k + 1
			for l < j && b.items[rec[l]].scope == sc {
				l++
			}
			if json {
				if k > i {
					dst = append(dst, ',')
				}
			} else {
				dst = AppendLenHeader(dst, FieldResourceScopes, b.scopeBody(rec[k:l]))
			}
			dst = b.appendMeta(dst, b.scope[sc].head)
			for m := k; m < l; m++ {
				it := &b.items[rec[m]]
				if json {
					if m > k {
						dst = append(dst, ',')
					}
				} else {
					dst = AppendLenHeader(dst, FieldScopeItems, it.size)
				}
				dst = append(dst, b.arena[it.off:it.off+it.size]...)
			}
			dst = b.appendMeta(dst, b.scope[sc].tail)
			k = l
		}
		dst = b.appendMeta(dst, b.res[r].tail)
		i = j
	}
	return b.appendMeta(dst, b.req.tail)
}

func (b *builder) appendMeta(dst []byte, s span) []byte {
	return append(dst, b.meta[s.off:s.off+s.n]...)
}

// scopeBody is the body size of one scope's container holding rec.
func (b *builder) scopeBody(rec []int32) int {
	n := b.scope[b.items[rec[0]].scope].fixed() + b.sep()*(len(rec)-1)
	for _, i := range rec {
		n += b.frame(b.items[i].size)
	}
	return n
}

// resourceBody is the body size of one resource's container holding rec.
func (b *builder) resourceBody(rec []int32) int {
	n := b.res[b.items[rec[0]].res].fixed()
	for k := 0; k < len(rec); {
		sc := b.items[rec[k]].scope
		l := k + 1
		for l < len(rec) && b.items[rec[l]].scope == sc {
			l++
		}
		if k > 0 {
			n += b.sep()
		}
		n += b.frame(b.scopeBody(rec[k:l]))
		k = l
	}
	return n
}
