package teststream

import (
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// deterministic marshals m the same way every time, for use as a map key.
func deterministic(m proto.Message) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err) // only messages built here from valid messages reach it
	}
	return string(b)
}

// DataPoints flattens req into one key per data point: the data point with its metric's
// name, description, unit and type fields, its scope and its resource, marshalled
// deterministically. Two requests carry the same telemetry exactly when their keys are
// the same multiset, however they were split into records.
func DataPoints(req *colmetricpb.ExportMetricsServiceRequest) []string {
	var out []string
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, one := range splitMetric(m) {
					out = append(out, deterministic(&metricpb.ResourceMetrics{
						Resource: rm.Resource, SchemaUrl: rm.SchemaUrl,
						ScopeMetrics: []*metricpb.ScopeMetrics{{Scope: sm.Scope, SchemaUrl: sm.SchemaUrl, Metrics: []*metricpb.Metric{one}}},
					}))
				}
			}
		}
	}
	return out
}

// splitMetric returns one copy of m per data point, each holding only that point.
func splitMetric(m *metricpb.Metric) []*metricpb.Metric {
	head := func() *metricpb.Metric {
		return &metricpb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit, Metadata: m.Metadata}
	}
	var out []*metricpb.Metric
	switch d := m.Data.(type) {
	case *metricpb.Metric_Gauge:
		for _, p := range d.Gauge.DataPoints {
			one := head()
			one.Data = &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: []*metricpb.NumberDataPoint{p}}}
			out = append(out, one)
		}
	case *metricpb.Metric_Sum:
		for _, p := range d.Sum.DataPoints {
			one := head()
			one.Data = &metricpb.Metric_Sum{Sum: &metricpb.Sum{DataPoints: []*metricpb.NumberDataPoint{p},
				AggregationTemporality: d.Sum.AggregationTemporality, IsMonotonic: d.Sum.IsMonotonic}}
			out = append(out, one)
		}
	case *metricpb.Metric_Histogram:
		for _, p := range d.Histogram.DataPoints {
			one := head()
			one.Data = &metricpb.Metric_Histogram{Histogram: &metricpb.Histogram{DataPoints: []*metricpb.HistogramDataPoint{p},
				AggregationTemporality: d.Histogram.AggregationTemporality}}
			out = append(out, one)
		}
	case *metricpb.Metric_ExponentialHistogram:
		for _, p := range d.ExponentialHistogram.DataPoints {
			one := head()
			one.Data = &metricpb.Metric_ExponentialHistogram{ExponentialHistogram: &metricpb.ExponentialHistogram{
				DataPoints: []*metricpb.ExponentialHistogramDataPoint{p}, AggregationTemporality: d.ExponentialHistogram.AggregationTemporality}}
			out = append(out, one)
		}
	case *metricpb.Metric_Summary:
		for _, p := range d.Summary.DataPoints {
			one := head()
			one.Data = &metricpb.Metric_Summary{Summary: &metricpb.Summary{DataPoints: []*metricpb.SummaryDataPoint{p}}}
			out = append(out, one)
		}
	default:
		out = append(out, head())
	}
	return out
}

// LogRecords flattens req into one key per log record, with its scope and resource, as
// DataPoints does for metrics.
func LogRecords(req *collogspb.ExportLogsServiceRequest) []string {
	var out []string
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				out = append(out, deterministic(&logspb.ResourceLogs{
					Resource: rl.Resource, SchemaUrl: rl.SchemaUrl,
					ScopeLogs: []*logspb.ScopeLogs{{Scope: sl.Scope, SchemaUrl: sl.SchemaUrl, LogRecords: []*logspb.LogRecord{r}}},
				}))
			}
		}
	}
	return out
}

// Multiset counts the keys of a flattened request.
func Multiset(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k]++
	}
	return m
}
