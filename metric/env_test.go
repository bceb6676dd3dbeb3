package metric_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
)

// TestTemporalityPreferenceAsOTLP: for each value of
// OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE, the exporter's temporality for
// every instrument kind is the one otlpmetrichttp gives for the same value of
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
func TestTemporalityPreferenceAsOTLP(t *testing.T) {
	kinds := []sdkmetric.InstrumentKind{sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter,
		sdkmetric.InstrumentKindHistogram, sdkmetric.InstrumentKindObservableCounter,
		sdkmetric.InstrumentKindObservableUpDownCounter, sdkmetric.InstrumentKindObservableGauge, sdkmetric.InstrumentKindGauge}
	ctx := context.Background()
	for _, value := range []string{"", "cumulative", "delta", "lowmemory", "DELTA", "LowMemory"} {
		t.Run(value, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", value)
			t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", value)
			official, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL("http://127.0.0.1:1/v1/metrics"))
			if err != nil {
				t.Fatal(err)
			}
			defer official.Shutdown(ctx)
			_, ours := newTestExporter(t)
			defer ours.Shutdown(ctx)
			for _, k := range kinds {
				if got, want := ours.Temporality(k), official.Temporality(k); got != want {
					t.Errorf("%v: %v, otlpmetrichttp %v", k, got, want)
				}
			}
		})
	}
	// An option wins over the variable.
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", "delta")
	_, exp := newTestExporter(t, kinesismetric.WithTemporalitySelector(sdkmetric.CumulativeTemporalitySelector))
	defer exp.Shutdown(ctx)
	if got := exp.Temporality(sdkmetric.InstrumentKindCounter); got != sdkmetric.CumulativeTemporalitySelector(sdkmetric.InstrumentKindCounter) {
		t.Errorf("counter with the option: %v, want cumulative", got)
	}
}
