package otlpwire

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

var logNames = signalNames{"resourceLogs", "scopeLogs", "logRecords"}

// LogConfig configures a [LogEncoder]. The zero value is valid: protobuf,
// 1 MiB records, log records with a trace ID partitioned by it and the
// others by resource.
type LogConfig struct {
	// Encoding of the records; default Protobuf.
	Encoding Encoding
	// MaxRecordSize is the most bytes one record's data may have; 0 means
	// DefaultMaxRecordSize. Leave room for whatever the caller adds
	// (compression framing, for one).
	MaxRecordSize int
	// Partitioning of log records into records; default PartitionByTraceID.
	// With PartitionByTraceID, a log record that carries a valid trace ID
	// shares records only with log records of the same trace, keyed by the
	// trace ID as 32 lowercase hex digits (the key its spans get from a
	// [TraceEncoder] by default, so a trace's logs land on its spans' shard);
	// a log record without one is partitioned by its resource, as
	// PartitionByResource does.
	Partitioning Partitioning
	// PartitionKey returns a log record's partition key; required with
	// PartitionByKey, unused otherwise. It is called once per log record.
	PartitionKey func(*sdklog.Record) string
}

// DroppedLogRecord describes a log record that was not written because a
// record holding only it would exceed the record size limit.
type DroppedLogRecord struct {
	// Index is the log record's position in the batch given to Encode.
	Index int
	// TraceID and SpanID are the log record's, zero when it has none.
	TraceID trace.TraceID
	SpanID  trace.SpanID
	// Timestamp is the log record's timestamp (or, when it has none, its
	// observed timestamp).
	Timestamp time.Time
	// Size is the size of the smallest record that could hold the log
	// record.
	Size int
	// Limit is the record size limit it exceeds.
	Limit int
}

// Error describes the drop, naming the log record, its size and the limit.
func (d DroppedLogRecord) Error() string {
	return fmt.Sprintf("log record %d of the batch (time %s, trace %s, span %s) dropped: a record holding it alone would take %s, over the record size limit of %d",
		d.Index, d.Timestamp.UTC().Format(time.RFC3339Nano), d.TraceID, d.SpanID, plural.Count(d.Size, "byte"), d.Limit)
}

// LogResult tells what one [LogEncoder.Encode] call did.
type LogResult struct {
	// Records is how many records were emitted (and accepted by the emit
	// function).
	Records int
	// LogRecords is how many log records those records hold.
	LogRecords int
	// Dropped lists the log records too large for any record, in the order
	// of the records they would have gone to. The slice is reused by the
	// next Encode call.
	Dropped []DroppedLogRecord
}

// LogEncoder writes batches of SDK log records as OTLP
// ExportLogsServiceRequest bytes, whole or split into records, the way
// [TraceEncoder] writes spans. It keeps scratch buffers from one call to the
// next so that a steady stream of batches allocates next to nothing. It is
// not safe for concurrent use: use one per goroutine (or a sync.Pool).
type LogEncoder struct {
	cfg     LogConfig
	b       builder
	keys    keyGroups // PartitionByKey
	resKeys resourceKeys
	dropped []DroppedLogRecord
	n       int // log records in the record being emitted
}

// NewLogEncoder returns an encoder for cfg, or an error naming the setting
// that is out of range.
func NewLogEncoder(cfg LogConfig) (*LogEncoder, error) {
	size, err := checkEncoderConfig(&cfg.Encoding, cfg.MaxRecordSize, cfg.Partitioning, cfg.PartitionKey != nil)
	if err != nil {
		return nil, err
	}
	cfg.MaxRecordSize = size
	return &LogEncoder{cfg: cfg}, nil
}

// Config returns the encoder's configuration with defaults filled in.
func (e *LogEncoder) Config() LogConfig { return e.cfg }

// AppendRequest appends to dst one ExportLogsServiceRequest holding every
// log record of records, grouped by resource and then by instrumentation
// scope as otlploghttp's transform groups them (resources and scopes in
// order of first appearance, log records in batch order), ignoring the
// record size limit and the partitioning. No log records give an empty
// request (no bytes in protobuf, {} in JSON).
//
// As otlploghttp does, resources group by their attributes' Equivalent()
// (the first one of a group supplies its schema URL), a resource without
// attributes is written as no Resource message, and the zero scope as no
// InstrumentationScope message.
func (e *LogEncoder) AppendRequest(dst []byte, records []sdklog.Record) []byte {
	e.load(records, false)
	return appendWhole(&e.b, dst)
}

// Encode writes records as records of the stream: each a complete
// ExportLogsServiceRequest no larger than the record size limit, holding
// the log records of one partition (see [LogConfig.Partitioning]) grouped by
// resource and scope, handed to emit with its partition key. A partition too
// large for one record is split between resources, scopes and log records,
// as few records as the greedy fill in batch order gives. A log record that
// would exceed the limit even alone is not written: it is listed in the
// result's Dropped.
//
// When emit returns an error, Encode stops and returns it (wrapped) with the
// counts of what emit accepted before; the rest of the batch is not written.
// [LogEncoder.RecordLogs] tells emit how many log records the record holds.
// Encode keeps no reference to records after it returns.
func (e *LogEncoder) Encode(records []sdklog.Record, emit EmitFunc) (LogResult, error) {
	e.dropped = e.dropped[:0]
	res := LogResult{}
	e.load(records, true)
	err := packRecords(&e.b, e.cfg.MaxRecordSize,
		func(it *item, size int) { e.drop(&records[it.idx], int(it.idx), size) },
		func(first, size int) error { return e.emit(&res, size, first, emit) })
	res.Dropped = e.dropped
	return res, err
}

// RecordLogs returns how many log records the record being emitted holds.
// It is meant for the EmitFunc of an Encode call.
func (e *LogEncoder) RecordLogs() int { return e.n }

func (e *LogEncoder) drop(r *sdklog.Record, idx, size int) {
	ts := r.Timestamp()
	if ts.IsZero() {
		ts = r.ObservedTimestamp()
	}
	e.dropped = append(e.dropped, DroppedLogRecord{
		Index: idx, TraceID: r.TraceID(), SpanID: r.SpanID(), Timestamp: ts,
		Size: size, Limit: e.cfg.MaxRecordSize,
	})
}

// emit writes the packed record b.rec, of the partition starting at item
// first, and hands it to fn.
func (e *LogEncoder) emit(res *LogResult, size, first int, fn EmitFunc) error {
	e.n = len(e.b.rec)
	if err := emitRecord(&e.b, size, e.key(&e.b.items[first]), "log record", fn); err != nil {
		return err
	}
	res.Records++
	res.LogRecords += e.n
	return nil
}

// key returns the partition key of the partition whose first item is it.
func (e *LogEncoder) key(it *item) string {
	switch e.cfg.Partitioning {
	case PartitionRandom:
		return randomPartitionKey()
	case PartitionByKey:
		return e.keys.list[it.group]
	case PartitionByTraceID:
		if it.hi|it.lo != 0 {
			return traceIDKey(it)
		}
	}
	return e.resKeys.of(&e.b, it.res)
}

// load encodes every log record into the builder's arena and sorts the
// items. With partition false every log record goes into one partition.
func (e *LogEncoder) load(records []sdklog.Record, partition bool) {
	b := &e.b
	b.reset(e.cfg.Encoding, logNames)
	mode := e.cfg.Partitioning
	if !partition {
		mode = PartitionRandom
	}
	if mode == PartitionByKey {
		e.keys.reset()
	}
	for i := range records {
		if i > math.MaxInt32 {
			break
		}
		r := &records[i]
		res := logResourceOf(b, r.Resource())
		scope := r.InstrumentationScope()
		it := item{res: res, scope: b.scopeOf(res, &scope), idx: int32(i), off: len(b.arena)}
		if b.json {
			b.arena = AppendLogRecordJSON(b.arena, r)
		} else {
			b.arena = AppendLogRecord(b.arena, r)
		}
		it.size = len(b.arena) - it.off
		switch mode {
		case PartitionByTraceID:
			if tid := r.TraceID(); tid.IsValid() {
				it.hi = binary.BigEndian.Uint64(tid[:8])
				it.lo = binary.BigEndian.Uint64(tid[8:])
			} else {
				it.group = res
			}
		case PartitionByResource:
			it.group = res
		case PartitionByKey:
			it.group = e.keys.group(e.cfg.PartitionKey(r))
		}
		b.items = append(b.items, it)
	}
	b.sort()
}

// logResourceOf returns the resource group of r as builder.resourceOf does,
// with the container written as otlploghttp writes it: with no Resource
// message for a resource without attributes (otlptrace leaves it out only
// for a nil resource).
func logResourceOf(b *builder, r *resource.Resource) int32 {
	n := len(b.res)
	i := b.resourceOf(r)
	if len(b.res) > n && r != nil && r.Len() == 0 {
		c := b.encodeContainer(b.names.scopes, r.SchemaURL(), FieldResourceSchemaURL, noMember, noMember)
		c.ptr = r
		b.res[i] = c
	}
	return i
}

// noMember writes nothing: a container member left out.
func noMember(b []byte) []byte { return b }

// resourcePartitionKey returns the partition key of resource group res of
// b (see resourceKeys), remembering it for the batch only.
func resourcePartitionKey(b *builder, res int32) string {
	var scratch [256]byte
	k := resourceKeys{scratch: scratch[:0]}
	return k.of(b, res)
}
