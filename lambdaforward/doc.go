// Package lambdaforward is an AWS Lambda handler that forwards the OpenTelemetry
// telemetry on a Kinesis stream to an OTLP/HTTP endpoint: a Collector, or any backend
// that speaks OTLP.
//
//	f, err := lambdaforward.New() // OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _COMPRESSION, _TIMEOUT
//	if err != nil {
//		log.Fatal(err)
//	}
//	lambda.Start(f.Handle)
//
// Handle deaggregates every record of the event, decodes each user record as its
// otelkinesis tags say (or as WithFormat says for records without tags, such as the
// Collector's Kinesis exporter writes), merges the requests of each signal and POSTs
// them as OTLP protobuf to /v1/traces, /v1/metrics and /v1/logs, retrying 429, 502, 503,
// 504 and network errors with backoff until shortly before the invocation's deadline.
//
// Records whose telemetry was not delivered come back as batch item failures
// (events.KinesisEventResponse), so Lambda retries from the first of them instead of the
// whole batch. For that the event source mapping must have FunctionResponseTypes set to
// ReportBatchItemFailures; give it an on-failure destination and a MaximumRetryAttempts
// so that a record that can never be delivered does not hold its shard back for the whole
// retention period. Delivery is at least once: a retry sends again what followed the
// failed record.
//
// examples/lambda-forwarder builds this handler into a Lambda function.
package lambdaforward
