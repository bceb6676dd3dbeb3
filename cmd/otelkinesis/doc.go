// Command otelkinesis reads the OpenTelemetry telemetry that otelkinesis (or the
// Collector's Kinesis exporter) wrote to an Amazon Kinesis data stream.
//
//	otelkinesis tail    [flags] STREAM   print telemetry as it arrives, readable or as OTLP/JSON
//	otelkinesis forward [flags] STREAM   send it to an OTLP/HTTP endpoint, with checkpoints
//	otelkinesis stats   [flags] STREAM   records, aggregation, bytes and cost per shard and signal
//	otelkinesis version                  the module version it was built from (also --version)
//
// Every command reads all shards of the stream concurrently, the children of a reshard
// after their parents, from --from (trim_horizon, latest, a time, or a duration back
// from now). Aggregated records are deaggregated, and each user record's tags say its
// signal, content type and compression; records without tags (the Collector's Kinesis
// exporter writes one OTLP request per plain record) are read with --signal, --encoding
// and --compression. Every Kinesis call has a deadline (--call-timeout) and is retried a
// few times on timeouts, throttling and server errors. A Kinesis endpoint that cannot be
// connected to (connection refused, no such host, no connection within 5 seconds) is
// tried three times, within a second or so, then reported with the endpoint and the
// network's reason ("cannot connect to Kinesis at http://127.0.0.1:4567: dial tcp
// 127.0.0.1:4567: connect: connection refused").
//
// The AWS region and credentials come from the AWS default chain, or --region; a region,
// from the flag, the environment or a stream ARN, must be an AWS region name (lower-case
// letters, digits and hyphens, starting with a letter: us-east-1, eu-central-1,
// us-gov-west-1, cn-north-1), else the command stops naming where it came from and the
// form allowed. --endpoint points at a local Kinesis such as kinesalite. Run
// "otelkinesis help COMMAND" for a command's flags.
//
// forward sends the signals of --signals (default traces,metrics,logs) to an OTLP/HTTP
// receiver. A receiver that does not take a signal at all (404, 405 or 415 on its path,
// as Jaeger answers /v1/metrics) is sent no more of it: one line on stderr names the
// signal, the URL and the status, the other signals go on, and the exit status is 3.
// Retry lines name the shard whose request is retried.
//
// "otelkinesis version" (or --version) prints the main module's version as the Go
// toolchain recorded it in the binary (v1.4.0 after go install ...@v1.4.0), or
// "(devel)" when it recorded none.
//
// Exit status: 0 done (or interrupted), 1 failure, 2 bad command line, 3 finished but
// some records could not be read, or (forward) were of a signal the receiver refuses
// (each one is named on stderr).
package main
