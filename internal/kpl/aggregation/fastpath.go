package aggregation

import (
	"bytes"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path reads the layout the KPL and otelkinesis write: the
// partition key and explicit hash key tables first, then the records, each
// with its fields in number order, every field present at most once, no
// unknown fields. That is nearly every aggregated record in practice, and
// reading it needs no general field dispatch. Anything else (another field
// order, unknown or repeated fields, and every error) makes the fast path
// give up, and the general two-pass parser in read.go reads the
// record instead, with its precise errors. Both produce the same user
// records for input the fast path accepts.

// uvarint reads a varint at b[i:], returning it and the offset after it;
// ok is false if b ends inside it or it overflows.
func uvarint(b []byte, i int) (v uint64, next int, ok bool) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, true
	}
	if i >= len(b) {
		return 0, 0, false
	}
	v, n := protowire.ConsumeVarint(b[i:])
	return v, i + n, n > 0
}

// bytesAt reads a length-delimited payload at b[i:] (its length varint
// first), returning the payload and the offset after it.
func bytesAt(b []byte, i int) (v []byte, next int, ok bool) {
	n, j, ok := uvarint(b, i)
	if !ok || n > uint64(len(b)-j) {
		return nil, 0, false
	}
	end := j + int(n)
	return b[j:end:end], end, true
}

// fastTag reads one Tag message in canonical form.
func fastTag(b []byte) (key, value []byte, ok bool) {
	if len(b) == 0 || b[0] != tagTagKey {
		return nil, nil, false
	}
	key, i, ok := bytesAt(b, 1)
	if !ok {
		return nil, nil, false
	}
	if i < len(b) {
		if b[i] != tagTagValue {
			return nil, nil, false
		}
		if value, i, ok = bytesAt(b, i+1); !ok {
			return nil, nil, false
		}
	}
	return key, value, i == len(b)
}

// fastRecord is one Record message read in canonical form.
type fastRecord struct {
	pk, ehk uint64
	hasEHK  bool
	data    []byte
	tags    []byte // the encoded tags fields, read by fastTags
}

// readFastRecord reads one Record message in canonical form.
func readFastRecord(b []byte) (r fastRecord, ok bool) {
	if len(b) < 4 || b[0] != tagPartitionKeyIndex {
		return r, false
	}
	i := 1
	if r.pk, i, ok = uvarint(b, i); !ok {
		return r, false
	}
	if i < len(b) && b[i] == tagExplicitHashKeyIndex {
		r.hasEHK = true
		if r.ehk, i, ok = uvarint(b, i+1); !ok {
			return r, false
		}
	}
	if i >= len(b) || b[i] != tagData {
		return r, false
	}
	if r.data, i, ok = bytesAt(b, i+1); !ok {
		return r, false
	}
	r.tags = b[i:]
	return r, true
}

// fastScan is scan for the canonical layout: it counts what fastBuild
// needs and reports false for anything the general parser must read.
func (p *parser) fastScan() bool {
	b := p.pb
	if len(b) >= 1<<31 { // spans hold 32-bit offsets
		return false
	}
	i := 0
	for i < len(b) && (b[i] == tagPartitionKeyTable || b[i] == tagExplicitHashKeyTable) {
		isPK := b[i] == tagPartitionKeyTable
		v, next, ok := bytesAt(b, i+1)
		if !ok {
			return false
		}
		if isPK {
			p.pks++
		} else {
			p.ehks++
		}
		p.strBytes += len(v)
		i = next
	}
	var prev, cur [maxReusedTags]tagBytes
	prevCount := 0
	var prevBlock []byte // the previous record's encoded tags
	for i < len(b) {
		if b[i] != tagRecords || (p.maxRecords > 0 && p.records >= p.maxRecords) {
			return false
		}
		rb, next, ok := bytesAt(b, i+1)
		if !ok {
			return false
		}
		i = next
		r, ok := readFastRecord(rb)
		if !ok || r.pk >= uint64(p.pks) || (r.hasEHK && r.ehk >= uint64(p.ehks)) {
			return false
		}
		if len(r.tags) > 0 && bytes.Equal(r.tags, prevBlock) {
			// The same tags as the record before: fastBuild copies its Tags,
			// strings and all.
			p.tags += prevCount
			p.records++
			continue
		}
		prevBlock = r.tags
		n := 0
		for t := r.tags; len(t) > 0; n++ {
			if t[0] != tagTags {
				return false
			}
			tb, next, ok := bytesAt(t, 1)
			if !ok {
				return false
			}
			t = t[next:]
			key, value, ok := fastTag(tb)
			if !ok {
				return false
			}
			reuse := n < maxReusedTags && n < prevCount
			if !reuse || !bytes.Equal(prev[n].key, key) {
				p.strBytes += len(key)
			}
			if !reuse || !bytes.Equal(prev[n].value, value) {
				p.strBytes += len(value)
			}
			if n < maxReusedTags {
				cur[n] = tagBytes{key: key, value: value}
			}
		}
		p.tags += n
		prev, prevCount = cur, n
		p.records++
	}
	return true
}

// spanTable is a string table kept as offsets into the arena (offset << 32
// | length): it holds no pointers, so filling it costs no GC write barriers
// and the GC never scans it.
type spanTable []uint64

// add copies v into the arena and appends its span. An entry that does not
// fit (only if the input changed since the scan) reads back as "".
func (t spanTable) add(ar *arena, v []byte) spanTable {
	if len(v) == 0 || len(v) > cap(ar.buf)-len(ar.buf) {
		return append(t, 0)
	}
	off := len(ar.buf)
	ar.buf = append(ar.buf, v...)
	return append(t, uint64(off)<<32|uint64(len(v)))
}

// get returns entry i as a string sharing the arena's memory.
func (t spanTable) get(ar *arena, i uint64) string {
	s := t[i]
	off, n := int(s>>32), int(uint32(s))
	if n == 0 {
		return ""
	}
	return unsafe.String(&ar.buf[off], n)
}

// fastBuild is build for input fastScan accepted.
func fastBuild[E any](p *parser, dst []E, conv func(int, Record) E) []E {
	ar := arena{buf: make([]byte, 0, p.strBytes)}
	var tags []Tag
	if p.tags > 0 {
		tags = make([]Tag, 0, p.tags)
	}
	spans := make([]uint64, p.pks+p.ehks)
	pks, ehks := spanTable(spans[:0:p.pks]), spanTable(spans[p.pks:p.pks])
	dst = slices.Grow(dst, p.records)
	b := p.pb
	i := 0
	for i < len(b) && (b[i] == tagPartitionKeyTable || b[i] == tagExplicitHashKeyTable) {
		isPK := b[i] == tagPartitionKeyTable
		v, next, _ := bytesAt(b, i+1)
		if isPK {
			pks = pks.add(&ar, v)
		} else {
			ehks = ehks.add(&ar, v)
		}
		i = next
	}
	var prev []Tag       // the previous record's tags
	var prevBlock []byte // and their encoding
	for sub := 0; i < len(b); sub++ {
		rb, next, ok := bytesAt(b, i+1)
		if !ok {
			break // only if the input changed since fastScan
		}
		i = next
		r, ok := readFastRecord(rb)
		if !ok || r.pk >= uint64(len(pks)) || (r.hasEHK && r.ehk >= uint64(len(ehks))) {
			break
		}
		u := Record{PartitionKey: pks.get(&ar, r.pk), Data: r.data}
		if r.hasEHK {
			u.ExplicitHashKey = ehks.get(&ar, r.ehk)
		}
		start := len(tags)
		switch {
		case len(r.tags) == 0:
		case len(prev) > 0 && bytes.Equal(r.tags, prevBlock):
			tags = append(tags, prev...)
			u.Tags = tags[start:len(tags):len(tags)]
		default:
			prevBlock = r.tags
			for t, n := r.tags, 0; len(t) > 0; n++ {
				tb, next, ok := bytesAt(t, 1)
				if !ok {
					break
				}
				t = t[next:]
				key, value, _ := fastTag(tb)
				var tag Tag
				if n < maxReusedTags && n < len(prev) && prev[n].Key == string(key) {
					tag.Key = prev[n].Key
				} else {
					tag.Key = ar.str(key)
				}
				if n < maxReusedTags && n < len(prev) && prev[n].Value == string(value) {
					tag.Value = prev[n].Value
				} else {
					tag.Value = ar.str(value)
				}
				tags = append(tags, tag)
			}
			u.Tags = tags[start:len(tags):len(tags)]
		}
		prev = u.Tags
		dst = append(dst, conv(sub, u))
	}
	return dst
}
