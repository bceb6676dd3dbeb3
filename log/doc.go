// Package log is an OpenTelemetry log exporter (sdklog.Exporter) that writes log records
// to an Amazon Kinesis data stream, straight from the service.
//
//	exp, err := log.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	if err != nil { ... }
//	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
//	defer lp.Shutdown(ctx)
//
// Each user record is one self-contained OTLP ExportLogsServiceRequest, written straight
// from the SDK's records (severity, bodies of every value kind, nested maps and slices,
// attributes, trace context, event name, timestamps) and proven equal, field for field,
// to what the official otlploghttp exporter sends for the same records. By default a log
// record that carries a trace ID is keyed by it, so a trace's logs land on the same shard
// as its spans; the others are keyed by their resource. Settings and the wire format are
// shared with the trace and metric exporters: see package otelkinesis and README.md.
package log
