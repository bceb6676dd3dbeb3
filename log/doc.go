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
//
// # Environment variables
//
// With no options, New reads its configuration from the variables below. Each has a
// signal-specific form, OTEL_EXPORTER_KINESIS_LOGS_<NAME>, which wins over
// OTEL_EXPORTER_KINESIS_<NAME> for this exporter. An option given in code wins over both,
// and then the variables of its setting are not read at all (a value of theirs that does
// not parse is no error). With [otelkinesis.WithProducer] the stream, AWS and producer
// variables are not read: the shared producer has its own, from [otelkinesis.NewProducer],
// which reads the OTEL_EXPORTER_KINESIS_<NAME> forms. Durations are a whole number of
// milliseconds, as the OpenTelemetry variables give them, or a Go duration such as 5s.
// Names (encodings, compressions, partitionings) are matched regardless of case. New
// refuses a value out of range, naming the variable, the value as written, what is allowed
// and the option.
//
// OTEL_EXPORTER_KINESIS_STREAM_NAME, OTEL_EXPORTER_KINESIS_LOGS_STREAM_NAME (default: none) -
// the stream's name: 1 to 128 characters of a-z A-Z 0-9 _ . -. A stream name or ARN is
// required; given both, they must name the same stream. Overridden by
// [otelkinesis.WithStreamName] and [otelkinesis.WithStreamARN]: a stream given in code
// takes the place of both stream variables.
//
// OTEL_EXPORTER_KINESIS_STREAM_ARN, OTEL_EXPORTER_KINESIS_LOGS_STREAM_ARN (default: none) -
// the stream's ARN, arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME; its region is the
// region when none is set. Overridden by [otelkinesis.WithStreamARN] and
// [otelkinesis.WithStreamName].
//
// OTEL_EXPORTER_KINESIS_ENDPOINT, OTEL_EXPORTER_KINESIS_LOGS_ENDPOINT (default: the region's AWS endpoint) -
// the Kinesis endpoint, an http:// or https:// URL with a host (a local emulator, a VPC
// endpoint). Overridden by [otelkinesis.WithEndpointURL].
//
// OTEL_EXPORTER_KINESIS_REGION, OTEL_EXPORTER_KINESIS_LOGS_REGION (default: AWS_REGION, then the AWS shared configuration, then the stream ARN's region) -
// the AWS region: 1 to 63 lower-case letters, digits and hyphens, starting with a letter
// and not ending with a hyphen, such as us-east-1. A region from AWS_REGION or the shared
// configuration is checked the same way. Overridden by [otelkinesis.WithRegion].
//
// OTEL_EXPORTER_KINESIS_ROLE_ARN, OTEL_EXPORTER_KINESIS_LOGS_ROLE_ARN (default: none) -
// an IAM role to assume through STS for the Kinesis calls,
// arn:PARTITION:iam::ACCOUNT:role/NAME. Overridden by [otelkinesis.WithRole].
//
// OTEL_EXPORTER_KINESIS_EXTERNAL_ID, OTEL_EXPORTER_KINESIS_LOGS_EXTERNAL_ID (default: none) -
// the external ID to assume the role with; only with a role. Errors never show it.
// Overridden by [otelkinesis.WithRole].
//
// OTEL_EXPORTER_KINESIS_ENCODING, OTEL_EXPORTER_KINESIS_LOGS_ENCODING (default: otlp_proto) -
// the OTLP encoding of each user record: otlp_proto or otlp_json. Overridden by
// [otelkinesis.WithEncoding].
//
// OTEL_EXPORTER_KINESIS_COMPRESSION, OTEL_EXPORTER_KINESIS_LOGS_COMPRESSION (default: none) -
// the compression of each user record: none, gzip or zstd. Overridden by
// [otelkinesis.WithCompression].
//
// OTEL_EXPORTER_KINESIS_PARTITION_BY, OTEL_EXPORTER_KINESIS_LOGS_PARTITION_BY (default: trace_id) -
// how user records are keyed, and so which shard they go to: trace_id (a log record with a
// trace ID goes with its trace, the others by resource), resource, random or shard (for
// logs, the same as trace_id). Overridden by [otelkinesis.WithPartitionBy] and
// [WithPartitionKey].
//
// OTEL_EXPORTER_KINESIS_AGGREGATE_BATCH_COUNT, OTEL_EXPORTER_KINESIS_LOGS_AGGREGATE_BATCH_COUNT (default: 4294967295) -
// the most user records in one aggregated Kinesis record, 1 to 4294967295. Overridden by
// [otelkinesis.WithAggregateBatchCount].
//
// OTEL_EXPORTER_KINESIS_AGGREGATE_BATCH_SIZE, OTEL_EXPORTER_KINESIS_LOGS_AGGREGATE_BATCH_SIZE (default: 51200) -
// the largest aggregated Kinesis record in bytes, 1 to 10485760 (the stream's record limit
// caps it). Overridden by [otelkinesis.WithAggregateBatchSize].
//
// OTEL_EXPORTER_KINESIS_BATCH_SIZE, OTEL_EXPORTER_KINESIS_LOGS_BATCH_SIZE (default: 5242880) -
// the most bytes (data and partition keys) in one PutRecords request, 1 to 10485760.
// Overridden by [otelkinesis.WithBatchSize].
//
// OTEL_EXPORTER_KINESIS_BATCH_COUNT, OTEL_EXPORTER_KINESIS_LOGS_BATCH_COUNT (default: 500) -
// the most Kinesis records in one PutRecords request, 1 to 500. Overridden by
// [otelkinesis.WithBatchCount].
//
// OTEL_EXPORTER_KINESIS_BACKLOG_COUNT, OTEL_EXPORTER_KINESIS_LOGS_BACKLOG_COUNT (default: 2000) -
// the most user records waiting to be sent, 1 to 2147483647; exports wait while it is
// reached. Overridden by [otelkinesis.WithBacklogCount].
//
// OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL, OTEL_EXPORTER_KINESIS_LOGS_FLUSH_INTERVAL (default: 5000 (5s)) -
// how often buffered records are sent even when no batch is full, 1ms to 1h. Overridden by
// [otelkinesis.WithFlushInterval].
//
// OTEL_EXPORTER_KINESIS_MAX_CONNECTIONS, OTEL_EXPORTER_KINESIS_LOGS_MAX_CONNECTIONS (default: 24) -
// the most PutRecords requests in flight, 1 to 1024. Overridden by
// [otelkinesis.WithMaxConnections].
//
// OTEL_EXPORTER_KINESIS_MAX_RETRIES, OTEL_EXPORTER_KINESIS_LOGS_MAX_RETRIES (default: 10) -
// how many times a Kinesis record is sent again after Kinesis answered an attempt with a
// retryable error, 0 to 100 (attempts that never reached Kinesis are bounded by the
// delivery budget alone). Overridden by
// [otelkinesis.WithMaxRetries].
//
// OTEL_EXPORTER_KINESIS_MAX_BACKOFF, OTEL_EXPORTER_KINESIS_LOGS_MAX_BACKOFF (default: 60000 (60s)) -
// the longest wait between two attempts (before retry n a random time between c/2 and c,
// c = min(max_backoff, 100ms * 3^(n-1))), 1ms to 1h.
// Overridden by [otelkinesis.WithMaxBackoff].
//
// OTEL_EXPORTER_KINESIS_RECORD_TTL, OTEL_EXPORTER_KINESIS_LOGS_RECORD_TTL (default: 300000 (5m)) -
// the delivery budget: how long telemetry may stay in the producer before it is given up,
// 100ms to 24h. Overridden by [otelkinesis.WithRecordTTL].
//
// OTEL_EXPORTER_KINESIS_TIMEOUT, OTEL_EXPORTER_KINESIS_LOGS_TIMEOUT (default: 30000 (30s)) -
// the timeout of each PutRecords, ListShards and DescribeStreamSummary request (a request
// that times out is retried), 1ms to 1h; as OTEL_EXPORTER_OTLP_TIMEOUT is the OTLP
// exporters' per-request timeout. Overridden by [otelkinesis.WithRequestTimeout].
//
// Credentials come from the AWS default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, the
// instance or task role, ...). Some settings have an option and no variable:
// [otelkinesis.WithBacklogBytes] (default 64 MiB), [otelkinesis.WithRateLimit] (default
// 100 %), [otelkinesis.WithAggregation] (default on), [otelkinesis.WithoutStartupCheck],
// [otelkinesis.WithAWSConfig], [otelkinesis.WithKinesisClient],
// [otelkinesis.WithMeterProvider] and [otelkinesis.WithProducer], and this package's
// [WithPartitionKey].
package log
