package otlpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Field numbers of opentelemetry.proto.metrics.v1.
const (
	metricName         = 1 // Metric.name
	metricDescription  = 2 // Metric.description
	metricUnit         = 3 // Metric.unit
	metricGauge        = 5 // Metric.gauge
	metricSum          = 7 // Metric.sum
	metricHistogram    = 9 // Metric.histogram
	metricExpHistogram = 10
	metricSummary      = 11

	aggDataPoints  = 1 // {Gauge,Sum,Histogram,ExponentialHistogram,Summary}.data_points
	aggTemporality = 2 // {Sum,Histogram,ExponentialHistogram}.aggregation_temporality
	sumMonotonic   = 3 // Sum.is_monotonic

	numberStart      = 2 // NumberDataPoint.start_time_unix_nano
	numberTime       = 3
	numberAsDouble   = 4
	numberExemplars  = 5
	numberAsInt      = 6
	numberAttributes = 7

	histStart        = 2 // HistogramDataPoint.start_time_unix_nano
	histTime         = 3
	histCount        = 4
	histSum          = 5
	histBucketCounts = 6
	histBounds       = 7
	histExemplars    = 8
	histAttributes   = 9
	histMin          = 11
	histMax          = 12

	expAttributes    = 1 // ExponentialHistogramDataPoint.attributes
	expStart         = 2
	expTime          = 3
	expCount         = 4
	expSum           = 5
	expScale         = 6
	expZeroCount     = 7
	expPositive      = 8
	expNegative      = 9
	expExemplars     = 11
	expMin           = 12
	expMax           = 13
	expZeroThreshold = 14

	bucketsOffset = 1 // ExponentialHistogramDataPoint.Buckets.offset
	bucketsCounts = 2

	summaryStart      = 2 // SummaryDataPoint.start_time_unix_nano
	summaryTime       = 3
	summaryCount      = 4
	summarySum        = 5
	summaryQuantiles  = 6
	summaryAttributes = 7

	quantileQuantile = 1 // SummaryDataPoint.ValueAtQuantile.quantile
	quantileValue    = 2

	exemplarTime       = 2 // Exemplar.time_unix_nano
	exemplarAsDouble   = 3
	exemplarSpanID     = 4
	exemplarTraceID    = 5
	exemplarAsInt      = 6
	exemplarAttributes = 7

	// AggregationTemporality enum values.
	temporalityDelta      = 1
	temporalityCumulative = 2
)

// ErrUnsupportedMetric is wrapped by the errors the metric writers return
// for a metric they leave out: one whose Data is of a type OTLP has no
// message for (nil, a pointer, a type from outside metricdata), or whose
// temporality is neither delta nor cumulative. otlpmetrichttp leaves such
// metrics out and reports them the same way.
var ErrUnsupportedMetric = errors.New("unsupported metric data")

// AppendMetricsRequest appends the protobuf ExportMetricsServiceRequest
// for rm: one ResourceMetrics holding every scope and metric of rm, field for
// field what otlpmetrichttp sends for the same data (proto.Equal, and byte
// for byte what proto.Marshal writes).
//
// As otlpmetrichttp does, the Resource and each InstrumentationScope are
// always written, even when empty; the sum of a histogram is always written,
// its min and max when they are defined. A metric of a kind OTLP cannot carry
// is left out (its scope stays) and reported in the returned error, which
// wraps [ErrUnsupportedMetric]; the bytes are complete and valid either way.
// Strings that are not valid UTF-8 are repaired (see the package doc), where
// otlpmetrichttp would fail the whole export.
func AppendMetricsRequest(b []byte, rm *metricdata.ResourceMetrics) ([]byte, error) {
	var errs []error
	b, mr := OpenLen(b, FieldRequestResources)
	b, mres := OpenLen(b, FieldResource)
	b = AppendResource(b, rm.Resource)
	b = CloseLen(b, mres)
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		var ms int
		b, ms = OpenLen(b, FieldResourceScopes)
		b = appendMetricScope(b, sm)
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if err := CheckMetric(m); err != nil {
				errs = append(errs, err)
				continue
			}
			var mm int
			b, mm = OpenLen(b, FieldScopeItems)
			b = AppendMetric(b, m)
			b = CloseLen(b, mm)
		}
		b = AppendStringField(b, FieldScopeSchemaURL, sm.Scope.SchemaURL)
		b = CloseLen(b, ms)
	}
	b = AppendStringField(b, FieldResourceSchemaURL, rm.Resource.SchemaURL())
	b = CloseLen(b, mr)
	return b, errors.Join(errs...)
}

// appendMetricScope appends the scope field of a ScopeMetrics: unlike
// otlptrace and otlploghttp, otlpmetrichttp writes it even for the zero
// scope.
func appendMetricScope(b []byte, sm *metricdata.ScopeMetrics) []byte {
	b, m := OpenLen(b, FieldScope)
	b = AppendScope(b, &sm.Scope)
	return CloseLen(b, m)
}

// CheckMetric reports whether AppendMetric can write m: it returns an error
// wrapping [ErrUnsupportedMetric], naming the metric, when m.Data is of a
// type OTLP has no message for or its temporality is unknown, and nil
// otherwise.
func CheckMetric(m *metricdata.Metrics) error {
	var t metricdata.Temporality
	switch a := m.Data.(type) {
	case metricdata.Gauge[int64], metricdata.Gauge[float64], metricdata.Summary:
		return nil
	case metricdata.Sum[int64]:
		t = a.Temporality
	case metricdata.Sum[float64]:
		t = a.Temporality
	case metricdata.Histogram[int64]:
		t = a.Temporality
	case metricdata.Histogram[float64]:
		t = a.Temporality
	case metricdata.ExponentialHistogram[int64]:
		t = a.Temporality
	case metricdata.ExponentialHistogram[float64]:
		t = a.Temporality
	default:
		return fmt.Errorf("metric %q: %w: aggregation %T", m.Name, ErrUnsupportedMetric, a)
	}
	if temporalityOf(t) == 0 {
		return fmt.Errorf("metric %q: %w: temporality %s", m.Name, ErrUnsupportedMetric, t)
	}
	return nil
}

// temporalityOf maps an SDK temporality onto the OTLP enum, 0 when unknown.
func temporalityOf(t metricdata.Temporality) uint64 {
	switch t {
	case metricdata.DeltaTemporality:
		return temporalityDelta
	case metricdata.CumulativeTemporality:
		return temporalityCumulative
	}
	return 0
}

// AppendMetric appends the body of the OTLP Metric message for m: name,
// description, unit and its data with every data point. Check m with
// [CheckMetric] first: for a metric it refuses, AppendMetric writes the
// name, description and unit only.
func AppendMetric(b []byte, m *metricdata.Metrics) []byte {
	b = appendMetricHead(b, m)
	field, tail := metricDataOf(m.Data)
	if field == 0 {
		return b
	}
	b, md := OpenLen(b, field)
	b = appendDataPoints(b, m.Data, Protobuf, nil)
	b = appendMetricTail(b, tail)
	return CloseLen(b, md)
}

// appendDataPoints appends every data point of a, an aggregation
// [CheckMetric] accepts: in protobuf each framed as the data_points field,
// in JSON each object followed by a comma. When ends is not nil, the length
// of b after each data point is appended to it.
func appendDataPoints(b []byte, a metricdata.Aggregation, enc Encoding, ends *[]int) []byte {
	switch a := a.(type) {
	case metricdata.Gauge[int64]:
		return appendEach(b, a.DataPoints, enc, ends, appendNumberPoint[int64], appendNumberPointJSON[int64])
	case metricdata.Gauge[float64]:
		return appendEach(b, a.DataPoints, enc, ends, appendNumberPoint[float64], appendNumberPointJSON[float64])
	case metricdata.Sum[int64]:
		return appendEach(b, a.DataPoints, enc, ends, appendNumberPoint[int64], appendNumberPointJSON[int64])
	case metricdata.Sum[float64]:
		return appendEach(b, a.DataPoints, enc, ends, appendNumberPoint[float64], appendNumberPointJSON[float64])
	case metricdata.Histogram[int64]:
		return appendEach(b, a.DataPoints, enc, ends, appendHistogramPoint[int64], appendHistogramPointJSON[int64])
	case metricdata.Histogram[float64]:
		return appendEach(b, a.DataPoints, enc, ends, appendHistogramPoint[float64], appendHistogramPointJSON[float64])
	case metricdata.ExponentialHistogram[int64]:
		return appendEach(b, a.DataPoints, enc, ends, appendExpHistogramPoint[int64], appendExpHistogramPointJSON[int64])
	case metricdata.ExponentialHistogram[float64]:
		return appendEach(b, a.DataPoints, enc, ends, appendExpHistogramPoint[float64], appendExpHistogramPointJSON[float64])
	case metricdata.Summary:
		return appendEach(b, a.DataPoints, enc, ends, appendSummaryPoint, appendSummaryPointJSON)
	}
	return b
}

func appendEach[P any](b []byte, dps []P, enc Encoding, ends *[]int, proto, json func([]byte, *P) []byte) []byte {
	// Data points with attributes mostly take 128 bytes or more: 2 length bytes. Each
	// next point is guessed to take what the last took.
	lenBytes := 2
	isJSON := enc == JSON
	for i := range dps {
		if isJSON {
			b = append(json(b, &dps[i]), ',')
		} else {
			var m int
			b, m = openLenGuess(b, aggDataPoints, lenBytes)
			b = proto(b, &dps[i])
			b, lenBytes = closeLenGuess(b, m, lenBytes)
		}
		if ends != nil {
			*ends = append(*ends, len(b))
		}
	}
	return b
}

// appendMetricHead appends a Metric's name, description and unit.
func appendMetricHead(b []byte, m *metricdata.Metrics) []byte {
	b = AppendStringField(b, metricName, m.Name)
	b = AppendStringField(b, metricDescription, m.Description)
	return AppendStringField(b, metricUnit, m.Unit)
}

// metricTail holds the fields of a metric's data message that follow its
// data points: aggregation temporality (0 when the message has none) and
// monotonicity.
type metricTail struct {
	temporality uint64
	monotonic   bool
}

// size is how many bytes appendMetricTail writes for t.
func (t metricTail) size() int {
	n := 0
	if t.temporality != 0 {
		n += 2
	}
	if t.monotonic {
		n += 2
	}
	return n
}

func appendMetricTail(b []byte, t metricTail) []byte {
	b = AppendVarintField(b, aggTemporality, t.temporality)
	if t.monotonic {
		b = append(b, sumMonotonic<<3|wireVarint, 1)
	}
	return b
}

// metricDataOf returns the Metric field that carries data of a's kind and
// the fields that follow its data points; field 0 for data [CheckMetric]
// refuses.
func metricDataOf(a metricdata.Aggregation) (field int, tail metricTail) {
	switch a := a.(type) {
	case metricdata.Gauge[int64], metricdata.Gauge[float64]:
		return metricGauge, metricTail{}
	case metricdata.Sum[int64]:
		return sumField(a.Temporality, a.IsMonotonic)
	case metricdata.Sum[float64]:
		return sumField(a.Temporality, a.IsMonotonic)
	case metricdata.Histogram[int64]:
		return withTemporality(metricHistogram, a.Temporality)
	case metricdata.Histogram[float64]:
		return withTemporality(metricHistogram, a.Temporality)
	case metricdata.ExponentialHistogram[int64]:
		return withTemporality(metricExpHistogram, a.Temporality)
	case metricdata.ExponentialHistogram[float64]:
		return withTemporality(metricExpHistogram, a.Temporality)
	case metricdata.Summary:
		return metricSummary, metricTail{}
	}
	return 0, metricTail{}
}

func sumField(t metricdata.Temporality, monotonic bool) (int, metricTail) {
	f, tail := withTemporality(metricSum, t)
	tail.monotonic = monotonic
	return f, tail
}

func withTemporality(field int, t metricdata.Temporality) (int, metricTail) {
	ot := temporalityOf(t)
	if ot == 0 {
		return 0, metricTail{}
	}
	return field, metricTail{temporality: ot}
}

// isFloat reports whether N is float64 (1/2 is 0 only in integers).
func isFloat[N int64 | float64]() bool {
	return N(1)/2 != 0
}

// appendNumberPoint appends the body of a NumberDataPoint. Fields go in
// the order proto.Marshal writes them: by number, the value (a oneof) last.
func appendNumberPoint[N int64 | float64](b []byte, dp *metricdata.DataPoint[N]) []byte {
	b = AppendFixed64Field(b, numberStart, unixNano(dp.StartTime))
	b = AppendFixed64Field(b, numberTime, unixNano(dp.Time))
	b = appendExemplars(b, numberExemplars, dp.Exemplars)
	b = AppendAttributeSet(b, numberAttributes, &dp.Attributes)
	return appendNumberValue(b, numberAsDouble, numberAsInt, dp.Value)
}

// appendNumberValue appends v as the oneof member for doubles
// (fieldDouble) or integers (fieldInt, an sfixed64), written even when 0.
func appendNumberValue[N int64 | float64](b []byte, fieldDouble, fieldInt int, v N) []byte {
	if isFloat[N]() {
		return AppendFixed64FieldAlways(b, fieldDouble, math.Float64bits(float64(v)))
	}
	return AppendFixed64FieldAlways(b, fieldInt, uint64(int64(v)))
}

// appendExemplars appends es as the repeated Exemplar field numbered
// field, each with its value (a oneof) last, as proto.Marshal orders them.
func appendExemplars[N int64 | float64](b []byte, field int, es []metricdata.Exemplar[N]) []byte {
	for i := range es {
		e := &es[i]
		var m int
		b, m = OpenLen(b, field)
		b = AppendFixed64Field(b, exemplarTime, unixNano(e.Time))
		b = AppendBytesField(b, exemplarSpanID, e.SpanID)
		b = AppendBytesField(b, exemplarTraceID, e.TraceID)
		b = AppendKeyValues(b, exemplarAttributes, e.FilteredAttributes)
		b = appendNumberValue(b, exemplarAsDouble, exemplarAsInt, e.Value)
		b = CloseLen(b, m)
	}
	return b
}

// appendExtremum appends a histogram's min or max when it is defined
// (optional double: written even when 0).
func appendExtremum[N int64 | float64](b []byte, field int, e metricdata.Extrema[N]) []byte {
	if v, ok := e.Value(); ok {
		return AppendDoubleFieldAlways(b, field, float64(v))
	}
	return b
}

// appendHistogramPoint appends the body of a HistogramDataPoint.
func appendHistogramPoint[N int64 | float64](b []byte, dp *metricdata.HistogramDataPoint[N]) []byte {
	b = AppendFixed64Field(b, histStart, unixNano(dp.StartTime))
	b = AppendFixed64Field(b, histTime, unixNano(dp.Time))
	b = AppendFixed64Field(b, histCount, dp.Count)
	b = AppendDoubleFieldAlways(b, histSum, float64(dp.Sum))
	b = appendPackedFixed64(b, histBucketCounts, dp.BucketCounts)
	b = appendPackedFixed64(b, histBounds, dp.Bounds)
	b = appendExemplars(b, histExemplars, dp.Exemplars)
	b = AppendAttributeSet(b, histAttributes, &dp.Attributes)
	b = appendExtremum(b, histMin, dp.Min)
	return appendExtremum(b, histMax, dp.Max)
}

// nativeLittleEndian reports whether the machine stores numbers little-endian, as
// protobuf's fixed64 and double fields are: then a []uint64 or []float64 in memory is
// its own packed encoding.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// appendPackedFixed64 appends vs as the packed repeated fixed64 or double field
// numbered field, unless vs is empty.
func appendPackedFixed64[T uint64 | float64](b []byte, field int, vs []T) []byte {
	n := len(vs)
	if n == 0 {
		return b
	}
	b = AppendLenHeader(b, field, 8*n)
	if nativeLittleEndian {
		return append(b, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vs))), 8*n)...)
	}
	b = grow(b, 8*n)
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, fixed64Bits(v))
	}
	return b
}

// fixed64Bits is the fixed64 encoding of v: itself, or the IEEE 754 bits of a float64.
func fixed64Bits[T uint64 | float64](v T) uint64 {
	if f, ok := any(v).(float64); ok {
		return math.Float64bits(f)
	}
	return uint64(v)
}

// zigzag32 is the sint32 encoding of v.
func zigzag32(v int32) uint64 {
	return uint64(uint32(v<<1) ^ uint32(v>>31))
}

// appendExpHistogramPoint appends the body of an
// ExponentialHistogramDataPoint. Both bucket messages are always written,
// as otlpmetrichttp does.
func appendExpHistogramPoint[N int64 | float64](b []byte, dp *metricdata.ExponentialHistogramDataPoint[N]) []byte {
	b = AppendAttributeSet(b, expAttributes, &dp.Attributes)
	b = AppendFixed64Field(b, expStart, unixNano(dp.StartTime))
	b = AppendFixed64Field(b, expTime, unixNano(dp.Time))
	b = AppendFixed64Field(b, expCount, dp.Count)
	b = AppendDoubleFieldAlways(b, expSum, float64(dp.Sum))
	b = AppendVarintField(b, expScale, zigzag32(dp.Scale))
	b = AppendFixed64Field(b, expZeroCount, dp.ZeroCount)
	b = appendBuckets(b, expPositive, &dp.PositiveBucket)
	b = appendBuckets(b, expNegative, &dp.NegativeBucket)
	b = appendExemplars(b, expExemplars, dp.Exemplars)
	b = appendExtremum(b, expMin, dp.Min)
	b = appendExtremum(b, expMax, dp.Max)
	return AppendDoubleField(b, expZeroThreshold, dp.ZeroThreshold)
}

// appendBuckets appends an ExponentialHistogramDataPoint.Buckets message
// as field, sized up front.
func appendBuckets(b []byte, field int, bk *metricdata.ExponentialBucket) []byte {
	counts := 0
	for _, c := range bk.Counts {
		if c < 0x80 {
			counts++
		} else {
			counts += SizeVarint(c)
		}
	}
	n := 0
	if bk.Offset != 0 {
		n += 1 + SizeVarint(zigzag32(bk.Offset))
	}
	if counts > 0 {
		n += SizeLenField(bucketsCounts, counts)
	}
	b = grow(b, SizeLenField(field, n))
	b = AppendLenHeader(b, field, n)
	b = AppendVarintField(b, bucketsOffset, zigzag32(bk.Offset))
	if counts > 0 {
		b = AppendLenHeader(b, bucketsCounts, counts)
		// Room was made above: write the varints in place.
		i := len(b)
		b = b[:i+counts]
		for _, c := range bk.Counts {
			for c >= 0x80 {
				b[i] = byte(c) | 0x80
				c >>= 7
				i++
			}
			b[i] = byte(c)
			i++
		}
	}
	return b
}

// appendSummaryPoint appends the body of a SummaryDataPoint.
func appendSummaryPoint(b []byte, dp *metricdata.SummaryDataPoint) []byte {
	b = AppendFixed64Field(b, summaryStart, unixNano(dp.StartTime))
	b = AppendFixed64Field(b, summaryTime, unixNano(dp.Time))
	b = AppendFixed64Field(b, summaryCount, dp.Count)
	b = AppendDoubleField(b, summarySum, dp.Sum)
	for _, q := range dp.QuantileValues {
		n := 0
		if math.Float64bits(q.Quantile) != 0 {
			n += 9
		}
		if math.Float64bits(q.Value) != 0 {
			n += 9
		}
		b = AppendLenHeader(b, summaryQuantiles, n)
		b = AppendDoubleField(b, quantileQuantile, q.Quantile)
		b = AppendDoubleField(b, quantileValue, q.Value)
	}
	return AppendAttributeSet(b, summaryAttributes, &dp.Attributes)
}
