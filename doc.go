// Package otelkinesis holds what the otelkinesis exporters share: their options and the
// [Producer] that one stream's trace, metric and log exporters can share.
//
// The exporters live in the packages trace, metric and log:
//
//	exp, err := trace.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// With no options, the exporters read OTEL_EXPORTER_KINESIS_* from the environment
// (a signal-specific OTEL_EXPORTER_KINESIS_TRACES_*, _METRICS_* or _LOGS_* form wins over
// the shared one); options given in code win over both. See README.md for the settings
// table and the wire format.
package otelkinesis
