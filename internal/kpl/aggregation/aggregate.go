package aggregation

import (
	"crypto/md5"
	"math/bits"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Aggregator builds one KPL aggregated record incrementally: user records go
// in with Add, and AppendTo writes the magic, the AggregatedRecord message
// (partition_key_table, explicit_hash_key_table, records, in that order, as
// the KPL writes them) and the MD5 digest. Partition keys and explicit hash
// keys are stored once each in their tables. Size reports the exact length
// AppendTo would write, and SizeWith the length after one more Add, so a
// caller can stop at a byte limit exactly.
//
// The zero value is an empty aggregator ready to use. Reset empties it and
// keeps its buffers, so an aggregator reused this way does not allocate per
// user record once its buffers have grown to the size of an aggregate.
// An Aggregator keeps the key and tag strings it is given until Reset.
// It is not safe for concurrent use.
type Aggregator struct {
	pk      keyTable // partition_key_table
	ehk     keyTable // explicit_hash_key_table
	records []byte   // encoded records entries
	count   int      // user records in records
	tags    tagCache
}

// Reset empties the aggregator, keeping its buffers for reuse.
func (a *Aggregator) Reset() {
	a.pk.reset()
	a.ehk.reset()
	a.records = a.records[:0]
	a.count = 0
	a.tags.reset()
}

// Count returns the number of user records added since the last Reset.
func (a *Aggregator) Count() int { return a.count }

// Size returns the exact number of bytes AppendTo would write now: magic,
// protobuf message and digest. An empty aggregator's size is 20.
func (a *Aggregator) Size() int {
	return overhead + len(a.pk.enc) + len(a.ehk.enc) + len(a.records)
}

// SizeWith returns exactly what Size would return after
// Add(partitionKey, explicitHashKey, data, tags) with len(data) == dataLen.
// It does not change the aggregator's contents.
func (a *Aggregator) SizeWith(partitionKey, explicitHashKey string, dataLen int, tags []Tag) int {
	n := a.Size()
	pki, isNew := a.pk.lookup(tagPartitionKeyTable, partitionKey, false)
	if isNew {
		n += 1 + sizeBytes(len(partitionKey))
	}
	var ehki uint32
	if explicitHashKey != "" {
		ehki, isNew = a.ehk.lookup(tagExplicitHashKeyTable, explicitHashKey, false)
		if isNew {
			n += 1 + sizeBytes(len(explicitHashKey))
		}
	}
	body := recordLen(pki, explicitHashKey != "", ehki, dataLen, a.tags.size(tags))
	return n + 1 + varintLen(uint64(body)) + body
}

// Add appends one user record. It copies data; the strings are kept until
// Reset. An empty explicitHashKey means none: the user record is then routed,
// by readers that check, by the hash of its partition key. A Tag with an
// empty Value is written without a value. Add does not validate keys (Kinesis
// wants partition keys of 1 to 256 characters and explicit hash keys as
// ParseHashKey accepts them); callers check them before.
func (a *Aggregator) Add(partitionKey, explicitHashKey string, data []byte, tags []Tag) {
	a.add(partitionKey, explicitHashKey, data, tags, -1)
}

// AddIfFits is Add if Size would then be at most limit, and reports whether
// it added the record; otherwise it leaves the aggregator as it was. It is
// SizeWith and Add in one call, with one key lookup instead of two: the
// cheapest way to fill aggregates up to a byte limit.
func (a *Aggregator) AddIfFits(partitionKey, explicitHashKey string, data []byte, tags []Tag, limit int) bool {
	return a.add(partitionKey, explicitHashKey, data, tags, limit)
}

// add is Add, and AddIfFits when limit >= 0.
func (a *Aggregator) add(partitionKey, explicitHashKey string, data []byte, tags []Tag, limit int) bool {
	// Keys go in first, and come out again if the record does not fit: that
	// happens once per aggregate, and saves a second lookup per record.
	pki, pkAdded := a.pk.lookup(tagPartitionKeyTable, partitionKey, true)
	hasEHK := explicitHashKey != ""
	var ehki uint32
	var ehkAdded bool
	if hasEHK {
		ehki, ehkAdded = a.ehk.lookup(tagExplicitHashKeyTable, explicitHashKey, true)
	}
	var tagBlock []byte
	if len(tags) > 0 {
		tagBlock = a.tags.encode(tags)
	}
	body := recordLen(pki, hasEHK, ehki, len(data), len(tagBlock))
	total := 1 + varintLen(uint64(body)) + body
	n := len(a.records)
	if limit >= 0 && overhead+len(a.pk.enc)+len(a.ehk.enc)+n+total > limit {
		if pkAdded {
			a.pk.unput()
		}
		if ehkAdded {
			a.ehk.unput()
		}
		return false
	}
	// Grow once, then write in place: cheaper than a dozen appends.
	if cap(a.records)-n < total {
		a.records = slices.Grow(a.records, total)
	}
	a.records = a.records[:n+total]
	b := a.records[n:]
	b[0] = tagRecords
	i := 1 + putVarint(b[1:], uint64(body))
	b[i] = tagPartitionKeyIndex
	i += 1 + putVarint(b[i+1:], uint64(pki))
	if hasEHK {
		b[i] = tagExplicitHashKeyIndex
		i += 1 + putVarint(b[i+1:], uint64(ehki))
	}
	b[i] = tagData
	i += 1 + putVarint(b[i+1:], uint64(len(data)))
	i += copy(b[i:], data)
	if len(tagBlock) > 0 {
		copy(b[i:], tagBlock)
	}
	a.count++
	return true
}

// tagCache holds the encoding of the tag list seen last. Producers put the
// same few tags on every record, so this turns encoding them into a handful
// of pointer comparisons.
type tagCache struct {
	tags []Tag  // copy of the list encoded in enc
	enc  []byte // its encoding as repeated Record.tags fields
}

// cached reports whether tags is the list encoded in c.enc.
func (c *tagCache) cached(tags []Tag) bool {
	if len(tags) != len(c.tags) {
		return false
	}
	for i, t := range tags {
		if !sameString(t.Key, c.tags[i].Key) || !sameString(t.Value, c.tags[i].Value) {
			return false
		}
	}
	return true
}

// size returns the encoded size of tags as repeated Record.tags fields,
// without changing the cache (so without allocating).
func (c *tagCache) size(tags []Tag) int {
	if len(tags) == 0 {
		return 0
	}
	if c.cached(tags) {
		return len(c.enc)
	}
	n := 0
	for _, t := range tags {
		n += 1 + sizeBytes(tagLen(t))
	}
	return n
}

// encode returns the encoding of tags as repeated Record.tags fields. The
// result is valid until the next call.
func (c *tagCache) encode(tags []Tag) []byte {
	if len(tags) == 0 {
		return nil
	}
	if c.cached(tags) {
		return c.enc
	}
	c.tags = append(c.tags[:0], tags...)
	c.enc = appendTags(c.enc[:0], tags)
	return c.enc
}

// appendTags appends tags as repeated Record.tags fields.
func appendTags(b []byte, tags []Tag) []byte {
	for _, t := range tags {
		b = append(b, tagTags)
		b = appendVarint(b, uint64(tagLen(t)))
		b = append(b, tagTagKey)
		b = appendVarint(b, uint64(len(t.Key)))
		b = append(b, t.Key...)
		if t.Value != "" {
			b = append(b, tagTagValue)
			b = appendVarint(b, uint64(len(t.Value)))
			b = append(b, t.Value...)
		}
	}
	return b
}

// reset drops the cached strings.
func (c *tagCache) reset() {
	clear(c.tags)
	c.tags = c.tags[:0]
}

// AppendTo appends the aggregated record (magic, AggregatedRecord, MD5 of
// the AggregatedRecord bytes) to dst and returns the extended slice. It
// appends exactly Size() bytes and allocates only if dst lacks the room. It
// does not Reset the aggregator.
func (a *Aggregator) AppendTo(dst []byte) []byte {
	dst = append(dst, Magic[:]...)
	start := len(dst)
	dst = append(dst, a.pk.enc...)
	dst = append(dst, a.ehk.enc...)
	dst = append(dst, a.records...)
	sum := md5.Sum(dst[start:])
	return append(dst, sum[:]...)
}

// SingleSize returns the size of the aggregated record of one user record:
// what AppendSingle appends, and what an empty Aggregator's Size is after
// Add(partitionKey, explicitHashKey, data, tags) with len(data) == dataLen.
func SingleSize(partitionKey, explicitHashKey string, dataLen int, tags []Tag) int {
	var a Aggregator
	return a.SizeWith(partitionKey, explicitHashKey, dataLen, tags)
}

// AppendSingle appends to dst the aggregated record of one user record,
// byte for byte what an empty Aggregator appends after Add(partitionKey,
// explicitHashKey, data, tags), and returns the extended slice. It writes
// data once, straight into dst, where the Aggregator copies it into its own
// buffer first: the cheaper way for a user record that goes alone. It
// allocates only if dst lacks the room (SingleSize).
func AppendSingle(dst []byte, partitionKey, explicitHashKey string, data []byte, tags []Tag) []byte {
	dst = append(dst, Magic[:]...)
	start := len(dst)
	dst = append(dst, tagPartitionKeyTable)
	dst = appendVarint(dst, uint64(len(partitionKey)))
	dst = append(dst, partitionKey...)
	hasEHK := explicitHashKey != ""
	if hasEHK {
		dst = append(dst, tagExplicitHashKeyTable)
		dst = appendVarint(dst, uint64(len(explicitHashKey)))
		dst = append(dst, explicitHashKey...)
	}
	tagsLen := 0
	for _, t := range tags {
		tagsLen += 1 + sizeBytes(tagLen(t))
	}
	dst = append(dst, tagRecords)
	dst = appendVarint(dst, uint64(recordLen(0, hasEHK, 0, len(data), tagsLen)))
	dst = append(dst, tagPartitionKeyIndex, 0)
	if hasEHK {
		dst = append(dst, tagExplicitHashKeyIndex, 0)
	}
	dst = append(dst, tagData)
	dst = appendVarint(dst, uint64(len(data)))
	dst = append(dst, data...)
	dst = appendTags(dst, tags)
	sum := md5.Sum(dst[start:])
	return append(dst, sum[:]...)
}

// PartitionKey returns the partition key of the i-th user record added since
// the last Reset (0 <= i < Count()), as a caller needs for the outer Kinesis
// record. The first user record's key is the table's first entry; a later
// one's is found by walking the records, so it takes time in i.
func (a *Aggregator) PartitionKey(i int) string {
	b := a.records
	for ; i > 0; i-- {
		n, k := protowire.ConsumeVarint(b[1:])
		b = b[1+k+int(n):]
	}
	// b starts with a records entry: tag, length, then partition_key_index.
	_, k := protowire.ConsumeVarint(b[1:])
	pki, _ := protowire.ConsumeVarint(b[2+k:])
	return a.pk.keys[pki]
}

// recordLen returns the encoded length of a Record message body whose tags
// encode to tagsLen bytes.
func recordLen(pki uint32, hasEHK bool, ehki uint32, dataLen, tagsLen int) int {
	n := 1 + varintLen(uint64(pki)) + 1 + varintLen(uint64(dataLen)) + dataLen + tagsLen
	if hasEHK {
		n += 1 + varintLen(uint64(ehki))
	}
	return n
}

// tagLen returns the encoded length of a Tag message body.
func tagLen(t Tag) int {
	n := 1 + sizeBytes(len(t.Key))
	if t.Value != "" {
		n += 1 + sizeBytes(len(t.Value))
	}
	return n
}

// appendVarint appends v as a protobuf varint, with the one-byte case inlined.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// varintLen returns the size of v as a protobuf varint.
func varintLen(v uint64) int {
	return int((9*uint32(bits.Len64(v)) + 64) / 64)
}

// putVarint writes v as a protobuf varint at the start of b, which must have
// room, and returns the number of bytes written.
func putVarint(b []byte, v uint64) int {
	if v < 0x80 {
		b[0] = byte(v)
		return 1
	}
	if v < 0x4000 {
		_ = b[1]
		b[0] = byte(v) | 0x80
		b[1] = byte(v >> 7)
		return 2
	}
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}

// sizeBytes returns the size of a length-delimited payload of n bytes with
// its length prefix (not its tag).
func sizeBytes(n int) int { return varintLen(uint64(n)) + n }
