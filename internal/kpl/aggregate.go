package kpl

import (
	"crypto/md5"

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
	pkTable  []byte // encoded partition_key_table entries
	ehkTable []byte // encoded explicit_hash_key_table entries
	records  []byte // encoded records entries

	pks      []string          // partition key table, by index
	pkIndex  map[string]uint32 // partition key -> index in pks
	ehks     []string          // explicit hash key table, by index
	ehkIndex map[string]uint32 // explicit hash key -> index in ehks
	recPK    []uint32          // partition key index of each user record
}

// Reset empties the aggregator, keeping its buffers for reuse.
func (a *Aggregator) Reset() {
	a.pkTable = a.pkTable[:0]
	a.ehkTable = a.ehkTable[:0]
	a.records = a.records[:0]
	clear(a.pks) // drop references to the caller's strings
	a.pks = a.pks[:0]
	clear(a.ehks)
	a.ehks = a.ehks[:0]
	a.recPK = a.recPK[:0]
	clear(a.pkIndex)
	clear(a.ehkIndex)
}

// Count returns the number of user records added since the last Reset.
func (a *Aggregator) Count() int { return len(a.recPK) }

// Size returns the exact number of bytes AppendTo would write now: magic,
// protobuf message and digest. An empty aggregator's size is 20.
func (a *Aggregator) Size() int {
	return overhead + len(a.pkTable) + len(a.ehkTable) + len(a.records)
}

// SizeWith returns exactly what Size would return after
// Add(partitionKey, explicitHashKey, data, tags) with len(data) == dataLen.
// It does not change the aggregator.
func (a *Aggregator) SizeWith(partitionKey, explicitHashKey string, dataLen int, tags []Tag) int {
	n := a.Size()
	pki, ok := a.pkIndex[partitionKey]
	if !ok {
		pki = uint32(len(a.pks))
		n += 1 + sizeBytes(len(partitionKey))
	}
	var ehki uint32
	if explicitHashKey != "" {
		if ehki, ok = a.ehkIndex[explicitHashKey]; !ok {
			ehki = uint32(len(a.ehks))
			n += 1 + sizeBytes(len(explicitHashKey))
		}
	}
	return n + 1 + sizeBytes(recordLen(pki, explicitHashKey != "", ehki, dataLen, tags))
}

// Add appends one user record. It copies data; the strings are kept until
// Reset. An empty explicitHashKey means none: the user record is then routed,
// by readers that check, by the hash of its partition key. A Tag with an
// empty Value is written without a value. Add does not validate keys (Kinesis
// wants partition keys of 1 to 256 characters and explicit hash keys as
// ParseHashKey accepts them); callers check them before.
func (a *Aggregator) Add(partitionKey, explicitHashKey string, data []byte, tags []Tag) {
	pki := a.partitionKeyIndex(partitionKey)
	var ehki uint32
	if explicitHashKey != "" {
		ehki = a.explicitHashKeyIndex(explicitHashKey)
	}
	b := a.records
	b = append(b, tagRecords)
	b = protowire.AppendVarint(b, uint64(recordLen(pki, explicitHashKey != "", ehki, len(data), tags)))
	b = append(b, tagPartitionKeyIndex)
	b = protowire.AppendVarint(b, uint64(pki))
	if explicitHashKey != "" {
		b = append(b, tagExplicitHashKeyIndex)
		b = protowire.AppendVarint(b, uint64(ehki))
	}
	b = append(b, tagData)
	b = protowire.AppendVarint(b, uint64(len(data)))
	b = append(b, data...)
	for _, t := range tags {
		b = append(b, tagTags)
		b = protowire.AppendVarint(b, uint64(tagLen(t)))
		b = append(b, tagTagKey)
		b = protowire.AppendVarint(b, uint64(len(t.Key)))
		b = append(b, t.Key...)
		if t.Value != "" {
			b = append(b, tagTagValue)
			b = protowire.AppendVarint(b, uint64(len(t.Value)))
			b = append(b, t.Value...)
		}
	}
	a.records = b
	a.recPK = append(a.recPK, pki)
}

// partitionKeyIndex returns pk's index in the partition key table, adding it
// if it is new.
func (a *Aggregator) partitionKeyIndex(pk string) uint32 {
	// Runs of one key are common (one key per batch); skip the map for them.
	if n := len(a.recPK); n > 0 && a.pks[a.recPK[n-1]] == pk {
		return a.recPK[n-1]
	}
	if i, ok := a.pkIndex[pk]; ok {
		return i
	}
	if a.pkIndex == nil {
		a.pkIndex = make(map[string]uint32)
	}
	i := uint32(len(a.pks))
	a.pkIndex[pk] = i
	a.pks = append(a.pks, pk)
	a.pkTable = appendBytesField(a.pkTable, tagPartitionKeyTable, pk)
	return i
}

// explicitHashKeyIndex returns ehk's index in the explicit hash key table,
// adding it if it is new.
func (a *Aggregator) explicitHashKeyIndex(ehk string) uint32 {
	if n := len(a.ehks); n > 0 && a.ehks[n-1] == ehk {
		return uint32(n - 1)
	}
	if i, ok := a.ehkIndex[ehk]; ok {
		return i
	}
	if a.ehkIndex == nil {
		a.ehkIndex = make(map[string]uint32)
	}
	i := uint32(len(a.ehks))
	a.ehkIndex[ehk] = i
	a.ehks = append(a.ehks, ehk)
	a.ehkTable = appendBytesField(a.ehkTable, tagExplicitHashKeyTable, ehk)
	return i
}

// AppendTo appends the aggregated record (magic, AggregatedRecord, MD5 of
// the AggregatedRecord bytes) to dst and returns the extended slice. It
// appends exactly Size() bytes and allocates only if dst lacks the room. It
// does not Reset the aggregator.
func (a *Aggregator) AppendTo(dst []byte) []byte {
	dst = append(dst, Magic[:]...)
	start := len(dst)
	dst = append(dst, a.pkTable...)
	dst = append(dst, a.ehkTable...)
	dst = append(dst, a.records...)
	sum := md5.Sum(dst[start:])
	return append(dst, sum[:]...)
}

// PartitionKey returns the partition key of the i-th user record added since
// the last Reset (0 <= i < Count()), as a caller needs for the outer Kinesis
// record.
func (a *Aggregator) PartitionKey(i int) string { return a.pks[a.recPK[i]] }

// recordLen returns the encoded length of a Record message body.
func recordLen(pki uint32, hasEHK bool, ehki uint32, dataLen int, tags []Tag) int {
	n := 1 + protowire.SizeVarint(uint64(pki)) + 1 + sizeBytes(dataLen)
	if hasEHK {
		n += 1 + protowire.SizeVarint(uint64(ehki))
	}
	for _, t := range tags {
		n += 1 + sizeBytes(tagLen(t))
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

// sizeBytes returns the size of a length-delimited payload of n bytes with
// its length prefix (not its tag).
func sizeBytes(n int) int { return protowire.SizeVarint(uint64(n)) + n }

// appendBytesField appends one length-delimited field with a one-byte tag.
func appendBytesField(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = protowire.AppendVarint(b, uint64(len(s)))
	return append(b, s...)
}
