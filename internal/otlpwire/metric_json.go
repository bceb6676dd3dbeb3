package otlpwire

import (
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The OTLP/JSON forms of the metric messages, with the same fields and
// presence rules as their protobuf writers in metric.go: 64-bit integers
// (fixed64 counts, sfixed64 values, packed uint64 bucket counts) as
// decimal strings, 32-bit ones (scale, offset) and enums as numbers, doubles
// as [AppendJSONFloat] writes them.

// metricDataName returns the JSON name of the Metric.data member numbered
// field.
func metricDataName(field int) string {
	switch field {
	case metricGauge:
		return "gauge"
	case metricSum:
		return "sum"
	case metricHistogram:
		return "histogram"
	case metricExpHistogram:
		return "exponentialHistogram"
	}
	return "summary"
}

// appendMetricHeadJSON appends `{"name":...,"description":...,"unit":...,`
// and the opening of the data member of field: `"sum":{`.
func appendMetricHeadJSON(b []byte, m *metricdata.Metrics, field int) []byte {
	b = appendMetricNamesJSON(append(b, '{'), m)
	return append(appendJSONName(b, metricDataName(field)), '{')
}

// appendMetricNamesJSON appends a Metric's name, description and unit
// members.
func appendMetricNamesJSON(b []byte, m *metricdata.Metrics) []byte {
	b = AppendJSONStringMember(b, "name", m.Name)
	b = AppendJSONStringMember(b, "description", m.Description)
	return AppendJSONStringMember(b, "unit", m.Unit)
}

// appendMetricTailJSON appends the members of a data message that follow
// its data points; first tells whether they open the object (no data
// points before them).
func appendMetricTailJSON(b []byte, t metricTail, first bool) []byte {
	if t.temporality != 0 {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendUint(append(b, `"aggregationTemporality":`...), t.temporality, 10)
	}
	if t.monotonic {
		if !first {
			b = append(b, ',')
		}
		b = append(b, `"isMonotonic":true`...)
	}
	return b
}

// sizeMetricTailJSON is how many bytes appendMetricTailJSON writes.
func sizeMetricTailJSON(t metricTail, first bool) int {
	n := 0
	if t.temporality != 0 {
		n += len(`"aggregationTemporality":`) + 1 // one digit: 1 or 2
		if !first {
			n++
		}
		first = false
	}
	if t.monotonic {
		n += len(`"isMonotonic":true`)
		if !first {
			n++
		}
	}
	return n
}

// AppendMetricJSON appends the OTLP/JSON Metric object for m: the same
// fields as [AppendMetric], with decimal-string 64-bit integers, integer
// enums and lowercase hex exemplar IDs, default values left out. For a
// metric [CheckMetric] refuses it writes the name, description and unit
// only.
func AppendMetricJSON(b []byte, m *metricdata.Metrics) []byte {
	field, tail := metricDataOf(m.Data)
	if field == 0 {
		return append(appendMetricNamesJSON(append(b, '{'), m), '}')
	}
	b = appendMetricHeadJSON(b, m, field)
	n := len(b)
	b = append(b, dataPointsOpen...)
	b = appendDataPoints(b, m.Data, JSON, nil)
	if b[len(b)-1] == '[' {
		b = b[:n] // no data points: the member is left out
	} else {
		b[len(b)-1] = ']' // the last data point's comma
	}
	b = appendMetricTailJSON(b, tail, len(b) == n)
	return append(b, '}', '}')
}

// appendJSONDoubleMember appends `"name":v`; unless always is set, not for
// +0 (proto3 leaves it out and writes -0).
func appendJSONDoubleMember(b []byte, name string, v float64, always bool) []byte {
	if !always && math.Float64bits(v) == 0 {
		return b
	}
	return AppendJSONFloat(appendJSONName(b, name), v)
}

// appendJSONIntMember appends `"name":v` (a JSON number, for int32 and
// sint32 fields) unless v is 0.
func appendJSONIntMember(b []byte, name string, v int32) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(appendJSONName(b, name), int64(v), 10)
}

// appendJSONNumberValue appends the value oneof of a data point or
// exemplar: `"asDouble":v` or `"asInt":"v"`, even when 0.
func appendJSONNumberValue[N int64 | float64](b []byte, v N) []byte {
	if isFloat[N]() {
		return AppendJSONFloat(appendJSONName(b, "asDouble"), float64(v))
	}
	b = append(appendJSONName(b, "asInt"), '"')
	return append(strconv.AppendInt(b, int64(v), 10), '"')
}

// appendJSONUint64s appends `"name":["v",...]` unless vs is empty.
func appendJSONUint64s(b []byte, name string, vs []uint64) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(appendJSONName(b, name), '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendUint(append(b, '"'), v, 10), '"')
	}
	return append(b, ']')
}

func appendExemplarsJSON[N int64 | float64](b []byte, es []metricdata.Exemplar[N]) []byte {
	if len(es) == 0 {
		return b
	}
	b = append(appendJSONName(b, "exemplars"), '[')
	for i := range es {
		e := &es[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = AppendJSONKeyValues(b, "filteredAttributes", e.FilteredAttributes)
		b = AppendJSONUint64Member(b, "timeUnixNano", unixNano(e.Time))
		b = appendJSONNumberValue(b, e.Value)
		b = AppendJSONHexMember(b, "spanId", e.SpanID)
		b = AppendJSONHexMember(b, "traceId", e.TraceID)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONPointHead opens a data point object with the members every
// kind has: attributes, start time and time.
func appendJSONPointHead(b []byte, attrs *attribute.Set, start, t time.Time) []byte {
	b = append(b, '{')
	b = AppendJSONAttributeSet(b, "attributes", attrs)
	b = AppendJSONUint64Member(b, "startTimeUnixNano", unixNano(start))
	return AppendJSONUint64Member(b, "timeUnixNano", unixNano(t))
}

func appendNumberPointJSON[N int64 | float64](b []byte, dp *metricdata.DataPoint[N]) []byte {
	b = appendJSONPointHead(b, &dp.Attributes, dp.StartTime, dp.Time)
	b = appendJSONNumberValue(b, dp.Value)
	b = appendExemplarsJSON(b, dp.Exemplars)
	return append(b, '}')
}

func appendExtremumJSON[N int64 | float64](b []byte, name string, e metricdata.Extrema[N]) []byte {
	if v, ok := e.Value(); ok {
		return appendJSONDoubleMember(b, name, float64(v), true)
	}
	return b
}

func appendHistogramPointJSON[N int64 | float64](b []byte, dp *metricdata.HistogramDataPoint[N]) []byte {
	b = appendJSONPointHead(b, &dp.Attributes, dp.StartTime, dp.Time)
	b = AppendJSONUint64Member(b, "count", dp.Count)
	b = appendJSONDoubleMember(b, "sum", float64(dp.Sum), true)
	b = appendJSONUint64s(b, "bucketCounts", dp.BucketCounts)
	if len(dp.Bounds) > 0 {
		b = append(appendJSONName(b, "explicitBounds"), '[')
		for i, x := range dp.Bounds {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONFloat(b, x)
		}
		b = append(b, ']')
	}
	b = appendExemplarsJSON(b, dp.Exemplars)
	b = appendExtremumJSON(b, "min", dp.Min)
	b = appendExtremumJSON(b, "max", dp.Max)
	return append(b, '}')
}

func appendBucketsJSON(b []byte, name string, bk *metricdata.ExponentialBucket) []byte {
	b = append(appendJSONName(b, name), '{')
	b = appendJSONIntMember(b, "offset", bk.Offset)
	b = appendJSONUint64s(b, "bucketCounts", bk.Counts)
	return append(b, '}')
}

func appendExpHistogramPointJSON[N int64 | float64](b []byte, dp *metricdata.ExponentialHistogramDataPoint[N]) []byte {
	b = appendJSONPointHead(b, &dp.Attributes, dp.StartTime, dp.Time)
	b = AppendJSONUint64Member(b, "count", dp.Count)
	b = appendJSONDoubleMember(b, "sum", float64(dp.Sum), true)
	b = appendJSONIntMember(b, "scale", dp.Scale)
	b = AppendJSONUint64Member(b, "zeroCount", dp.ZeroCount)
	b = appendBucketsJSON(b, "positive", &dp.PositiveBucket)
	b = appendBucketsJSON(b, "negative", &dp.NegativeBucket)
	b = appendExemplarsJSON(b, dp.Exemplars)
	b = appendExtremumJSON(b, "min", dp.Min)
	b = appendExtremumJSON(b, "max", dp.Max)
	b = appendJSONDoubleMember(b, "zeroThreshold", dp.ZeroThreshold, false)
	return append(b, '}')
}

func appendSummaryPointJSON(b []byte, dp *metricdata.SummaryDataPoint) []byte {
	b = appendJSONPointHead(b, &dp.Attributes, dp.StartTime, dp.Time)
	b = AppendJSONUint64Member(b, "count", dp.Count)
	b = appendJSONDoubleMember(b, "sum", dp.Sum, false)
	if len(dp.QuantileValues) > 0 {
		b = append(appendJSONName(b, "quantileValues"), '[')
		for i, q := range dp.QuantileValues {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendJSONDoubleMember(b, "quantile", q.Quantile, false)
			b = appendJSONDoubleMember(b, "value", q.Value, false)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
