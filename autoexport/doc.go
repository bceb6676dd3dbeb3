// Package autoexport registers Kinesis with the OpenTelemetry Go autoexport package
// (go.opentelemetry.io/contrib/exporters/autoexport) under the name "kinesis" ([Name]),
// for spans, metrics and logs, in its init function, so that a blank import is enough:
//
//	import (
//		"go.opentelemetry.io/contrib/exporters/autoexport"
//
//		_ "github.com/otelkinesis/otelkinesis/autoexport"
//	)
//
//	// OTEL_TRACES_EXPORTER=kinesis OTEL_METRICS_EXPORTER=kinesis OTEL_LOGS_EXPORTER=kinesis
//	// OTEL_EXPORTER_KINESIS_STREAM_NAME=telemetry
//	spans, err := autoexport.NewSpanExporter(ctx)  // for sdktrace.WithBatcher
//	reader, err := autoexport.NewMetricReader(ctx) // for sdkmetric.WithReader
//	logs, err := autoexport.NewLogExporter(ctx)    // for sdklog.NewBatchProcessor
//
// The package is a module of its own (github.com/otelkinesis/otelkinesis/autoexport), so
// that the otelkinesis module does not depend on contrib's autoexport and the exporters
// it brings.
//
// # What each signal gets
//
// With OTEL_TRACES_EXPORTER=kinesis, autoexport.NewSpanExporter returns the span exporter
// of package trace; with OTEL_LOGS_EXPORTER=kinesis, NewLogExporter the log exporter of
// package log; with OTEL_METRICS_EXPORTER=kinesis, NewMetricReader a sdkmetric
// PeriodicReader over the metric exporter of package metric, whose interval and timeout
// come from OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT (milliseconds;
// default 60000 and 30000), read by the SDK as for any PeriodicReader: a value that is not
// a positive whole number is reported through the SDK's error handler and the default
// used. OTEL_METRICS_PRODUCERS, which autoexport's own otlp and console readers honour, is
// not read (autoexport does not expose it to other readers).
//
// # Configuration
//
// Everything comes from the environment: the OTEL_EXPORTER_KINESIS_* variables, read
// exactly as trace.New, metric.New and log.New read them with no options (the
// documentation of those packages lists every variable with its default and range),
// each signal-specific form (OTEL_EXPORTER_KINESIS_TRACES_<NAME>, _METRICS_<NAME>,
// _LOGS_<NAME>) winning over the shared OTEL_EXPORTER_KINESIS_<NAME> for its signal. A
// stream, by name or ARN, is required. A value out of range, or a stream that cannot be
// reached (the startup check), is the constructor's error, worded as the exporter words
// it and naming the variable: "otelkinesis: traces exporter:
// OTEL_EXPORTER_KINESIS_TRACES_MAX_RETRIES=lots: not a whole number; allowed 0 to 100
// (option WithMaxRetries)".
//
// # One producer per stream
//
// The exporters created in one process share producers: those whose stream, AWS and
// producer settings are the same (the stream name and ARN, the endpoint, the region, the
// role, and every producer setting, as otelkinesis.ProducerSettings.Equal compares them)
// share one producer, created by the first of them with otelkinesis's producer (one
// startup check, one connection pool, the shards' capacity budgeted once) and given to
// the others with otelkinesis.WithProducer. With only the shared variables set, the
// three signals share one producer.
//
// The producer is reference-counted: each exporter's Shutdown (the metric reader's
// Shutdown shuts its exporter down) flushes it and gives its share back, and the last
// one shuts it down, by that Shutdown's context. Shut down every exporter and reader you
// create, as the providers' Shutdown does, or the producer keeps running. An exporter
// created after the last Shutdown gets a new producer.
//
// A signal-specific form that gives one signal another stream, endpoint, region, role or
// producer setting (OTEL_EXPORTER_KINESIS_METRICS_FLUSH_INTERVAL=60000) gives that
// signal a producer of its own: a producer has one set of settings. Two producers on one
// stream each budget the shards' capacity for themselves. The exporters' own variables
// (encoding, compression, partitioning) never split the producer.
//
// With self-observability on (OTEL_GO_X_OBSERVABILITY=true), the exporters report their
// otel.sdk.exporter.* metrics as exporters of a shared producer do (an item's export ends
// when the producer takes it), and the producer its otelkinesis.producer.* metrics; see
// README.md.
package autoexport
