// Package trace is an OpenTelemetry span exporter that writes spans to an Amazon Kinesis
// data stream, straight from the service, with no collector in between.
//
//	exp, err := trace.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	if err != nil { ... }
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//	defer tp.Shutdown(ctx) // flushes the batcher, then shuts the exporter down
//
// Each user record on the stream is one self-contained OTLP ExportTraceServiceRequest
// (protobuf by default, OTLP/JSON with otelkinesis.WithEncoding), optionally compressed,
// tagged with its signal, content type and compression, and aggregated with others of the
// same shard in the KPL format (see README.md, "Wire format"). By default records are
// partitioned by trace ID: one user record holds spans of exactly one trace, keyed by the
// trace ID in hex, so every trace lands whole on one shard, as tail sampling needs. A
// record never exceeds the stream's record limit: large groups are split by resource,
// scope and span, and a single span too large for any record is dropped, counted and
// reported with its size, trace ID and span ID.
//
// With no options, New reads OTEL_EXPORTER_KINESIS_TRACES_* and OTEL_EXPORTER_KINESIS_*
// from the environment: OTEL_EXPORTER_KINESIS_STREAM_NAME and the AWS region and
// credentials are all it needs.
//
// Encoding writes OTLP wire bytes straight from the SDK's ReadOnlySpan, without
// building intermediate protobuf messages; tests hold it to proto.Equal with what the
// official otlptrace transform produces, plus each link's trace state, which that
// transform leaves out.
package trace
