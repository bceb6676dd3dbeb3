package otlpwire

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// Random metrics: every data type with random attributes, times, values,
// exemplars and buckets, drawn from the shared generator (so with invalid
// UTF-8 and huge strings when asked).

func mtRandomTime(g *gen) time.Time {
	switch g.r.IntN(5) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(-1-int64(g.r.IntN(1000)), 0) // before the epoch: written as 0
	}
	return time.Unix(1700000000+int64(g.r.IntN(1e6)), int64(g.r.IntN(1e9)))
}

func mtRandomID(g *gen) []byte {
	n := []int{0, 8, 16, 3}[g.r.IntN(4)]
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func mtRandomSet(g *gen, maxN int) attribute.Set {
	return attribute.NewSet(g.keyValues(maxN)...)
}

func mtRandomExemplars[N int64 | float64](g *gen, v func() N) []metricdata.Exemplar[N] {
	var es []metricdata.Exemplar[N]
	for range g.r.IntN(3) {
		es = append(es, metricdata.Exemplar[N]{FilteredAttributes: g.keyValues(3), Time: mtRandomTime(g), Value: v(), SpanID: mtRandomID(g), TraceID: mtRandomID(g)})
	}
	return es
}

func mtRandomNumber[N int64 | float64](g *gen) func() N {
	return func() N {
		if isFloat[N]() {
			return N(g.float64())
		}
		return N(g.int64())
	}
}

func mtRandomExtrema[N int64 | float64](g *gen, v func() N) metricdata.Extrema[N] {
	if g.r.IntN(3) == 0 {
		return metricdata.Extrema[N]{}
	}
	return metricdata.NewExtrema(v())
}

func mtRandomCounts(g *gen, n int) []uint64 {
	var c []uint64
	for range n {
		c = append(c, []uint64{0, 1, uint64(g.r.IntN(1000)), g.r.Uint64()}[g.r.IntN(4)])
	}
	return c
}

func mtRandomTemporality(g *gen) metricdata.Temporality {
	return []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality}[g.r.IntN(2)]
}

func mtRandomData[N int64 | float64](g *gen) metricdata.Aggregation {
	v := mtRandomNumber[N](g)
	n := g.r.IntN(4)
	switch g.r.IntN(4) {
	case 0, 1:
		var dps []metricdata.DataPoint[N]
		for range n {
			dps = append(dps, metricdata.DataPoint[N]{Attributes: mtRandomSet(g, 4), StartTime: mtRandomTime(g), Time: mtRandomTime(g), Value: v(), Exemplars: mtRandomExemplars(g, v)})
		}
		if g.r.IntN(2) == 0 {
			return metricdata.Gauge[N]{DataPoints: dps}
		}
		return metricdata.Sum[N]{DataPoints: dps, Temporality: mtRandomTemporality(g), IsMonotonic: g.r.IntN(2) == 0}
	case 2:
		var dps []metricdata.HistogramDataPoint[N]
		for range n {
			nb := g.r.IntN(20)
			bounds := make([]float64, nb)
			for i := range bounds {
				bounds[i] = g.float64()
			}
			dps = append(dps, metricdata.HistogramDataPoint[N]{
				Attributes: mtRandomSet(g, 4), StartTime: mtRandomTime(g), Time: mtRandomTime(g), Count: g.r.Uint64(), Bounds: bounds,
				BucketCounts: mtRandomCounts(g, nb+g.r.IntN(2)), Min: mtRandomExtrema(g, v), Max: mtRandomExtrema(g, v),
				Sum: v(), Exemplars: mtRandomExemplars(g, v),
			})
		}
		return metricdata.Histogram[N]{DataPoints: dps, Temporality: mtRandomTemporality(g)}
	}
	var dps []metricdata.ExponentialHistogramDataPoint[N]
	scales := []int32{0, -10, 20, math.MinInt32, math.MaxInt32}
	offsets := []int32{0, -1, 1000, math.MinInt32, math.MaxInt32}
	for range n {
		dps = append(dps, metricdata.ExponentialHistogramDataPoint[N]{
			Attributes: mtRandomSet(g, 4), StartTime: mtRandomTime(g), Time: mtRandomTime(g), Count: g.r.Uint64(),
			Min: mtRandomExtrema(g, v), Max: mtRandomExtrema(g, v), Sum: v(), Scale: scales[g.r.IntN(5)],
			ZeroCount: mtRandomCounts(g, 1)[0], ZeroThreshold: g.float64(),
			PositiveBucket: metricdata.ExponentialBucket{Offset: offsets[g.r.IntN(5)], Counts: mtRandomCounts(g, g.r.IntN(30))},
			NegativeBucket: metricdata.ExponentialBucket{Offset: offsets[g.r.IntN(5)], Counts: mtRandomCounts(g, g.r.IntN(5))},
			Exemplars:      mtRandomExemplars(g, v),
		})
	}
	return metricdata.ExponentialHistogram[N]{DataPoints: dps, Temporality: mtRandomTemporality(g)}
}

func mtRandomSummary(g *gen) metricdata.Summary {
	var s metricdata.Summary
	for range g.r.IntN(4) {
		var qs []metricdata.QuantileValue
		for range g.r.IntN(4) {
			qs = append(qs, metricdata.QuantileValue{Quantile: g.float64(), Value: g.float64()})
		}
		s.DataPoints = append(s.DataPoints, metricdata.SummaryDataPoint{
			Attributes: mtRandomSet(g, 3), StartTime: mtRandomTime(g), Time: mtRandomTime(g), Count: g.r.Uint64(), Sum: g.float64(), QuantileValues: qs,
		})
	}
	return s
}

// mtRandom draws a ResourceMetrics. Scope and metric names are made unique
// (a suffix), so that a data point is known by scope, metric and index.
func mtRandom(g *gen) *metricdata.ResourceMetrics {
	rm := &metricdata.ResourceMetrics{}
	switch g.r.IntN(3) {
	case 1:
		rm.Resource = resource.Empty()
	case 2:
		rm.Resource = resource.NewWithAttributes(g.string(), g.keyValues(6)...)
	}
	for i := range g.r.IntN(4) {
		sm := metricdata.ScopeMetrics{Scope: instrumentation.Scope{
			Name: fmt.Sprintf("%s#%d", g.string(), i), Version: g.string(), SchemaURL: g.string(), Attributes: mtRandomSet(g, 3),
		}}
		for j := range g.r.IntN(5) {
			m := metricdata.Metrics{Name: fmt.Sprintf("%s#%d", g.string(), j), Description: g.string(), Unit: g.string()}
			switch g.r.IntN(3) {
			case 0:
				m.Data = mtRandomData[int64](g)
			case 1:
				m.Data = mtRandomData[float64](g)
			default:
				m.Data = mtRandomSummary(g)
			}
			sm.Metrics = append(sm.Metrics, m)
		}
		rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
	}
	return rm
}

// TestMetricsRandom checks random metrics: valid UTF-8 ones against
// otlpmetrichttp byte for byte, the others for decoding (with every invalid
// byte repaired), and split into records of random limits.
func TestMetricsRandom(t *testing.T) {
	sink := newOTLPSink(t, false)
	exp := newOracleMetricExporter(t, sink)
	ctx := context.Background()
	for seed := range propertyCases(300) {
		g := newGen(seed)
		g.invalidUTF8 = seed%4 == 3
		g.huge = seed%50 == 0
		rm := mtRandom(g)
		got, err := AppendMetricsRequest(nil, rm)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var req colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(got, &req); err != nil {
			t.Fatalf("seed %d: our bytes do not decode: %v", seed, err)
		}
		if !g.invalidUTF8 {
			if err := exp.Export(ctx, rm); err != nil {
				t.Fatalf("seed %d: official exporter: %v", seed, err)
			}
			bodies := sink.take()
			if len(bodies) != 1 {
				t.Fatalf("seed %d: %d requests", seed, len(bodies))
			}
			mtCompareRequests(t, got, bodies[0], &colmetricpb.ExportMetricsServiceRequest{}, &colmetricpb.ExportMetricsServiceRequest{})
		}
		if seed%10 == 0 {
			// Records of a larger draw: the scopes of several, renamed apart.
			for range 5 {
				rm.ScopeMetrics = append(rm.ScopeMetrics, mtRandom(g).ScopeMetrics...)
			}
			for i := range rm.ScopeMetrics {
				rm.ScopeMetrics[i].Scope.Name += fmt.Sprintf("/%d", i)
			}
			enc := []Encoding{Protobuf, JSON}[seed/10%2]
			limit := []int{300, 1000, 4000, 20000}[g.r.IntN(4)]
			t.Run(fmt.Sprintf("seed %d records %s %d", seed, enc, limit), func(t *testing.T) {
				checkMetricRecords(t, MetricConfig{Encoding: enc, MaxRecordSize: limit}, rm)
			})
		}
	}
}
