package otlpwire

import (
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

var metricNames = signalNames{"resourceMetrics", "scopeMetrics", "metrics"}

// MetricConfig configures a [MetricEncoder]. The zero value is valid:
// protobuf, 1 MiB records, partitioned by resource.
type MetricConfig struct {
	// Encoding of the records; default Protobuf.
	Encoding Encoding
	// MaxRecordSize is the most bytes one record's data may have; 0 means
	// DefaultMaxRecordSize. Leave room for whatever the caller adds
	// (compression framing, for one).
	MaxRecordSize int
	// Partitioning of the metrics into records: PartitionByResource (the
	// default; so is PartitionByTraceID, the zero value, since metrics carry
	// no trace ID) keys every record by its resource as a [TraceEncoder]
	// does, so one resource's series go to one shard in order;
	// PartitionRandom keys each record at random. PartitionByKey is refused.
	Partitioning Partitioning
}

// DroppedDataPoint describes a data point that was not written because a
// record holding only it (and its metric's name, description and unit)
// would exceed the record size limit.
type DroppedDataPoint struct {
	// Scope is the name of the metric's instrumentation scope.
	Scope string
	// Metric is the metric's name.
	Metric string
	// Index is the data point's position in the metric's data points, or
	// -1 when the metric has none and its name, description and unit alone
	// are too large.
	Index int
	// Attributes are the data point's attributes.
	Attributes attribute.Set
	// Size is the size of the smallest record that could hold the data
	// point.
	Size int
	// Limit is the record size limit it exceeds.
	Limit int
}

// Error describes the drop, naming the data point, its size and the limit.
func (d DroppedDataPoint) Error() string {
	return fmt.Sprintf("data point %d of metric %q (scope %q, %s) dropped: a record holding it alone would take %s, over the record size limit of %d",
		d.Index, d.Metric, d.Scope, plural.Count(d.Attributes.Len(), "attribute"), plural.Count(d.Size, "byte"), d.Limit)
}

// MetricResult tells what one [MetricEncoder.Encode] call did.
type MetricResult struct {
	// Records is how many records were emitted (and accepted by the emit
	// function).
	Records int
	// DataPoints is how many data points those records hold.
	DataPoints int
	// Dropped lists the data points too large for any record, in batch
	// order. The slice is reused by the next Encode call.
	Dropped []DroppedDataPoint
	// Unsupported lists the metrics left out because OTLP has no message
	// for their data (each error wraps [ErrUnsupportedMetric] and names the
	// metric), as otlpmetrichttp leaves them out. The slice is reused by the
	// next Encode call.
	Unsupported []error
}

// MetricEncoder writes a metricdata.ResourceMetrics as OTLP
// ExportMetricsServiceRequest bytes, whole or split into records, the way
// [TraceEncoder] writes spans: a record holds whole metrics while they fit,
// and a metric too large for one record is split between its data points,
// each part a Metric message with the same name, description, unit and
// temporality. It keeps scratch buffers from one call to the next so that
// exporting the same instruments again and again allocates next to nothing.
// It is not safe for concurrent use: use one per goroutine (or a
// sync.Pool).
type MetricEncoder struct {
	cfg         MetricConfig
	b           builder
	chunks      []metricChunk // by item idx
	ends        []int         // end offsets in tmp of the data points of the metric being loaded
	origs       []int32       // indexes of the data points of split metrics
	tmp         []byte        // data points of the metric being loaded
	head        []byte        // head of the metric being loaded
	dropped     []DroppedDataPoint
	unsupported []error
	resKeys     resourceKeys
	n           int // data points in the record being emitted
}

// metricChunk is where an item (a Metric message with some of a metric's
// data points) comes from.
type metricChunk struct {
	sm    *metricdata.ScopeMetrics
	m     *metricdata.Metrics
	first int // index of its first data point
	n     int // data points
	orig  int // -1, or where in MetricEncoder.origs the indexes of its data points are
}

// index returns the index in the metric of the chunk's k-th data point.
func (c *metricChunk) index(origs []int32, k int) int {
	if c.orig < 0 {
		return c.first + k
	}
	return int(origs[c.orig+k])
}

// NewMetricEncoder returns an encoder for cfg, or an error naming the
// setting that is out of range.
func NewMetricEncoder(cfg MetricConfig) (*MetricEncoder, error) {
	if cfg.Partitioning == PartitionByKey {
		return nil, errors.New("partitioning metrics by key: want resource or random")
	}
	size, err := checkEncoderConfig(&cfg.Encoding, cfg.MaxRecordSize, cfg.Partitioning, false)
	if err != nil {
		return nil, err
	}
	cfg.MaxRecordSize = size
	if cfg.Partitioning == PartitionByTraceID {
		cfg.Partitioning = PartitionByResource
	}
	return &MetricEncoder{cfg: cfg}, nil
}

// Config returns the encoder's configuration with defaults filled in.
func (e *MetricEncoder) Config() MetricConfig { return e.cfg }

// AppendRequest appends to dst one ExportMetricsServiceRequest holding every
// metric of rm, ignoring the record size limit and the partitioning; its
// fields are written as [AppendMetricsRequest] writes them, except that
// scopes without metrics are left out and scopes that appear twice are
// merged. A ResourceMetrics without metrics gives an empty request (no bytes
// in protobuf, {} in JSON). Metrics OTLP cannot carry are left out and
// reported in the error (see [CheckMetric]); the bytes are complete either
// way.
func (e *MetricEncoder) AppendRequest(dst []byte, rm *metricdata.ResourceMetrics) ([]byte, error) {
	e.load(rm, math.MaxInt)
	dst = appendWhole(&e.b, dst)
	err := errors.Join(e.unsupported...)
	e.release()
	return dst, err
}

// Encode writes the metrics of rm as records: each a complete
// ExportMetricsServiceRequest no larger than the record size limit, handed
// to emit with its partition key (see [MetricConfig.Partitioning]).
// Metrics go into records whole, in order, grouped by scope, as few records
// as the greedy fill gives; a metric too large for a record of its own is
// split between its data points. A data point that would exceed the limit
// even alone is not written: it is listed in the result's Dropped. Metrics
// OTLP cannot carry are listed in Unsupported.
//
// When emit returns an error, Encode stops and returns it (wrapped) with the
// counts of what emit accepted before; the rest is not written.
// [MetricEncoder.RecordDataPoints] tells emit how many data points the
// record holds. Encode keeps no reference to rm after it returns.
func (e *MetricEncoder) Encode(rm *metricdata.ResourceMetrics, emit EmitFunc) (MetricResult, error) {
	res := MetricResult{}
	e.load(rm, e.cfg.MaxRecordSize)
	err := packRecords(&e.b, e.cfg.MaxRecordSize,
		func(it *item, size int) { // not reached: load split every metric to fit
			c := &e.chunks[it.idx]
			for k := range c.n {
				e.drop(c.sm, c.m, c.index(e.origs, k), size)
			}
		},
		func(first, size int) error { return e.emit(&res, size, first, emit) })
	res.Dropped, res.Unsupported = e.dropped, e.unsupported
	e.release()
	return res, err
}

// RecordDataPoints returns how many data points the record being emitted
// holds. It is meant for the EmitFunc of an Encode call.
func (e *MetricEncoder) RecordDataPoints() int { return e.n }

// release forgets the caller's data, which the SDK reuses.
func (e *MetricEncoder) release() {
	clear(e.chunks)
	e.chunks = e.chunks[:0]
	clear(e.b.res)
}

func (e *MetricEncoder) emit(res *MetricResult, size, first int, fn EmitFunc) error {
	b := &e.b
	e.n = 0
	for _, i := range b.rec {
		e.n += e.chunks[b.items[i].idx].n
	}
	key := ""
	if e.cfg.Partitioning == PartitionRandom {
		key = randomPartitionKey()
	} else {
		key = e.resKeys.of(b, b.items[first].res)
	}
	if err := emitRecord(b, size, key, "data point", fn); err != nil {
		return err
	}
	res.Records++
	res.DataPoints += e.n
	return nil
}

func (e *MetricEncoder) drop(sm *metricdata.ScopeMetrics, m *metricdata.Metrics, i, size int) {
	d := DroppedDataPoint{Scope: sm.Scope.Name, Metric: m.Name, Index: i, Size: size, Limit: e.cfg.MaxRecordSize}
	if i >= 0 {
		d.Attributes = dataPointAttributes(m.Data, i)
	}
	e.dropped = append(e.dropped, d)
}

// load encodes the metrics of rm as items of at most limit bytes each (with
// their resource and scope) and sorts them.
func (e *MetricEncoder) load(rm *metricdata.ResourceMetrics, limit int) {
	b := &e.b
	b.reset(e.cfg.Encoding, metricNames)
	e.chunks = e.chunks[:0]
	e.origs = e.origs[:0]
	e.dropped = e.dropped[:0]
	clear(e.unsupported)
	e.unsupported = e.unsupported[:0]
	res := metricResourceOf(b, rm.Resource)
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		sc := metricScopeOf(b, res, &sm.Scope)
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if err := CheckMetric(m); err != nil {
				e.unsupported = append(e.unsupported, err)
				continue
			}
			e.loadMetric(res, sc, sm, m, limit)
		}
	}
	b.sort()
}

// metricFrame holds what a Metric message has besides its data points.
type metricFrame struct {
	enc   Encoding
	head  []byte // protobuf: name, description, unit; JSON: up to `"sum":{`
	field int    // the Metric.data member
	tail  metricTail
}

// dataPointsOpen opens the JSON data points member.
const dataPointsOpen = `"dataPoints":[`

// size is the size of a Metric message holding n data points whose
// encodings (with separators between them in JSON) take points bytes.
func (f *metricFrame) size(n, points int) int {
	if f.enc == JSON {
		s := len(f.head) + sizeMetricTailJSON(f.tail, n == 0) + 2
		if n > 0 {
			s += len(dataPointsOpen) + points + 1
		}
		return s
	}
	return len(f.head) + SizeLenField(f.field, points+f.tail.size())
}

// append appends a Metric message holding n data points, encoded as points.
func (f *metricFrame) append(b []byte, n int, points []byte) []byte {
	b = append(b, f.head...)
	if f.enc == JSON {
		if n > 0 {
			b = append(b, dataPointsOpen...)
			b = append(append(b, points...), ']')
		}
		b = appendMetricTailJSON(b, f.tail, n == 0)
		return append(b, '}', '}')
	}
	b = AppendLenHeader(b, f.field, len(points)+f.tail.size())
	b = append(b, points...)
	return appendMetricTail(b, f.tail)
}

// points returns the encodings of data points [i, j) of the metric being
// loaded: in JSON without the comma after the last.
func (e *MetricEncoder) points(i, j int) []byte {
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	end := e.ends[j-1]
	if e.cfg.Encoding == JSON {
		end--
	}
	return e.tmp[start:end]
}

// loadMetric adds metric m of scope sc as one item when it fits a record of
// its own, else as items holding as many of its data points as fit.
func (e *MetricEncoder) loadMetric(res, sc int32, sm *metricdata.ScopeMetrics, m *metricdata.Metrics, limit int) {
	f := metricFrame{enc: e.cfg.Encoding}
	f.field, f.tail = metricDataOf(m.Data)
	e.ends = e.ends[:0]
	e.tmp = appendDataPoints(e.tmp[:0], m.Data, f.enc, &e.ends)
	if f.enc == JSON {
		e.head = appendMetricHeadJSON(e.head[:0], m, f.field)
	} else {
		e.head = appendMetricHead(e.head[:0], m)
	}
	f.head = e.head
	n := len(e.ends)
	if n == 0 {
		if s := f.size(0, 0); e.alone(res, sc, s) <= limit {
			e.addItem(res, sc, &f, sm, m, 0, 0, -1)
		} else {
			e.drop(sm, m, -1, e.alone(res, sc, s))
		}
		return
	}
	if e.alone(res, sc, f.size(n, len(e.points(0, n)))) <= limit {
		e.addItem(res, sc, &f, sm, m, 0, n, -1)
		return
	}
	// Too large for one record. Leave out the data points too large for a
	// record of their own, keeping the others' encodings contiguous and
	// noting their indexes, then fill items with as many as fit.
	base := len(e.origs)
	w, start := 0, 0
	comma := 0
	if f.enc == JSON {
		comma = 1
	}
	for i, end := range e.ends {
		if size := e.alone(res, sc, f.size(1, end-start-comma)); size > limit {
			e.drop(sm, m, i, size)
		} else {
			w += copy(e.tmp[w:], e.tmp[start:end])
			e.ends[len(e.origs)-base] = w
			e.origs = append(e.origs, int32(i))
		}
		start = end
	}
	e.ends = e.ends[:len(e.origs)-base]
	e.tmp = e.tmp[:w]
	n = len(e.ends)
	for i := 0; i < n; {
		j := i + 1
		for j < n && e.alone(res, sc, f.size(j+1-i, len(e.points(i, j+1)))) <= limit {
			j++
		}
		e.addItem(res, sc, &f, sm, m, i, j, base+i)
		i = j
	}
}

// alone is the size of a record holding only an item of size bytes in
// resource res and scope sc.
func (e *MetricEncoder) alone(res, sc int32, size int) int {
	st := e.b.add(packState{}, &item{res: res, scope: sc, size: size})
	return e.b.total(&st)
}

// addItem adds a Metric message holding data points [i, j) of the metric
// being loaded (positions in e.ends; their indexes in the metric are
// e.origs[orig:] or, when orig is -1, i to j-1).
func (e *MetricEncoder) addItem(res, sc int32, f *metricFrame, sm *metricdata.ScopeMetrics, m *metricdata.Metrics, i, j, orig int) {
	b := &e.b
	it := item{res: res, scope: sc, idx: int32(len(e.chunks)), off: len(b.arena)}
	if j > i {
		b.arena = f.append(b.arena, j-i, e.points(i, j))
	} else {
		b.arena = f.append(b.arena, 0, nil)
	}
	it.size = len(b.arena) - it.off
	b.items = append(b.items, it)
	e.chunks = append(e.chunks, metricChunk{sm: sm, m: m, first: i, n: j - i, orig: orig})
}

// dataPointAttributes returns the attributes of data point i of a.
func dataPointAttributes(a metricdata.Aggregation, i int) attribute.Set {
	switch a := a.(type) {
	case metricdata.Gauge[int64]:
		return a.DataPoints[i].Attributes
	case metricdata.Gauge[float64]:
		return a.DataPoints[i].Attributes
	case metricdata.Sum[int64]:
		return a.DataPoints[i].Attributes
	case metricdata.Sum[float64]:
		return a.DataPoints[i].Attributes
	case metricdata.Histogram[int64]:
		return a.DataPoints[i].Attributes
	case metricdata.Histogram[float64]:
		return a.DataPoints[i].Attributes
	case metricdata.ExponentialHistogram[int64]:
		return a.DataPoints[i].Attributes
	case metricdata.ExponentialHistogram[float64]:
		return a.DataPoints[i].Attributes
	case metricdata.Summary:
		return a.DataPoints[i].Attributes
	}
	return attribute.Set{}
}

// metricResourceOf returns the resource group of r as builder.resourceOf
// does, with the container written as otlpmetrichttp writes it: with an
// empty Resource message for a nil resource (otlptrace leaves it out).
func metricResourceOf(b *builder, r *resource.Resource) int32 {
	n := len(b.res)
	i := b.resourceOf(r)
	if len(b.res) > n && r == nil {
		b.res[i] = b.encodeContainer(b.names.scopes, "", FieldResourceSchemaURL,
			func(m []byte) []byte { return AppendLenHeader(m, FieldResource, 0) },
			func(m []byte) []byte { return append(appendJSONName(m, "resource"), '{', '}') })
	}
	return i
}

// metricScopeOf returns the scope group of s within resource res as
// builder.scopeOf does, with the container written as otlpmetrichttp writes
// it: with an empty InstrumentationScope message for the zero scope
// (otlptrace and otlploghttp leave it out).
func metricScopeOf(b *builder, res int32, s *instrumentation.Scope) int32 {
	n := len(b.scope)
	i := b.scopeOf(res, s)
	if len(b.scope) > n && !ScopePresent(s) {
		b.scope[i] = b.encodeContainer(b.names.items, "", FieldScopeSchemaURL,
			func(m []byte) []byte { return AppendLenHeader(m, FieldScope, 0) },
			func(m []byte) []byte { return append(appendJSONName(m, "scope"), '{', '}') })
	}
	return i
}
