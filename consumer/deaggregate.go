package consumer

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// Tag is a key-value pair attached to a user record inside a KPL aggregated
// record. Standard deaggregators ignore tags; otelkinesis writes them to say
// which signal, encoding and compression a user record holds.
type Tag = aggregation.Tag

// UserRecord is one record as the producer wrote it: a user record taken out
// of a KPL aggregated record, or a whole Kinesis record that was not
// aggregated.
type UserRecord struct {
	// PartitionKey is the user record's own partition key. For a record that
	// was not aggregated it is the Kinesis record's partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key in decimal, or ""
	// if it has none. Kinesis does not return the explicit hash key of a
	// record that was not aggregated, so for those it is always "".
	ExplicitHashKey string
	// Data is the user record's payload. It shares memory with the Kinesis
	// record's data it came from (capacity limited to its length): copy it
	// before changing that data.
	Data []byte
	// Tags are the user record's tags, in order; nil if it has none.
	Tags []Tag
	// SubSequenceNumber is the user record's position in its aggregated
	// record, from 0, as the KCL numbers them; 0 for a record that was not
	// aggregated.
	SubSequenceNumber uint64
	// SequenceNumber is the sequence number of the Kinesis record that
	// carried the user record. The adapters for SDK and Lambda records set
	// it; Deaggregate, which sees only bytes, leaves it "".
	SequenceNumber string
	// Aggregated reports whether the user record came out of a KPL aggregated
	// record.
	Aggregated bool
}

// Errors that FormatError wraps, for errors.Is: which check an aggregated
// record failed.
var (
	// ErrChecksum reports an MD5 trailer that does not match the protobuf
	// bytes. The KCL passes such records through unchanged as one record
	// (the magic could be chance); a caller that wants the same can catch
	// this error and use the data as it is.
	ErrChecksum = errors.New("MD5 digest does not match")
	// ErrTruncated reports data that ends inside a field, or an aggregated
	// record too short for the magic and the digest.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed reports bytes that are not a valid AggregatedRecord
	// message: a bad field tag or varint, a known field with the wrong wire
	// type, or a required field missing.
	ErrMalformed = errors.New("malformed protobuf")
	// ErrIndexOutOfRange reports a user record whose partition key index or
	// explicit hash key index points past the end of its table.
	ErrIndexOutOfRange = errors.New("table index out of range")
	// ErrTooManyRecords reports an aggregated record holding more user
	// records than WithMaxUserRecords allows.
	ErrTooManyRecords = errors.New("too many user records")
	// ErrHashKey reports an explicit hash key that is not a valid decimal
	// hash key; only checked under WithShardHashKeyRange.
	ErrHashKey = errors.New("invalid explicit hash key")
)

// FormatError describes why an aggregated record could not be read: which
// check failed (Err, one of the Err* variables above), where (Offset, a byte
// offset into the Kinesis record's data), and in which user record.
type FormatError struct {
	// Offset is the byte offset in the Kinesis record's data where the
	// problem was found.
	Offset int
	// UserRecord is the sub-sequence number of the user record being read,
	// or -1 if the problem is outside any user record.
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
	return fmt.Sprintf("consumer: KPL aggregated record: %s: %s: %v", where, e.Detail, e.Err)
}

// Unwrap returns Err.
func (e *FormatError) Unwrap() error { return e.Err }

// IsAggregated reports whether data starts with the KPL magic bytes, that is
// whether Deaggregate reads it as an aggregated record rather than passing it
// through as one plain record.
func IsAggregated(data []byte) bool {
	return len(data) >= len(aggregation.Magic) && [4]byte(data[:4]) == aggregation.Magic
}

// Deaggregate reads one Kinesis record's data and partition key with the
// default settings: see Deaggregator.Deaggregate.
func Deaggregate(data []byte, partitionKey string) ([]UserRecord, error) {
	var d Deaggregator
	return d.Deaggregate(data, partitionKey)
}

// Deaggregator turns Kinesis records into user records. The zero value uses
// the defaults (checksums verified, no shard-range check, no record limit
// beyond what the input can hold). It is safe for concurrent use.
type Deaggregator struct {
	cfg config
}

// NewDeaggregator returns a Deaggregator with the given options, or an error
// naming the option whose value is invalid.
func NewDeaggregator(opts ...Option) (*Deaggregator, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	return &Deaggregator{cfg: cfg}, nil
}

// Deaggregate reads one Kinesis record, given its data and partition key.
//
// Data that does not start with the KPL magic bytes is one plain user record
// with the given partition key. Data that does is read as a KPL aggregated
// record: the MD5 trailer is checked (unless WithChecksum(false)), then every
// user record comes out in order, each with its own partition key, explicit
// hash key, data and tags. Anything wrong gives a *FormatError and no user
// records. Bad input never panics, and memory allocated is bounded by the
// size of data, whatever its length fields claim.
//
// Under WithShardHashKeyRange, user records whose hash key falls outside the
// shard's range are reported in a *ShardRangeError, returned together with
// all the user records: the KCL drops the whole aggregated record in that
// case, and a caller that wants the same drops them all.
func (d *Deaggregator) Deaggregate(data []byte, partitionKey string) ([]UserRecord, error) {
	return d.AppendDeaggregated(nil, data, partitionKey)
}

// AppendDeaggregated is Deaggregate appending to dst, so that a caller can
// reuse one slice across records. On error it returns dst unchanged, except
// for a *ShardRangeError, which comes with the user records appended.
func (d *Deaggregator) AppendDeaggregated(dst []UserRecord, data []byte, partitionKey string) ([]UserRecord, error) {
	if !IsAggregated(data) {
		return append(dst, UserRecord{PartitionKey: partitionKey, Data: data[:len(data):len(data)]}), nil
	}
	const overhead = len(aggregation.Magic) + aggregation.DigestSize
	if len(data) < overhead {
		return dst, &FormatError{Offset: len(data), UserRecord: -1, Err: ErrTruncated,
			Detail: fmt.Sprintf("%d bytes after the magic, too short for the %d-byte digest", len(data)-len(aggregation.Magic), aggregation.DigestSize)}
	}
	pb := data[len(aggregation.Magic) : len(data)-aggregation.DigestSize]
	if !d.cfg.skipChecksum {
		sum := md5.Sum(pb)
		if !bytes.Equal(sum[:], data[len(data)-aggregation.DigestSize:]) {
			return dst, &FormatError{Offset: len(data) - aggregation.DigestSize, UserRecord: -1, Err: ErrChecksum,
				Detail: fmt.Sprintf("trailer %x, digest of the %d protobuf bytes %x", data[len(data)-aggregation.DigestSize:], len(pb), sum)}
		}
	}
	start := len(dst)
	p := parser{pb: pb, base: len(aggregation.Magic), maxRecords: d.cfg.maxRecords}
	if p.fastScan() {
		dst = p.fastBuild(dst)
	} else {
		p = parser{pb: pb, base: len(aggregation.Magic), maxRecords: d.cfg.maxRecords}
		if err := p.scan(); err != nil {
			return dst, err
		}
		dst = p.build(dst)
	}
	if d.cfg.checkRange {
		if err := d.cfg.shard.check(dst[start:]); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// parser reads an AggregatedRecord in two passes: scan validates everything
// and counts what build will need, so build allocates each slice once, at its
// exact size, and only for input that is known to be good.
type parser struct {
	pb         []byte // the AggregatedRecord message
	base       int    // offset of pb in the Kinesis record's data
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

// Field numbers of the KPL messages.
const (
	fieldPartitionKeyTable    = 1
	fieldExplicitHashKeyTable = 2
	fieldRecords              = 3
	fieldPartitionKeyIndex    = 1
	fieldExplicitHashKeyIndex = 2
	fieldData                 = 3
	fieldTags                 = 4
	fieldTagKey               = 1
	fieldTagValue             = 2
)

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

// build decodes the message scan validated, appending its user records to
// dst. Repeated fields keep the last value, as protobuf parsers do. It
// checks what it relies on again, so that input changed by a data race
// between the passes cannot make it loop or panic.
func (p *parser) build(dst []UserRecord) []UserRecord {
	ar, pks, ehks, tags := p.alloc()
	dst = slices.Grow(dst, p.records)
	first := len(dst)
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
	for off := 0; off < len(p.pb); {
		f, end, _, err := next(p.pb, off)
		if err != nil {
			break
		}
		off = end
		if f.num != fieldRecords {
			continue
		}
		dst = append(dst, UserRecord{SubSequenceNumber: uint64(len(dst) - first), Aggregated: true})
		u := &dst[len(dst)-1]
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
