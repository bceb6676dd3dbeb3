// Package otelkinesis holds what the otelkinesis exporters share: their options and the
// [Producer] that one stream's trace, metric and log exporters can share.
//
// Package sdk sets up all three signals on one stream in one call, through one producer,
// and stops them with one Shutdown:
//
//	tel, err := sdk.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	defer tel.Shutdown(ctx)
//	otel.SetTracerProvider(tel.TracerProvider())
//
// The exporters themselves live in the packages trace, metric and log:
//
//	exp, err := trace.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// With no options, the exporters read OTEL_EXPORTER_KINESIS_* from the environment
// (a signal-specific OTEL_EXPORTER_KINESIS_TRACES_*, _METRICS_* or _LOGS_* form wins over
// the shared one); options given in code win over both. The documentation of packages
// trace, metric and log lists every variable with its default and range; [NewProducer]
// reads the shared forms of the stream, AWS and producer variables. See README.md for the
// settings table and the wire format.
//
// Each constructor takes its own option type: [Option] (the stream, AWS and producer
// settings) is accepted by all of them, [ExporterOption] (how an exporter writes its
// records, and [WithProducer]) by the three exporters and sdk.New, and the options of
// packages trace, metric and log by their own exporter; an option given where it does
// not apply does not compile.
package otelkinesis
