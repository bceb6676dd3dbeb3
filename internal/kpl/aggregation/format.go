package aggregation

import (
	"crypto/md5"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file holds what the writer (Aggregator, AppendSingle) and the reader
// (Reader) share: the framing and the numbers of the protobuf messages.

// Magic is the four bytes that open every KPL aggregated record.
var Magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// DigestSize is the size of the MD5 digest that closes every KPL aggregated
// record: the digest of the protobuf bytes between the magic and itself.
const DigestSize = md5.Size

// overhead is what an aggregated record costs beyond its protobuf message.
const overhead = len(Magic) + DigestSize

// IsAggregated reports whether data starts with the magic bytes, that is
// whether it is to be read as an aggregated record rather than as one plain
// record.
func IsAggregated(data []byte) bool {
	return len(data) >= len(Magic) && [4]byte(data[:4]) == Magic
}

// Tag is a key-value pair attached to a user record inside an aggregated
// record. Standard deaggregators ignore tags; otelkinesis uses them to say
// which signal, encoding and compression a user record holds. The public
// packages' tag type, propagation.Tag, is a struct of the same fields:
// ConvertTags turns a list of one into a list of the other.
type Tag struct{ Key, Value string }

// ConvertTags returns tags as a []To, sharing their memory: a list of tags
// read as another struct type of the same two string fields, Key then Value
// (the type constraint holds both to it, so they are laid out alike). It is
// how the public packages' tags and this package's cross between them
// without copying. The result has the length and capacity len(tags), and is
// nil if tags is nil.
func ConvertTags[To, From ~struct{ Key, Value string }](tags []From) []To {
	return unsafe.Slice((*To)(unsafe.Pointer(unsafe.SliceData(tags))), len(tags))
}

// Field numbers of the KPL messages.
const (
	fieldPartitionKeyTable    = 1 // AggregatedRecord.partition_key_table
	fieldExplicitHashKeyTable = 2 // AggregatedRecord.explicit_hash_key_table
	fieldRecords              = 3 // AggregatedRecord.records
	fieldPartitionKeyIndex    = 1 // Record.partition_key_index
	fieldExplicitHashKeyIndex = 2 // Record.explicit_hash_key_index
	fieldData                 = 3 // Record.data
	fieldTags                 = 4 // Record.tags
	fieldTagKey               = 1 // Tag.key
	fieldTagValue             = 2 // Tag.value
)

// One-byte protobuf tags (field number << 3 | wire type) of the KPL
// messages' fields, as they are written. Every field is length-delimited or
// varint.
const (
	tagPartitionKeyTable    = fieldPartitionKeyTable<<3 | byte(protowire.BytesType)
	tagExplicitHashKeyTable = fieldExplicitHashKeyTable<<3 | byte(protowire.BytesType)
	tagRecords              = fieldRecords<<3 | byte(protowire.BytesType)
	tagPartitionKeyIndex    = fieldPartitionKeyIndex<<3 | byte(protowire.VarintType)
	tagExplicitHashKeyIndex = fieldExplicitHashKeyIndex<<3 | byte(protowire.VarintType)
	tagData                 = fieldData<<3 | byte(protowire.BytesType)
	tagTags                 = fieldTags<<3 | byte(protowire.BytesType)
	tagTagKey               = fieldTagKey<<3 | byte(protowire.BytesType)
	tagTagValue             = fieldTagValue<<3 | byte(protowire.BytesType)
)
