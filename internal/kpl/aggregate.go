package kpl

import (
	"crypto/md5"
	"hash/maphash"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// Magic is the four bytes that open every KPL aggregated record.
var Magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// DigestSize is the size of the MD5 digest that closes every KPL aggregated
// record: the digest of the protobuf bytes between the magic and itself.
const DigestSize = md5.Size

// Tag is a key-value pair attached to a user record inside an aggregated
// record. Standard deaggregators ignore tags; otelkinesis uses them to say
// which signal, encoding and compression a user record holds.
type Tag struct{ Key, Value string }

// Protobuf tags (field number << 3 | wire type) of the KPL messages. Every
// field used is length-delimited (2) or varint (0).
const (
	tagPartitionKeyTable    = 1<<3 | byte(protowire.BytesType)  // AggregatedRecord.partition_key_table
	tagExplicitHashKeyTable = 2<<3 | byte(protowire.BytesType)  // AggregatedRecord.explicit_hash_key_table
	tagRecords              = 3<<3 | byte(protowire.BytesType)  // AggregatedRecord.records
	tagPartitionKeyIndex    = 1<<3 | byte(protowire.VarintType) // Record.partition_key_index
	tagExplicitHashKeyIndex = 2<<3 | byte(protowire.VarintType) // Record.explicit_hash_key_index
	tagData                 = 3<<3 | byte(protowire.BytesType)  // Record.data
	tagTags                 = 4<<3 | byte(protowire.BytesType)  // Record.tags
	tagTagKey               = 1<<3 | byte(protowire.BytesType)  // Tag.key
	tagTagValue             = 2<<3 | byte(protowire.BytesType)  // Tag.value
)

// overhead is what an aggregated record costs beyond its protobuf message.
const overhead = len(Magic) + DigestSize

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
	recPK   []uint32 // partition key index of each user record
	tags    tagCache
}

// keyTable is one deduplicated string table of an AggregatedRecord, with
// its own open-addressing index. It remembers its last lookup, so the Add
// that follows a SizeWith for the same key neither hashes nor probes again.
type keyTable struct {
	enc   []byte   // encoded table entries, each with its field tag
	keys  []string // the entries, by index
	slots []slot   // index into keys by hash; length a power of two, at most half full
	seed  maphash.Seed
	last  uint32 // index of the entry found or added last

	memo memo // the last hashed lookup
}

// slot is one entry of keyTable's index. idx is the index in keys plus one
// (0 = empty); check holds the hash's top bits, to skip most string compares.
type slot struct{ idx, check uint32 }

// memo is the outcome of a hashed lookup. It stays true while the table holds
// the same number of keys, since keys are only ever added.
type memo struct {
	key   string
	n     int // len(keys)+1 when looked up; 0 = no lookup
	hash  uint64
	index uint32 // if found
	found bool
	at    int // the empty slot where key goes, if not found; -1 while the table is empty
}

// sameString reports whether a and b are the same string in memory, a
// check that costs no byte comparison.
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// find looks k up and leaves the outcome in t.memo: its index if found,
// else the slot where it would go.
func (t *keyTable) find(k string) *memo {
	m := &t.memo
	if m.n == len(t.keys)+1 && sameString(m.key, k) {
		return m
	}
	m.key, m.n = k, len(t.keys)+1
	if len(t.keys) == 0 {
		// Nothing to find, and nothing to allocate: SizeWith on an empty
		// aggregator stays free. commit finds the slot.
		m.found, m.at = false, -1
		return m
	}
	// Runs of one key are common (one key per batch); skip hashing for them.
	if sameString(t.keys[t.last], k) {
		m.index, m.found = t.last, true
		return m
	}
	h := maphash.String(t.seed, k)
	m.hash = h
	mask := len(t.slots) - 1
	check := uint32(h >> 32)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx == 0 {
			m.at, m.found = i, false
			return m
		}
		if s.check == check && t.keys[s.idx-1] == k {
			m.index, m.found = s.idx-1, true
			return m
		}
	}
}

// commit makes the key looked up last by find (m == &t.memo, for key k)
// the table's current entry, adding it if it is new, and returns its index.
func (t *keyTable) commit(tag byte, k string, m *memo) uint32 {
	if m.found {
		t.last = m.index
		return m.index
	}
	if m.at < 0 { // the table is empty
		if len(t.slots) == 0 {
			t.seed = maphash.MakeSeed()
			t.slots = make([]slot, 16)
		}
		m.hash = maphash.String(t.seed, k)
		m.at = int(m.hash) & (len(t.slots) - 1)
	}
	i := uint32(len(t.keys))
	t.keys = append(t.keys, k)
	t.slots[m.at] = slot{idx: i + 1, check: uint32(m.hash >> 32)}
	if 2*len(t.keys) > len(t.slots) {
		t.grow()
	}
	t.enc = append(t.enc, tag)
	t.enc = appendVarint(t.enc, uint64(len(k)))
	t.enc = append(t.enc, k...)
	t.last = i
	return i
}

// lookup returns k's index after adding it, and how many bytes adding it
// would add to the table (0 if it is there).
func (t *keyTable) lookup(k string) (m *memo, index uint32, grow int) {
	m = t.find(k)
	if m.found {
		return m, m.index, 0
	}
	return m, uint32(len(t.keys)), 1 + sizeBytes(len(k))
}

// grow doubles the index and reinserts every key.
func (t *keyTable) grow() {
	t.slots = make([]slot, 2*len(t.slots))
	mask := len(t.slots) - 1
	for j, k := range t.keys {
		h := maphash.String(t.seed, k)
		i := int(h) & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = slot{idx: uint32(j) + 1, check: uint32(h >> 32)}
	}
}

// reset empties the table, keeping its buffers and dropping its references
// to the caller's strings.
func (t *keyTable) reset() {
	t.enc = t.enc[:0]
	clear(t.keys)
	t.keys = t.keys[:0]
	clear(t.slots)
	t.last = 0
	t.memo = memo{}
}

// Reset empties the aggregator, keeping its buffers for reuse.
func (a *Aggregator) Reset() {
	a.pk.reset()
	a.ehk.reset()
	a.records = a.records[:0]
	a.recPK = a.recPK[:0]
	a.tags.reset()
}

// Count returns the number of user records added since the last Reset.
func (a *Aggregator) Count() int { return len(a.recPK) }

// Size returns the exact number of bytes AppendTo would write now: magic,
// protobuf message and digest. An empty aggregator's size is 20.
func (a *Aggregator) Size() int {
	return overhead + len(a.pk.enc) + len(a.ehk.enc) + len(a.records)
}

// SizeWith returns exactly what Size would return after
// Add(partitionKey, explicitHashKey, data, tags) with len(data) == dataLen.
// It does not change the aggregator's contents.
func (a *Aggregator) SizeWith(partitionKey, explicitHashKey string, dataLen int, tags []Tag) int {
	_, pki, grow := a.pk.lookup(partitionKey)
	n := a.Size() + grow
	var ehki uint32
	if explicitHashKey != "" {
		_, ehki, grow = a.ehk.lookup(explicitHashKey)
		n += grow
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
	pm, pki, grow := a.pk.lookup(partitionKey)
	hasEHK := explicitHashKey != ""
	var em *memo
	var ehki uint32
	if hasEHK {
		var egrow int
		em, ehki, egrow = a.ehk.lookup(explicitHashKey)
		grow += egrow
	}
	tagBlock := a.tags.encode(tags)
	body := recordLen(pki, hasEHK, ehki, len(data), len(tagBlock))
	total := 1 + varintLen(uint64(body)) + body
	if limit >= 0 && a.Size()+grow+total > limit {
		return false
	}
	a.pk.commit(tagPartitionKeyTable, partitionKey, pm)
	if hasEHK {
		a.ehk.commit(tagExplicitHashKeyTable, explicitHashKey, em)
	}
	// Grow once, then write in place: cheaper than a dozen appends.
	n := len(a.records)
	a.records = slices.Grow(a.records, total)[:n+total]
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
	copy(b[i:], tagBlock)
	a.recPK = append(a.recPK, pki)
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
	b := c.enc[:0]
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
	c.enc = b
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

// PartitionKey returns the partition key of the i-th user record added since
// the last Reset (0 <= i < Count()), as a caller needs for the outer Kinesis
// record.
func (a *Aggregator) PartitionKey(i int) string { return a.pk.keys[a.recPK[i]] }

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
	if v < 0x80 {
		return 1
	}
	return protowire.SizeVarint(v)
}

// putVarint writes v as a protobuf varint at the start of b, which must have
// room, and returns the number of bytes written.
func putVarint(b []byte, v uint64) int {
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
