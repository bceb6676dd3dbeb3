package exportertest

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// ExportedNames are the exporters' counters of the items whose export ended, with their
// signal.
var ExportedNames = map[string]string{
	"otel.sdk.exporter.span.exported":              "traces",
	"otel.sdk.exporter.metric_data_point.exported": "metrics",
	"otel.sdk.exporter.log.exported":               "logs",
}

// ProducerDroppedName is the producer's counter of the telemetry items it dropped.
const ProducerDroppedName = "otelkinesis.producer.items.dropped"

// Dropped collects reader and returns the items the exporters counted as failed, keyed
// "error.type/signal" ("permanent_error/traces"): the sum of the otel.sdk.exporter.*.exported
// series that have an error.type. It fails t on data of another kind than a monotonic sum.
func Dropped(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return failedSums(t, reader, func(name string) (string, bool) {
		signal, ok := ExportedNames[name]
		return "/" + signal, ok
	})
}

// ProducerDropped collects reader and returns the items of otelkinesis.producer.items.dropped
// by error.type, over every producer.
func ProducerDropped(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	return failedSums(t, reader, func(name string) (string, bool) { return "", name == ProducerDroppedName })
}

// Exported collects reader and returns the items the exporters counted as exported
// successfully (the series without error.type), by signal.
func Exported(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			signal, ok := ExportedNames[m.Name]
			if !ok {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if _, failed := dp.Attributes.Value("error.type"); !failed {
					got[signal] += dp.Value
				}
			}
		}
	}
	return got
}

// failedSums sums the series with an error.type of the monotonic sums whose name match
// accepts, keyed by error.type and the suffix match returns.
func failedSums(t testing.TB, reader *sdkmetric.ManualReader, match func(name string) (string, bool)) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			suffix, ok := match(m.Name)
			if !ok {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic {
				t.Fatalf("%s: %T, want a monotonic Sum[int64]", m.Name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				if errType, ok := dp.Attributes.Value("error.type"); ok {
					got[errType.AsString()+suffix] += dp.Value
				}
			}
		}
	}
	return got
}
