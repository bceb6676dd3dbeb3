package exportertest

import (
	"context"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// DroppedName is the exporters' counter of dropped spans, data points and log records.
const DroppedName = "otelkinesis.exporter.dropped"

// Dropped collects reader and returns the otelkinesis.exporter.dropped series by their
// attributes, keyed "reason/signal" ("permanent_error/traces"; "permanent_error/" for a
// series without a signal). It fails t on data of another kind than a monotonic sum, and
// on a description that does not say the producer's drops are counted too.
func Dropped(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != DroppedName {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic {
				t.Fatalf("%s: %T, want a monotonic Sum[int64]", m.Name, m.Data)
			}
			if !strings.Contains(m.Description, "after it took them") {
				t.Errorf("%s: description %q does not cover the producer's drops", m.Name, m.Description)
			}
			for _, dp := range sum.DataPoints {
				reason, _ := dp.Attributes.Value("reason")
				signal, _ := dp.Attributes.Value("signal")
				got[reason.AsString()+"/"+signal.AsString()] += dp.Value
			}
		}
	}
	return got
}
