package aggregation

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// Record is one user record read from an aggregated record.
type Record struct {
	// PartitionKey is the user record's own partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key in decimal, or ""
	// if it has none.
	ExplicitHashKey string
	// Data is the user record's payload. It shares memory with the aggregated
	// record it came from (capacity limited to its length).
	Data []byte
	// Tags are the user record's tags, in order; nil if it has none.
	Tags []Tag
}

// Errors that FormatError wraps, for errors.Is: which check an aggregated
// record failed.
var (
	// ErrChecksum reports an MD5 trailer that does not match the protobuf
	// bytes.
	ErrChecksum = errors.New("MD5 digest does not match")
	// ErrTruncated reports data that ends inside a field, or an aggregated
	// record too short for the magic and the digest.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed reports bytes that are not a valid AggregatedRecord
	// message: a bad field tag or varint, a known field with the wrong wire
	// type, or a required field missing; or data without the magic bytes.
	ErrMalformed = errors.New("malformed protobuf")
	// ErrIndexOutOfRange reports a user record whose partition key index or
	// explicit hash key index points past the end of its table.
	ErrIndexOutOfRange = errors.New("table index out of range")
	// ErrTooManyRecords reports an aggregated record holding more user
	// records than Reader.MaxRecords allows.
	ErrTooManyRecords = errors.New("too many user records")
)

// FormatError describes why an aggregated record could not be read: which
// check failed (Err, one of the Err* variables above), where (Offset, a byte
// offset into the aggregated record), and in which user record. Package
// consumer shows it as consumer.FormatError, a struct of the same fields.
type FormatError struct {
	// Offset is the byte offset in the aggregated record where the problem
	// was found.
	Offset int
	// UserRecord is the index of the user record being read, from 0, or -1
	// if the problem is outside any user record.
	UserRecord int
	// Field names the protobuf field involved, such as "records.data", or
	// is "" when no field is.
	Field string
	// Detail says what was wrong in words.
	Detail string
	// Err is the check that failed.
	Err error
}

// Error returns a one-line description naming the check, offset, user record
// and field.
func (e *FormatError) Error() string {
	where := fmt.Sprintf("byte %d", e.Offset)
	if e.UserRecord >= 0 {
		where += fmt.Sprintf(", user record %d", e.UserRecord)
	}
	if e.Field != "" {
		where += ", field " + e.Field
	}
	return fmt.Sprintf("KPL aggregated record: %s: %s: %v", where, e.Detail, e.Err)
}

// Unwrap returns Err.
func (e *FormatError) Unwrap() error { return e.Err }

// Reader reads aggregated records. The zero value verifies the MD5 trailer
// and puts no limit on the user records beyond what the input can hold.
//
// Reading is strict: a bad digest, truncated or malformed protobuf, or an
// index outside its table gives a *FormatError and no user records. Bad
// input never panics, and the memory allocated is bounded by the size of the
// input, whatever its length fields claim. User records' Data share memory
// with the input; their strings do not (they share one allocation per
// aggregated record).
type Reader struct {
	// SkipChecksum, if set, leaves the MD5 trailer unchecked: the largest
	// cost of reading an aggregated record, worth saving on bytes known good.
	SkipChecksum bool
	// MaxRecords, if above 0, is the most user records one aggregated record
	// may hold; more gives a FormatError wrapping ErrTooManyRecords.
	MaxRecords int
}

// Append reads the aggregated record data (magic, AggregatedRecord, digest)
// and appends its user records to dst, in order. On error it returns dst
// unchanged and a *FormatError.
func (r Reader) Append(dst []Record, data []byte) ([]Record, error) {
	return AppendFunc(r, dst, data, record)
}

// record is the conv of Append: the user record as it is.
func record(_ int, rec Record) Record { return rec }

// AppendFunc is Append for a caller with a record type of its own: it
// appends to dst, for each user record in order, what conv makes of it and
// of its position in the aggregated record (from 0, the KCL's sub-sequence
// number). dst grows once, to the exact size. On error it returns dst
// unchanged and a *FormatError.
func AppendFunc[E any](r Reader, dst []E, data []byte, conv func(sub int, rec Record) E) ([]E, error) {
	if !IsAggregated(data) {
		return dst, &FormatError{Offset: 0, UserRecord: -1, Err: ErrMalformed, Detail: fmt.Sprintf("no magic bytes %x", Magic)}
	}
	if len(data) < overhead {
		return dst, &FormatError{Offset: len(data), UserRecord: -1, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s after the magic, too short for the %d-byte digest", plural.Count(len(data)-len(Magic), "byte"), DigestSize)}
	}
	pb := data[len(Magic) : len(data)-DigestSize]
	if !r.SkipChecksum {
		sum := md5.Sum(pb)
		if !bytes.Equal(sum[:], data[len(data)-DigestSize:]) {
			return dst, &FormatError{Offset: len(data) - DigestSize, UserRecord: -1, Err: ErrChecksum,
				Detail: fmt.Sprintf("trailer %x, digest of the protobuf message (%s) %x", data[len(data)-DigestSize:], plural.Count(len(pb), "byte"), sum)}
		}
	}
	p := parser{pb: pb, base: len(Magic), maxRecords: r.MaxRecords}
	if p.fastScan() {
		return fastBuild(&p, dst, conv), nil
	}
	p = parser{pb: pb, base: len(Magic), maxRecords: r.MaxRecords}
	if err := p.scan(); err != nil {
		return dst, err
	}
	return build(&p, dst, conv), nil
}

// parser reads an AggregatedRecord in two passes: scan validates everything
// and counts what build will need, so build allocates each slice once, at its
// exact size, and only for input that is known to be good.
type parser struct {
	pb         []byte // the AggregatedRecord message
	base       int    // offset of pb in the aggregated record
	maxRecords int    // 0 = no limit

	// Counted by scan.
	pks, ehks, records, tags, strBytes int
	// The user record with the largest index into each table, to check the
	// indexes once the tables' lengths are known, whatever the field order.
	maxPK, maxEHK             uint64
	maxPKRecord, maxEHKRecord int // -1 = none
	maxPKOffset, maxEHKOffset int

	// The leading tags of the previous and the current user record, to count
	// only the tag strings build will copy (see maxReusedTags).
	prevTags, curTags [maxReusedTags]tagBytes
	prevTagCount      int
}

// tagBytes is a tag's key and value as the last occurrence of each field
// gave them.
type tagBytes struct{ key, value []byte }

// fail returns a FormatError at offset off of pb.
func (p *parser) fail(off, rec int, field string, err error, format string, args ...any) error {
	return &FormatError{Offset: p.base + off, UserRecord: rec, Field: field, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// failParse turns an error from next into a FormatError.
func (p *parser) failParse(off, rec int, field string, perr error) error {
	kind := ErrMalformed
	if errors.Is(perr, io.ErrUnexpectedEOF) {
		kind = ErrTruncated
	}
	return p.fail(off, rec, field, kind, "%v", perr)
}

// field is one field read by next.
type field struct {
	num   protowire.Number
	typ   protowire.Type
	off   int    // offset of the field's tag in the message
	bytes []byte // the payload of a length-delimited field
	value uint64 // the value of a varint field
}

// errFieldNumber reports a field number above protobuf's maximum, which
// protowire's ConsumeTag lets through.
var errFieldNumber = errors.New("invalid field number")

// next reads the field at b[off:]. It returns the field and the offset after
// it, or an error and the offset where reading failed.
func next(b []byte, off int) (f field, end, errOff int, err error) {
	// Fast path: a one-byte tag and a one-byte length or value, which is
	// every field of a typical aggregate but the records' own framing.
	if off+1 < len(b) && b[off] < 0x80 && b[off] >= 1<<3 && b[off+1] < 0x80 {
		f = field{num: protowire.Number(b[off] >> 3), typ: protowire.Type(b[off] & 7), off: off}
		switch f.typ {
		case protowire.VarintType:
			f.value = uint64(b[off+1])
			return f, off + 2, 0, nil
		case protowire.BytesType:
			s, n := off+2, int(b[off+1])
			if n <= len(b)-s {
				f.bytes = b[s : s+n : s+n]
				return f, s + n, 0, nil
			}
		}
	}
	num, typ, n := protowire.ConsumeTag(b[off:])
	if n < 0 {
		return f, 0, off, protowire.ParseError(n)
	}
	if num > protowire.MaxValidNumber {
		return f, 0, off, errFieldNumber
	}
	f = field{num: num, typ: typ, off: off}
	vo := off + n
	var m int
	switch typ {
	case protowire.BytesType:
		var v []byte
		if v, m = protowire.ConsumeBytes(b[vo:]); m >= 0 {
			f.bytes = v[:len(v):len(v)]
		}
	case protowire.VarintType:
		f.value, m = protowire.ConsumeVarint(b[vo:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[vo:])
	}
	if m < 0 {
		return f, 0, vo, protowire.ParseError(m)
	}
	return f, vo + m, 0, nil
}

// wantType checks a known field's wire type.
func (p *parser) wantType(f field, base, rec int, name string, typ protowire.Type) error {
	if f.typ != typ {
		return p.fail(base+f.off, rec, name, ErrMalformed, "wire type %d, want %d", f.typ, typ)
	}
	return nil
}

// scan validates the message and counts tables, records, tags and string
// bytes.
func (p *parser) scan() error {
	p.maxPKRecord, p.maxEHKRecord = -1, -1
	for off := 0; off < len(p.pb); {
		f, end, at, err := next(p.pb, off)
		if err != nil {
			return p.failParse(at, -1, "", err)
		}
		switch f.num {
		case fieldPartitionKeyTable:
			if err := p.wantType(f, 0, -1, "partition_key_table", protowire.BytesType); err != nil {
				return err
			}
			p.pks++
			p.strBytes += len(f.bytes)
		case fieldExplicitHashKeyTable:
			if err := p.wantType(f, 0, -1, "explicit_hash_key_table", protowire.BytesType); err != nil {
				return err
			}
			p.ehks++
			p.strBytes += len(f.bytes)
		case fieldRecords:
			if err := p.wantType(f, 0, p.records, "records", protowire.BytesType); err != nil {
				return err
			}
			if p.maxRecords > 0 && p.records >= p.maxRecords {
				return p.fail(f.off, p.records, "records", ErrTooManyRecords, "more than %d user records", p.maxRecords)
			}
			if err := p.scanRecord(f.bytes, end-len(f.bytes), f.off); err != nil {
				return err
			}
			p.records++
		}
		off = end
	}
	if p.maxPKRecord >= 0 && p.maxPK >= uint64(p.pks) {
		return p.fail(p.maxPKOffset, p.maxPKRecord, "records.partition_key_index", ErrIndexOutOfRange,
			"index %d, table has %d entries", p.maxPK, p.pks)
	}
	if p.maxEHKRecord >= 0 && p.maxEHK >= uint64(p.ehks) {
		return p.fail(p.maxEHKOffset, p.maxEHKRecord, "records.explicit_hash_key_index", ErrIndexOutOfRange,
			"index %d, table has %d entries", p.maxEHK, p.ehks)
	}
	return nil
}

// scanRecord validates one Record message found at offset base of pb, in a
// field starting at offset start.
func (p *parser) scanRecord(b []byte, base, start int) error {
	rec := p.records
	var hasPK, hasData bool
	tagCount := 0
	for off := 0; off < len(b); {
		f, end, at, err := next(b, off)
		if err != nil {
			return p.failParse(base+at, rec, "records", err)
		}
		switch f.num {
		case fieldPartitionKeyIndex:
			if err := p.wantType(f, base, rec, "records.partition_key_index", protowire.VarintType); err != nil {
				return err
			}
			hasPK = true
			if p.maxPKRecord < 0 || f.value > p.maxPK {
				p.maxPK, p.maxPKRecord, p.maxPKOffset = f.value, rec, base+f.off
			}
		case fieldExplicitHashKeyIndex:
			if err := p.wantType(f, base, rec, "records.explicit_hash_key_index", protowire.VarintType); err != nil {
				return err
			}
			if p.maxEHKRecord < 0 || f.value > p.maxEHK {
				p.maxEHK, p.maxEHKRecord, p.maxEHKOffset = f.value, rec, base+f.off
			}
		case fieldData:
			if err := p.wantType(f, base, rec, "records.data", protowire.BytesType); err != nil {
				return err
			}
			hasData = true
		case fieldTags:
			if err := p.wantType(f, base, rec, "records.tags", protowire.BytesType); err != nil {
				return err
			}
			var same, cur *tagBytes
			if tagCount < maxReusedTags {
				cur = &p.curTags[tagCount]
				if tagCount < p.prevTagCount {
					same = &p.prevTags[tagCount]
				}
			}
			if err := p.scanTag(f.bytes, base+end-len(f.bytes), base+f.off, rec, same, cur); err != nil {
				return err
			}
			p.tags++
			tagCount++
		}
		off = end
	}
	if !hasPK {
		return p.fail(start, rec, "records.partition_key_index", ErrMalformed, "required field missing")
	}
	if !hasData {
		return p.fail(start, rec, "records.data", ErrMalformed, "required field missing")
	}
	p.prevTags, p.prevTagCount = p.curTags, tagCount
	return nil
}

// scanTag validates one Tag message found at offset base of pb, in a field
// starting at offset start. It counts the string bytes build will copy:
// those not equal to the same-position tag of the record before (same, if
// not nil). It leaves the tag's strings in cur, if not nil.
func (p *parser) scanTag(b []byte, base, start, rec int, same, cur *tagBytes) error {
	hasKey := false
	if cur != nil {
		*cur = tagBytes{}
	}
	for off := 0; off < len(b); {
		f, end, at, err := next(b, off)
		if err != nil {
			return p.failParse(base+at, rec, "records.tags", err)
		}
		switch f.num {
		case fieldTagKey:
			if err := p.wantType(f, base, rec, "records.tags.key", protowire.BytesType); err != nil {
				return err
			}
			hasKey = true
			if same == nil || !bytes.Equal(same.key, f.bytes) {
				p.strBytes += len(f.bytes)
			}
			if cur != nil {
				cur.key = f.bytes
			}
		case fieldTagValue:
			if err := p.wantType(f, base, rec, "records.tags.value", protowire.BytesType); err != nil {
				return err
			}
			if same == nil || !bytes.Equal(same.value, f.bytes) {
				p.strBytes += len(f.bytes)
			}
			if cur != nil {
				cur.value = f.bytes
			}
		}
		off = end
	}
	if !hasKey {
		return p.fail(start, rec, "records.tags.key", ErrMalformed, "required field missing")
	}
	return nil
}

// arena hands out strings copied into one allocation of exactly the size
// scan counted; the bytes are never written again once handed out.
type arena struct{ buf []byte }

// str returns a string holding b, copied into the arena.
func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.buf)-len(a.buf) {
		// Only if the input changed since scan; strings handed out so far
		// keep the old buffer, which is never written again.
		return string(b)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[n], len(b))
}

// alloc makes the string arena and the empty tables and tag list, each at
// the exact size the scan counted (nil when empty).
func (p *parser) alloc() (ar arena, pks, ehks []string, tags []Tag) {
	ar.buf = make([]byte, 0, p.strBytes)
	if p.pks > 0 {
		pks = make([]string, 0, p.pks)
	}
	if p.ehks > 0 {
		ehks = make([]string, 0, p.ehks)
	}
	if p.tags > 0 {
		tags = make([]Tag, 0, p.tags)
	}
	return ar, pks, ehks, tags
}

// build decodes the message p's scan validated, appending what conv makes
// of each user record to dst. Repeated fields keep the last value, as
// protobuf parsers do. It checks what it relies on again, so that input
// changed by a data race between the passes cannot make it loop or panic.
func build[E any](p *parser, dst []E, conv func(int, Record) E) []E {
	ar, pks, ehks, tags := p.alloc()
	dst = slices.Grow(dst, p.records)
	// Tables first: records may come before them in a valid message.
	for off := 0; off < len(p.pb); {
		f, end, _, err := next(p.pb, off)
		if err != nil {
			break
		}
		switch f.num {
		case fieldPartitionKeyTable:
			pks = append(pks, ar.str(f.bytes))
		case fieldExplicitHashKeyTable:
			ehks = append(ehks, ar.str(f.bytes))
		}
		off = end
	}
	var prev []Tag // the previous user record's tags
	sub := 0
	for off := 0; off < len(p.pb); {
		f, end, _, err := next(p.pb, off)
		if err != nil {
			break
		}
		off = end
		if f.num != fieldRecords {
			continue
		}
		var u Record
		tagStart := len(tags)
		b := f.bytes
		for ro := 0; ro < len(b); {
			rf, rend, _, err := next(b, ro)
			if err != nil {
				break
			}
			ro = rend
			switch rf.num {
			case fieldPartitionKeyIndex:
				if rf.value < uint64(len(pks)) {
					u.PartitionKey = pks[rf.value]
				}
			case fieldExplicitHashKeyIndex:
				if rf.value < uint64(len(ehks)) {
					u.ExplicitHashKey = ehks[rf.value]
				}
			case fieldData:
				u.Data = rf.bytes
			case fieldTags:
				var same *Tag
				if j := len(tags) - tagStart; j < len(prev) && j < maxReusedTags {
					same = &prev[j]
				}
				tags = append(tags, buildTag(rf.bytes, &ar, same))
			}
		}
		if len(tags) > tagStart {
			u.Tags = tags[tagStart:len(tags):len(tags)]
		}
		prev = u.Tags
		dst = append(dst, conv(sub, u))
		sub++
	}
	return dst
}

// maxReusedTags is how many leading tags of a user record may share their
// strings with the same-position tags of the record before: producers put
// the same few tags on every record.
const maxReusedTags = 8

// buildTag decodes a Tag message scan validated. A key or value equal to
// the one in same (if not nil) reuses its string instead of copying.
func buildTag(b []byte, ar *arena, same *Tag) Tag {
	var t Tag
	for off := 0; off < len(b); {
		f, end, _, err := next(b, off)
		if err != nil {
			break
		}
		off = end
		switch f.num {
		case fieldTagKey:
			if same != nil && same.Key == string(f.bytes) {
				t.Key = same.Key
			} else {
				t.Key = ar.str(f.bytes)
			}
		case fieldTagValue:
			if same != nil && same.Value == string(f.bytes) {
				t.Value = same.Value
			} else {
				t.Value = ar.str(f.bytes)
			}
		}
	}
	return t
}
