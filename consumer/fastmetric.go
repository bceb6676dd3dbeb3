package consumer

import (
	"encoding/binary"
	"math"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// metricSlabs are the fast decoder's slabs of metric messages.
type metricSlabs struct {
	metricReqs slab[colmetricpb.ExportMetricsServiceRequest]
	rms        slab[metricspb.ResourceMetrics]
	rmPtrs     slab[*metricspb.ResourceMetrics]
	sms        slab[metricspb.ScopeMetrics]
	smPtrs     slab[*metricspb.ScopeMetrics]
	metrics    slab[metricspb.Metric]
	metricPtrs slab[*metricspb.Metric]

	gauges        slab[metricspb.Gauge]
	gaugeData     slab[metricspb.Metric_Gauge]
	sums          slab[metricspb.Sum]
	sumData       slab[metricspb.Metric_Sum]
	histograms    slab[metricspb.Histogram]
	histogramData slab[metricspb.Metric_Histogram]
	expHistograms slab[metricspb.ExponentialHistogram]
	expHistData   slab[metricspb.Metric_ExponentialHistogram]
	summaries     slab[metricspb.Summary]
	summaryData   slab[metricspb.Metric_Summary]

	numberDPs    slab[metricspb.NumberDataPoint]
	numberDPPtrs slab[*metricspb.NumberDataPoint]
	histDPs      slab[metricspb.HistogramDataPoint]
	histDPPtrs   slab[*metricspb.HistogramDataPoint]
	expDPs       slab[metricspb.ExponentialHistogramDataPoint]
	expDPPtrs    slab[*metricspb.ExponentialHistogramDataPoint]
	buckets      slab[metricspb.ExponentialHistogramDataPoint_Buckets]
	summaryDPs   slab[metricspb.SummaryDataPoint]
	summaryPtrs  slab[*metricspb.SummaryDataPoint]
	quantiles    slab[metricspb.SummaryDataPoint_ValueAtQuantile]
	quantilePtrs slab[*metricspb.SummaryDataPoint_ValueAtQuantile]
	exemplars    slab[metricspb.Exemplar]
	exemplarPtrs slab[*metricspb.Exemplar]

	numDoubles slab[metricspb.NumberDataPoint_AsDouble]
	numInts    slab[metricspb.NumberDataPoint_AsInt]
	exDoubles  slab[metricspb.Exemplar_AsDouble]
	exInts     slab[metricspb.Exemplar_AsInt]
	doubles    slab[float64] // optional doubles and repeated double elements
	u64s       slab[uint64]
}

func (s *metricSlabs) init(all []slabber) []slabber {
	return append(all, s.metricReqs.init(perGroup), s.rms.init(perGroup), s.rmPtrs.init(perGroup), s.sms.init(perGroup), s.smPtrs.init(perGroup),
		s.metrics.init(perRare), s.metricPtrs.init(perRare),
		s.gauges.init(perRare), s.gaugeData.init(perRare), s.sums.init(perRare), s.sumData.init(perRare),
		s.histograms.init(perRare), s.histogramData.init(perRare), s.expHistograms.init(perRare),
		s.expHistData.init(perRare), s.summaries.init(perRare), s.summaryData.init(perRare),
		s.numberDPs.init(perPoint), s.numberDPPtrs.init(perPoint), s.histDPs.init(perRare), s.histDPPtrs.init(perRare),
		s.expDPs.init(perRare), s.expDPPtrs.init(perRare), s.buckets.init(perRare), s.summaryDPs.init(perRare),
		s.summaryPtrs.init(perRare), s.quantiles.init(perRare), s.quantilePtrs.init(perRare),
		s.exemplars.init(perRare), s.exemplarPtrs.init(perRare), s.numDoubles.init(perPoint), s.numInts.init(perPoint),
		s.exDoubles.init(perRare), s.exInts.init(perRare), s.doubles.init(8), s.u64s.init(8))
}

// fastUnmarshalMetrics decodes an ExportMetricsServiceRequest with values from arena a
// (nil: a pooled one), or returns errFallback.
func fastUnmarshalMetrics(a *otlpArena, data []byte) (*colmetricpb.ExportMetricsServiceRequest, error) {
	return decodeSignal(a, data, metricLevels)
}

func metricLevels(a *otlpArena) levels[colmetricpb.ExportMetricsServiceRequest, metricspb.ResourceMetrics, metricspb.ScopeMetrics, metricspb.Metric] {
	return levels[colmetricpb.ExportMetricsServiceRequest, metricspb.ResourceMetrics, metricspb.ScopeMetrics, metricspb.Metric]{
		&a.metricReqs, &a.rms, &a.rmPtrs, &a.sms, &a.smPtrs, &a.metrics, &a.metricPtrs, (*fastDecoder).metric,
		func(m *colmetricpb.ExportMetricsServiceRequest) *[]*metricspb.ResourceMetrics {
			return &m.ResourceMetrics
		},
		func(g *metricspb.ResourceMetrics) (**resourcepb.Resource, *[]*metricspb.ScopeMetrics, *string) {
			return &g.Resource, &g.ScopeMetrics, &g.SchemaUrl
		},
		func(s *metricspb.ScopeMetrics) (**commonpb.InstrumentationScope, *[]*metricspb.Metric, *string) {
			return &s.Scope, &s.Metrics, &s.SchemaUrl
		},
	}
}

func (d *fastDecoder) metric(m *metricspb.Metric, in pbField) bool {
	a := d.a
	return d.each(in, func(f pbField, at int) bool {
		p := d.at(at)
		switch f.key {
		case 1<<3 | bt:
			return d.setString(&m.Name, f)
		case 2<<3 | bt:
			return d.setString(&m.Description, f)
		case 3<<3 | bt:
			return d.setString(&m.Unit, f)
		case 12<<3 | bt:
			return d.addKeyValue(&m.Metadata, f, at, in.ve)
		}
		if m.Data != nil {
			return false // a oneof given twice: protobuf's merge rules apply
		}
		switch f.key {
		case 5<<3 | bt:
			g, w := a.gauges.one(p), a.gaugeData.one(p)
			w.Gauge, m.Data = g, w
			return series(d, f, &a.numberDPs, &a.numberDPPtrs, &g.DataPoints, (*fastDecoder).numberDP, nil, nil)
		case 7<<3 | bt:
			s, w := a.sums.one(p), a.sumData.one(p)
			w.Sum, m.Data = s, w
			return series(d, f, &a.numberDPs, &a.numberDPPtrs, &s.DataPoints, (*fastDecoder).numberDP,
				&s.AggregationTemporality, &s.IsMonotonic)
		case 9<<3 | bt:
			h, w := a.histograms.one(p), a.histogramData.one(p)
			w.Histogram, m.Data = h, w
			return series(d, f, &a.histDPs, &a.histDPPtrs, &h.DataPoints, (*fastDecoder).histogramDP,
				&h.AggregationTemporality, nil)
		case 10<<3 | bt:
			h, w := a.expHistograms.one(p), a.expHistData.one(p)
			w.ExponentialHistogram, m.Data = h, w
			return series(d, f, &a.expDPs, &a.expDPPtrs, &h.DataPoints, (*fastDecoder).expHistogramDP,
				&h.AggregationTemporality, nil)
		case 11<<3 | bt:
			s, w := a.summaries.one(p), a.summaryData.one(p)
			w.Summary, m.Data = s, w
			return series(d, f, &a.summaryDPs, &a.summaryPtrs, &s.DataPoints, (*fastDecoder).summaryDP, nil, nil)
		}
		return false
	})
}

// series decodes the message holding a metric's data points: field 1 is the repeated
// points (appended to list, each decoded by item), field 2 the aggregation temporality
// and field 3 is_monotonic, for the messages that have them (temporality or monotonic
// not nil).
func series[T any](d *fastDecoder, in pbField, items *slab[T], ptrs *slab[*T], list *[]*T,
	item func(*fastDecoder, *T, pbField) bool, temporality *metricspb.AggregationTemporality, monotonic *bool) bool {
	var x *T
	return d.each(in, func(f pbField, at int) bool {
		switch {
		case f.key == 1<<3|bt:
			*list, x = appendOne(d, items, ptrs, *list, at, in.ve)
			return item(d, x, f)
		case f.key == 2<<3|vt && temporality != nil:
			*temporality = metricspb.AggregationTemporality(int32(f.v))
			return true
		case f.key == 3<<3|vt && monotonic != nil:
			*monotonic = f.v != 0
			return true
		}
		return false
	})
}

// point decodes the fields data points share, numbered alike in each kind of point:
// start (2) and time (3) and, for those points that have them at the field numbers
// given (0 for none), attributes, exemplars, flags, a count (4) and an optional sum (5).
type point struct {
	start, time, count *uint64
	sum                **float64
	attrs              *[]*commonpb.KeyValue
	exemplars          *[]*metricspb.Exemplar
	flags              *uint32
	attrsNum, exNum    uint64
	flagsNum           uint64
}

// common decodes f if it is one of the shared fields of p, reporting whether it was
// and, if so, whether it was valid.
func (d *fastDecoder) common(p *point, f pbField, at, end int) (known, ok bool) {
	switch num, typ := f.key>>3, f.key&7; {
	case num == 2 && typ == f64:
		*p.start = f.v
	case num == 3 && typ == f64:
		*p.time = f.v
	case num == 4 && typ == f64 && p.count != nil:
		*p.count = f.v
	case num == 5 && typ == f64 && p.sum != nil:
		d.optDouble(p.sum, f)
	case num == p.attrsNum && typ == bt:
		return true, d.addKeyValue(p.attrs, f, at, end)
	case num == p.exNum && typ == bt && p.exemplars != nil:
		var x *metricspb.Exemplar
		*p.exemplars, x = appendOne(d, &d.a.exemplars, &d.a.exemplarPtrs, *p.exemplars, at, end)
		return true, d.exemplar(x, f)
	case num == p.flagsNum && typ == vt:
		*p.flags = uint32(f.v)
	default:
		return false, false
	}
	return true, true
}

// optDouble sets an optional double field.
func (d *fastDecoder) optDouble(p **float64, f pbField) {
	if *p == nil {
		*p = d.a.doubles.one(d.at(f.vs))
	}
	**p = math.Float64frombits(f.v)
}

// fixed64s decodes one field of a repeated fixed64 or double field into list: packed
// (a bytes field) or one element. conv turns the bits into the element type.
func fixed64s[T uint64 | float64](d *fastDecoder, s *slab[T], list []T, f pbField, at, end int, conv func(uint64) T) ([]T, bool) {
	if f.key&7 == f64 {
		return append(room(d, s, list, at, end), conv(f.v)), true
	}
	b := d.raw[f.vs:f.ve]
	if len(b)%8 != 0 {
		return list, false
	}
	if list == nil {
		list = s.take(len(b)/8, d.at(at))
	}
	for ; len(b) >= 8; b = b[8:] {
		list = append(list, conv(binary.LittleEndian.Uint64(b)))
	}
	return list, true
}

func asUint64(v uint64) uint64 { return v }

func (d *fastDecoder) numberDP(p *metricspb.NumberDataPoint, in pbField) bool {
	c := point{start: &p.StartTimeUnixNano, time: &p.TimeUnixNano, attrs: &p.Attributes, attrsNum: 7,
		exemplars: &p.Exemplars, exNum: 5, flags: &p.Flags, flagsNum: 8}
	return d.each(in, func(f pbField, at int) bool {
		if known, ok := d.common(&c, f, at, in.ve); known {
			return ok
		}
		if p.Value != nil {
			return false // a oneof given twice
		}
		switch f.key {
		case 4<<3 | f64:
			w := d.a.numDoubles.one(d.at(at))
			w.AsDouble, p.Value = math.Float64frombits(f.v), w
		case 6<<3 | f64:
			w := d.a.numInts.one(d.at(at))
			w.AsInt, p.Value = int64(f.v), w
		default:
			return false
		}
		return true
	})
}

func (d *fastDecoder) histogramDP(p *metricspb.HistogramDataPoint, in pbField) bool {
	c := point{start: &p.StartTimeUnixNano, time: &p.TimeUnixNano, count: &p.Count, sum: &p.Sum,
		attrs: &p.Attributes, attrsNum: 9, exemplars: &p.Exemplars, exNum: 8, flags: &p.Flags, flagsNum: 10}
	return d.each(in, func(f pbField, at int) bool {
		if known, ok := d.common(&c, f, at, in.ve); known {
			return ok
		}
		ok := true
		switch f.key {
		case 6<<3 | bt, 6<<3 | f64:
			p.BucketCounts, ok = fixed64s(d, &d.a.u64s, p.BucketCounts, f, at, in.ve, asUint64)
		case 7<<3 | bt, 7<<3 | f64:
			p.ExplicitBounds, ok = fixed64s(d, &d.a.doubles, p.ExplicitBounds, f, at, in.ve, math.Float64frombits)
		case 11<<3 | f64:
			d.optDouble(&p.Min, f)
		case 12<<3 | f64:
			d.optDouble(&p.Max, f)
		default:
			return false
		}
		return ok
	})
}

func (d *fastDecoder) expHistogramDP(p *metricspb.ExponentialHistogramDataPoint, in pbField) bool {
	c := point{start: &p.StartTimeUnixNano, time: &p.TimeUnixNano, count: &p.Count, sum: &p.Sum,
		attrs: &p.Attributes, attrsNum: 1, exemplars: &p.Exemplars, exNum: 11, flags: &p.Flags, flagsNum: 10}
	return d.each(in, func(f pbField, at int) bool {
		if known, ok := d.common(&c, f, at, in.ve); known {
			return ok
		}
		switch f.key {
		case 6<<3 | vt:
			p.Scale = zigzag32(f.v)
		case 7<<3 | f64:
			p.ZeroCount = f.v
		case 8<<3 | bt:
			return d.bucketsInto(&p.Positive, f)
		case 9<<3 | bt:
			return d.bucketsInto(&p.Negative, f)
		case 12<<3 | f64:
			d.optDouble(&p.Min, f)
		case 13<<3 | f64:
			d.optDouble(&p.Max, f)
		case 14<<3 | f64:
			p.ZeroThreshold = math.Float64frombits(f.v)
		default:
			return false
		}
		return true
	})
}

// zigzag32 decodes a sint32 as protobuf does: the low 32 bits, zigzag-decoded.
func zigzag32(v uint64) int32 { return int32(protowire.DecodeZigZag(v & math.MaxUint32)) }

// bucketsInto decodes an exponential histogram's Buckets field; a second one gives up.
func (d *fastDecoder) bucketsInto(p **metricspb.ExponentialHistogramDataPoint_Buckets, in pbField) bool {
	if *p != nil {
		return false // merged by protobuf
	}
	bk := d.a.buckets.one(d.at(in.vs))
	*p = bk
	return d.each(in, func(f pbField, at int) bool {
		switch f.key {
		case 1<<3 | vt:
			bk.Offset = zigzag32(f.v)
		case 2<<3 | vt:
			bk.BucketCounts = append(room(d, &d.a.u64s, bk.BucketCounts, at, in.ve), f.v)
		case 2<<3 | bt:
			b := d.raw[f.vs:f.ve]
			if bk.BucketCounts == nil {
				n := 0
				for _, c := range b {
					if c < 0x80 {
						n++
					}
				}
				bk.BucketCounts = d.a.u64s.take(n, d.at(at))
			}
			for len(b) > 0 {
				v, n := protowire.ConsumeVarint(b)
				if n < 0 {
					return false
				}
				bk.BucketCounts = append(bk.BucketCounts, v)
				b = b[n:]
			}
		default:
			return false
		}
		return true
	})
}

func (d *fastDecoder) summaryDP(p *metricspb.SummaryDataPoint, in pbField) bool {
	c := point{start: &p.StartTimeUnixNano, time: &p.TimeUnixNano, count: &p.Count,
		attrs: &p.Attributes, attrsNum: 7, flags: &p.Flags, flagsNum: 8}
	var q *metricspb.SummaryDataPoint_ValueAtQuantile
	return d.each(in, func(f pbField, at int) bool {
		if known, ok := d.common(&c, f, at, in.ve); known {
			return ok
		}
		switch f.key {
		case 5<<3 | f64:
			p.Sum = math.Float64frombits(f.v)
		case 6<<3 | bt:
			p.QuantileValues, q = appendOne(d, &d.a.quantiles, &d.a.quantilePtrs, p.QuantileValues, at, in.ve)
			return d.quantile(q, f)
		default:
			return false
		}
		return true
	})
}

func (d *fastDecoder) quantile(q *metricspb.SummaryDataPoint_ValueAtQuantile, in pbField) bool {
	return d.each(in, func(f pbField, _ int) bool {
		switch f.key {
		case 1<<3 | f64:
			q.Quantile = math.Float64frombits(f.v)
		case 2<<3 | f64:
			q.Value = math.Float64frombits(f.v)
		default:
			return false
		}
		return true
	})
}

func (d *fastDecoder) exemplar(e *metricspb.Exemplar, in pbField) bool {
	return d.each(in, func(f pbField, at int) bool {
		ok := true
		switch f.key {
		case 2<<3 | f64:
			e.TimeUnixNano = f.v
		case 4<<3 | bt:
			e.SpanId = d.bytes(f)
		case 5<<3 | bt:
			e.TraceId = d.bytes(f)
		case 7<<3 | bt:
			ok = d.addKeyValue(&e.FilteredAttributes, f, at, in.ve)
		case 3<<3 | f64, 6<<3 | f64:
			if e.Value != nil {
				return false // a oneof given twice
			}
			if f.key>>3 == 3 {
				w := d.a.exDoubles.one(d.at(at))
				w.AsDouble, e.Value = math.Float64frombits(f.v), w
			} else {
				w := d.a.exInts.one(d.at(at))
				w.AsInt, e.Value = int64(f.v), w
			}
		default:
			return false
		}
		return ok
	})
}
