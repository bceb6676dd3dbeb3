package consumer

import (
	"errors"
	"fmt"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/propagation"
)

// Tag is a tag of a user record: a key-value pair attached to it inside its
// KPL aggregated record. Standard deaggregators ignore tags; otelkinesis
// writes them to say which signal, encoding and compression a user record
// holds. It is propagation.Tag, the module's one tag type, so that tags read
// here go to otelkinesis.Producer.Put or propagation.Consumer.Extract as they
// are.
type Tag = propagation.Tag

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
	ErrChecksum = aggregation.ErrChecksum
	// ErrTruncated reports data that ends inside a field, or an aggregated
	// record too short for the magic and the digest.
	ErrTruncated = aggregation.ErrTruncated
	// ErrMalformed reports bytes that are not a valid AggregatedRecord
	// message: a bad field tag or varint, a known field with the wrong wire
	// type, or a required field missing.
	ErrMalformed = aggregation.ErrMalformed
	// ErrIndexOutOfRange reports a user record whose partition key index or
	// explicit hash key index points past the end of its table.
	ErrIndexOutOfRange = aggregation.ErrIndexOutOfRange
	// ErrTooManyRecords reports an aggregated record holding more user
	// records than WithMaxUserRecords allows.
	ErrTooManyRecords = aggregation.ErrTooManyRecords
	// ErrHashKey reports an explicit hash key that is not a valid decimal
	// hash key; only checked under WithShardHashKeyRange.
	ErrHashKey = errors.New("invalid explicit hash key")
)

// FormatError describes why an aggregated record could not be read: which
// check failed (Err, one of the Err* variables above), where (Offset, a byte
// offset into the Kinesis record's data), and in which user record.
type FormatError struct {
	// The fields are those of the reader's own error type, in the same
	// order, so that its errors convert to this one as they are.

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
	return "consumer: " + (*aggregation.FormatError)(e).Error()
}

// Unwrap returns Err.
func (e *FormatError) Unwrap() error { return e.Err }

// IsAggregated reports whether data starts with the KPL magic bytes, that is
// whether Deaggregate reads it as an aggregated record rather than passing it
// through as one plain record.
func IsAggregated(data []byte) bool { return aggregation.IsAggregated(data) }

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
	start := len(dst)
	dst, err := aggregation.AppendFunc(d.cfg.reader, dst, data, userRecord)
	if err != nil {
		if fe, ok := err.(*aggregation.FormatError); ok {
			return dst, (*FormatError)(fe)
		}
		return dst, fmt.Errorf("consumer: %w", err)
	}
	if d.cfg.checkRange {
		if err := d.cfg.shard.check(dst[start:]); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// userRecord is the UserRecord of r, the sub-th user record of an
// aggregated record.
func userRecord(sub int, r aggregation.Record) UserRecord {
	return UserRecord{PartitionKey: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey, Data: r.Data, Tags: aggregation.ConvertTags[Tag](r.Tags),
		SubSequenceNumber: uint64(sub), Aggregated: true}
}
