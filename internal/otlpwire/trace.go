package otlpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// DefaultMaxRecordSize is the record size limit a [TraceConfig] with
// MaxRecordSize 0 uses: 1 MiB, a Kinesis stream's default record limit.
const DefaultMaxRecordSize = 1 << 20

// Partitioning says which spans share a record and under which partition
// key the record goes.
type Partitioning uint8

const (
	// PartitionByTraceID puts the spans of exactly one trace in each record,
	// keyed by the trace ID as 32 lowercase hex digits. All spans of a trace
	// in one batch go into one record when they fit. It is the default.
	PartitionByTraceID Partitioning = iota
	// PartitionByResource puts the spans of one resource in each record,
	// keyed by 16 lowercase hex digits of a 64-bit FNV-1a hash of the
	// resource's attributes (their OTLP protobuf encoding), the same in every
	// process for the same attributes.
	PartitionByResource
	// PartitionRandom fills records with spans in batch order regardless of
	// trace or resource, each record keyed by 32 random lowercase hex digits.
	PartitionRandom
	// PartitionByKey groups spans by the string TraceConfig.PartitionKey
	// returns for each; records are keyed by that string.
	PartitionByKey
	// PartitionByShard keeps every trace on the shard its trace ID maps to,
	// as PartitionByTraceID does, but puts all the traces of a batch bound
	// for one shard in one record (split to the record size limit), grouped
	// under shared resource and scope containers. TraceConfig.Shards tells
	// which shard each trace ID's partition key maps to (its 32 lowercase hex
	// digits hashed with MD5, as Kinesis routes). Each record is keyed by the
	// trace ID of its first span, so it lands on that shard; the key names
	// only that one of its traces, and a reader finds the others in the
	// data. Larger records compress better and fill PUT payload units
	// better. A batch for which the mapper knows no shard map is partitioned
	// exactly as PartitionByTraceID does.
	PartitionByShard
)

// String returns "trace_id", "resource", "random", "key" or "shard".
func (p Partitioning) String() string {
	switch p {
	case PartitionByTraceID:
		return "trace_id"
	case PartitionByResource:
		return "resource"
	case PartitionRandom:
		return "random"
	case PartitionByKey:
		return "key"
	case PartitionByShard:
		return "shard"
	}
	return fmt.Sprintf("Partitioning(%d)", uint8(p))
}

// TraceConfig configures a [TraceEncoder]. The zero value is valid: protobuf,
// 1 MiB records, partitioned by trace ID.
type TraceConfig struct {
	// Encoding of the records; default Protobuf.
	Encoding Encoding
	// MaxRecordSize is the most bytes one record's data may have; 0 means
	// DefaultMaxRecordSize. Leave room for whatever the caller adds
	// (compression framing, for one).
	MaxRecordSize int
	// Partitioning of spans into records; default PartitionByTraceID.
	Partitioning Partitioning
	// PartitionKey returns a span's partition key; required with
	// PartitionByKey, unused otherwise. It is called once per span.
	PartitionKey func(sdktrace.ReadOnlySpan) string
	// Shards predicts the shard of a partition key; required with
	// PartitionByShard, unused otherwise. Its ShardMap is called once per
	// Encode call.
	Shards ShardMapper
}

// DroppedSpan describes a span that was not written because a record holding
// only it would exceed the record size limit.
type DroppedSpan struct {
	TraceID trace.TraceID
	SpanID  trace.SpanID
	// Size is the size of the smallest record that could hold the span.
	Size int
	// Limit is the record size limit it exceeds.
	Limit int
}

// Error describes the drop, naming the span, its size and the limit.
func (d DroppedSpan) Error() string {
	return fmt.Sprintf("span %s of trace %s dropped: a record holding it alone would take %s, over the record size limit of %d",
		d.SpanID, d.TraceID, plural.Count(d.Size, "byte"), d.Limit)
}

// TraceResult tells what one [TraceEncoder.Encode] call did.
type TraceResult struct {
	// Records is how many records were emitted (and accepted by the emit
	// function).
	Records int
	// Spans is how many spans those records hold.
	Spans int
	// Dropped lists the spans too large for any record, in batch order. The
	// slice is reused by the next Encode call.
	Dropped []DroppedSpan
}

// EmitFunc receives one record: its partition key and its data, a complete
// Export{Trace,Metrics,Logs}ServiceRequest. data is only valid during the
// call (its buffer is reused for the next record): copy it to keep it.
type EmitFunc func(partitionKey string, data []byte) error

// TraceEncoder writes batches of SDK spans as OTLP ExportTraceServiceRequest
// bytes, whole or split into records. It keeps scratch buffers from one call
// to the next so that a steady stream of batches allocates next to nothing.
// It is not safe for concurrent use: use one per goroutine (or a sync.Pool).
type TraceEncoder struct {
	cfg     TraceConfig
	b       builder
	keys    keyGroups    // PartitionByKey
	resKeys resourceKeys // PartitionByResource
	shards  shardGroups  // PartitionByShard
	mode    Partitioning // the partitioning of the batch being encoded
	dropped []DroppedSpan
	spans   int // spans in the record being emitted
}

// NewTraceEncoder returns an encoder for cfg, or an error naming the setting
// that is out of range.
func NewTraceEncoder(cfg TraceConfig) (*TraceEncoder, error) {
	p := cfg.Partitioning
	if p == PartitionByShard {
		if cfg.Shards == nil {
			return nil, errors.New("partitioning by shard needs a ShardMapper (TraceConfig.Shards)")
		}
		p = PartitionByTraceID // checked alike
	}
	limit, err := checkEncoderConfig(&cfg.Encoding, cfg.MaxRecordSize, p, cfg.PartitionKey != nil)
	if err != nil {
		return nil, err
	}
	cfg.MaxRecordSize = limit
	return &TraceEncoder{cfg: cfg}, nil
}

// Config returns the encoder's configuration with defaults filled in.
func (e *TraceEncoder) Config() TraceConfig { return e.cfg }

// AppendRequest appends to dst one ExportTraceServiceRequest holding every
// non-nil span of spans, grouped by resource and then by instrumentation
// scope as otlptrace's transform groups them (resources and scopes in order
// of first appearance, spans in batch order), ignoring the record size limit
// and the partitioning. No spans give an empty request (no bytes in
// protobuf, {} in JSON).
func (e *TraceEncoder) AppendRequest(dst []byte, spans []sdktrace.ReadOnlySpan) []byte {
	e.load(spans, false)
	return appendWhole(&e.b, dst)
}

// Encode writes the non-nil spans of spans as records: each a complete
// ExportTraceServiceRequest no larger than the record size limit, holding
// the spans of one partition (see [Partitioning]) grouped by resource and
// scope, handed to emit with its partition key. A partition too large for
// one record is split between resources, scopes and spans, as few records as
// the greedy fill in batch order gives. A span that would exceed the limit
// even alone is not written: it is listed in the result's Dropped.
//
// When emit returns an error, Encode stops and returns it (wrapped) with the
// counts of what emit accepted before; the rest of the batch is not written.
// [TraceEncoder.RecordSpans] tells emit how many spans the record holds.
func (e *TraceEncoder) Encode(spans []sdktrace.ReadOnlySpan, emit EmitFunc) (TraceResult, error) {
	e.dropped = e.dropped[:0]
	res := TraceResult{}
	e.load(spans, true)
	err := packRecords(&e.b, e.cfg.MaxRecordSize,
		func(it *item, size int) { e.drop(spans[it.idx], size) },
		func(first, size int) error { return e.emit(&res, size, first, emit) })
	res.Dropped = e.dropped
	return res, err
}

// RecordSpans returns how many spans the record being emitted holds. It is
// meant for the EmitFunc of an Encode call.
func (e *TraceEncoder) RecordSpans() int { return e.spans }

func (e *TraceEncoder) drop(s sdktrace.ReadOnlySpan, size int) {
	sc := s.SpanContext()
	e.dropped = append(e.dropped, DroppedSpan{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Size: size, Limit: e.cfg.MaxRecordSize})
}

// emit writes the packed record b.rec, of the partition starting at item
// first, and hands it to fn.
func (e *TraceEncoder) emit(res *TraceResult, size, first int, fn EmitFunc) error {
	e.spans = len(e.b.rec)
	if e.mode == PartitionByShard {
		first = int(e.b.rec[0]) // the record's own first span: one partition holds many traces
	}
	if err := emitRecord(&e.b, size, e.key(&e.b.items[first]), "span", fn); err != nil {
		return err
	}
	res.Records++
	res.Spans += e.spans
	return nil
}

// key returns the partition key of the partition (with PartitionByShard,
// the record) whose first item is it.
func (e *TraceEncoder) key(it *item) string {
	switch e.mode {
	case PartitionByResource:
		return e.resKeys.of(&e.b, it.res)
	case PartitionRandom:
		return randomPartitionKey()
	case PartitionByKey:
		return e.keys.list[it.group]
	case PartitionByShard:
		return e.shards.key(it)
	}
	return traceIDKey(it)
}

// hex64 returns v as 16 lowercase hex digits.
func hex64(v uint64) string {
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// load encodes every span into the builder's arena and sorts the items.
// With partition false every span goes into one partition.
func (e *TraceEncoder) load(spans []sdktrace.ReadOnlySpan, partition bool) {
	b := &e.b
	b.reset(e.cfg.Encoding, traceNames)
	mode := e.cfg.Partitioning
	if !partition {
		mode = PartitionRandom
	}
	switch mode {
	case PartitionByKey:
		e.keys.reset()
	case PartitionByShard:
		if view := e.cfg.Shards.ShardMap(); view != nil {
			e.shards.reset(view, len(spans))
		} else {
			mode = PartitionByTraceID // no shard map known: each trace alone, safe on any layout
		}
	}
	e.mode = mode
	view := spanView()
	var tmp spanRecord
	for i, s := range spans {
		if s == nil || i > math.MaxInt32 {
			continue
		}
		r := spanRecordOf(s, view, &tmp)
		res := b.resourceOf(r.resource)
		it := item{res: res, scope: b.scopeOf(res, &r.instrumentationScope), idx: int32(i), off: len(b.arena)}
		if b.json {
			b.arena = appendSpanJSON(b.arena, r)
		} else {
			b.arena = appendSpan(b.arena, r)
		}
		it.size = len(b.arena) - it.off
		switch mode {
		case PartitionByTraceID:
			tid := r.spanContext.TraceID()
			it.hi = binary.BigEndian.Uint64(tid[:8])
			it.lo = binary.BigEndian.Uint64(tid[8:])
		case PartitionByResource:
			it.group = res
		case PartitionByKey:
			it.group = e.keys.group(e.cfg.PartitionKey(s))
		case PartitionByShard:
			it.group = e.shards.group(it.idx, r.spanContext.TraceID())
		}
		b.items = append(b.items, it)
	}
	if mode == PartitionByShard {
		e.shards.release()
		slices.SortFunc(b.items, e.shards.compare)
		return
	}
	b.sort()
}
