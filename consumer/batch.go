package consumer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Record is one user record read from a stream and decoded: where it was found, its
// payload and the OTLP request it holds.
type Record struct {
	UserRecord
	// Shard is the ID of the shard the Kinesis record was read from; "" when the caller
	// did not say.
	Shard string
	// Index is the position, in the batch handed to the Reader, of the Kinesis record
	// that carried this user record.
	Index int
	// ArrivalTime is the Kinesis record's approximate arrival time; zero when unknown.
	ArrivalTime time.Time
	// Payload is the OTLP request as written, with its content encoding undone:
	// protobuf or OTLP/JSON as Telemetry.Format.ContentType says. It may share memory
	// with the Kinesis record's data.
	Payload []byte
	// Telemetry is the decoded request.
	Telemetry Telemetry
}

// RecordError says which record could not be read and why. A batch goes on past it:
// the other records are still read.
type RecordError struct {
	// Shard is the ID of the shard the record was read from; "" when unknown.
	Shard string
	// SequenceNumber is the Kinesis record's sequence number; "" when unknown.
	SequenceNumber string
	// SubSequenceNumber is the user record's position in its aggregated record, or -1
	// when the error concerns the Kinesis record as a whole (it could not be
	// deaggregated, or its user records break the shard's hash key range).
	SubSequenceNumber int64
	// PartitionKey is the user record's partition key, or the Kinesis record's when
	// SubSequenceNumber is -1.
	PartitionKey string
	// Index is the position of the Kinesis record in the batch handed to the Reader.
	Index int
	// Err is why: a *FormatError, a *ShardRangeError, ErrNoFormat, ErrTooLarge, or a
	// decompression or unmarshalling error.
	Err error
}

// Error names the record (shard, sequence number, sub-sequence number, partition key)
// and says why it could not be read.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString("consumer: ")
	if e.Shard != "" {
		b.WriteString("shard ")
		b.WriteString(e.Shard)
		b.WriteString(", ")
	}
	if e.SequenceNumber != "" {
		b.WriteString("sequence number ")
		b.WriteString(e.SequenceNumber)
	} else {
		fmt.Fprintf(&b, "record %d of the batch", e.Index)
	}
	if e.SubSequenceNumber >= 0 {
		fmt.Fprintf(&b, ", sub-sequence %d", e.SubSequenceNumber)
	} else {
		b.WriteString(" (whole record)")
	}
	fmt.Fprintf(&b, ", partition key %q: %v", e.PartitionKey, e.Err)
	return b.String()
}

// Unwrap returns Err.
func (e *RecordError) Unwrap() error { return e.Err }

// Batch is what a Reader made of a batch of Kinesis records: every user record that
// decoded, and one error for every record that did not. Both are in stream order.
//
// The decoded telemetry of a batch shares memory: its messages come from chunks
// allocated for the whole batch, and its strings and bytes fields from one private copy
// of the payloads. Keeping any of it keeps those chunks. Release hands them back.
type Batch struct {
	// Records are the decoded user records.
	Records []Record
	// Errors are the records that could not be read.
	Errors []*RecordError

	reader *Reader
	arena  *otlpArena // where the batch's telemetry comes from
	ahead  int        // bytes of Kinesis record data still to read, for sizing chunks
}

// Release hands the memory of the batch's decoded telemetry back to its Reader, which
// decodes a later batch into it, and empties the batch. It is optional: without it,
// the garbage collector frees the memory once nothing uses it; with it, a consumer
// that is done with each batch before it reads the next (one that forwards, prints or
// aggregates the telemetry, then moves on) decodes OTLP protobuf with next to no
// allocation, and so without the garbage collection that otherwise costs about as much
// as the decoding itself.
//
// Call it only when nothing of the batch is used any more: no Record, Telemetry or
// message, and no string or byte slice taken from one (copy what you keep). The next
// batch overwrites them all. Release is not safe for concurrent use with anything
// else on the same batch; calling it twice does nothing.
func (b *Batch) Release() {
	if b.arena == nil || b.reader == nil {
		return
	}
	a := b.arena
	a.reset(true)
	clear(b.Records)
	a.records = b.Records[:0]
	b.reader.arenas.Put(a)
	b.arena, b.Records, b.Errors = nil, nil, nil
}

// newBatch returns a batch for records holding size bytes of data.
func (r *Reader) newBatch(size int) *Batch {
	return &Batch{reader: r, ahead: size}
}

// Failed reports whether any error concerns the Kinesis record at index i of the batch.
func (b *Batch) Failed(i int) bool {
	for _, e := range b.Errors {
		if e.Index == i {
			return true
		}
	}
	return false
}

// Err joins the batch's errors, or is nil when every record was read.
func (b *Batch) Err() error {
	if len(b.Errors) == 0 {
		return nil
	}
	errs := make([]error, len(b.Errors))
	for i, e := range b.Errors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Reader reads batches of Kinesis records into decoded telemetry: it deaggregates each
// record, reads each user record's format from its tags (or the Decoder's WithFormat),
// undoes its compression and unmarshals it. A record that fails does not stop the
// others: it becomes a RecordError in the Batch. A Reader is safe for concurrent use.
type Reader struct {
	deagg  *Deaggregator
	dec    *Decoder
	arenas sync.Pool // *otlpArena, kept by Batch.Release for reuse
}

// NewReader returns a Reader that decodes with dec and deaggregates with the options
// given (those of NewDeaggregator: WithShard for the KCL's shard-range rule,
// WithChecksum, WithMaxUserRecords). dec stays the caller's to Close.
func NewReader(dec *Decoder, opts ...Option) (*Reader, error) {
	if dec == nil {
		return nil, errors.New("consumer: NewReader: nil Decoder")
	}
	deagg, err := NewDeaggregator(opts...)
	if err != nil {
		return nil, err
	}
	return &Reader{deagg: deagg, dec: dec}, nil
}

// ReadRecords reads records returned by GetRecords (aws-sdk-go-v2) from shard.
func (r *Reader) ReadRecords(shard string, records []types.Record) *Batch {
	size := 0
	for _, kr := range records {
		size += len(kr.Data)
	}
	b := r.newBatch(size)
	for i, kr := range records {
		r.add(b, shard, i, aws.ToString(kr.SequenceNumber), aws.ToString(kr.PartitionKey), kr.Data, aws.ToTime(kr.ApproximateArrivalTimestamp))
	}
	return b
}

// ReadLambdaEvent reads the records of a Lambda Kinesis event (aws-lambda-go). Each
// record's shard comes from its event ID ("shardId-...:sequence number").
func (r *Reader) ReadLambdaEvent(records []events.KinesisEventRecord) *Batch {
	size := 0
	for _, er := range records {
		size += len(er.Kinesis.Data)
	}
	b := r.newBatch(size)
	for i, er := range records {
		r.add(b, LambdaShardID(er), i, er.Kinesis.SequenceNumber, er.Kinesis.PartitionKey, er.Kinesis.Data, er.Kinesis.ApproximateArrivalTimestamp.Time)
	}
	return b
}

// ReadData reads one Kinesis record given as bytes and keys, appending to b what it
// holds; index is the record's position in the caller's batch. shard and
// sequenceNumber may be "" when unknown; they only name the record in errors. b may be
// a new Batch{}; its Release then hands the memory to r.
func (r *Reader) ReadData(b *Batch, index int, shard, sequenceNumber, partitionKey string, data []byte) {
	if b.reader == nil {
		b.reader = r
	}
	r.add(b, shard, index, sequenceNumber, partitionKey, data, time.Time{})
}

// LambdaShardID returns the shard ID of a Lambda Kinesis event record: the part of its
// event ID before the colon, or "" when the event ID has none.
func LambdaShardID(er events.KinesisEventRecord) string {
	id, _, ok := strings.Cut(er.EventID, ":")
	if !ok {
		return ""
	}
	return id
}

func (r *Reader) add(b *Batch, shard string, index int, seq, pk string, data []byte, arrival time.Time) {
	if b.arena == nil {
		a, _ := b.reader.arenas.Get().(*otlpArena)
		if a == nil {
			a = newOTLPArena()
		}
		b.arena = a
		if b.Records == nil {
			b.Records, a.records = a.records, nil
		}
	}
	urs, err := r.deagg.AppendDeaggregated(b.arena.users[:0], data, pk)
	b.arena.users = urs[:0]
	if err != nil {
		b.Errors = append(b.Errors, &RecordError{Shard: shard, SequenceNumber: seq, SubSequenceNumber: -1,
			PartitionKey: pk, Index: index, Err: err})
		var sre *ShardRangeError
		if !errors.As(err, &sre) {
			return
		}
		// The user records are whole: deliver them, with the error said.
	}
	b.ahead -= len(data)
	rest := 0 // payload bytes of the user records after the current one
	for _, ur := range urs {
		rest += len(ur.Data)
	}
	b.Records = slices.Grow(b.Records, len(urs))
	for _, ur := range urs {
		ur.SequenceNumber = seq
		rest -= len(ur.Data)
		b.arena.ahead = max(0, b.ahead) + rest
		t, payload, err := r.dec.decode(ur, b.arena)
		if err != nil {
			b.Errors = append(b.Errors, &RecordError{Shard: shard, SequenceNumber: seq,
				SubSequenceNumber: int64(ur.SubSequenceNumber), PartitionKey: ur.PartitionKey, Index: index, Err: err})
			continue
		}
		b.Records = append(b.Records, Record{UserRecord: ur, Shard: shard, Index: index, ArrivalTime: arrival,
			Payload: payload, Telemetry: t})
	}
}
