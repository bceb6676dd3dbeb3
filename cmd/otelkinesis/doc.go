// Command otelkinesis reads the OpenTelemetry telemetry that otelkinesis (or the
// Collector's Kinesis exporter) wrote to an Amazon Kinesis data stream.
//
//	otelkinesis tail    [flags] STREAM   print telemetry as it arrives, readable or as OTLP/JSON
//	otelkinesis forward [flags] STREAM   send it to an OTLP/HTTP endpoint, with checkpoints
//	otelkinesis stats   [flags] STREAM   records, aggregation, bytes and cost per shard and signal
//
// Every command reads all shards of the stream concurrently, the children of a reshard
// after their parents, from --from (trim_horizon, latest, a time, or a duration back
// from now). Aggregated records are deaggregated, and each user record's tags say its
// signal, content type and compression; records without tags (the Collector's Kinesis
// exporter writes one OTLP request per plain record) are read with --signal, --encoding
// and --compression. Every Kinesis call has a deadline (--call-timeout).
//
// The AWS region and credentials come from the AWS default chain; --endpoint points at a
// local Kinesis such as kinesalite. Run "otelkinesis help COMMAND" for a command's flags.
//
// Exit status: 0 done (or interrupted), 1 failure, 2 bad command line, 3 finished but
// some records could not be read (each one is named on stderr).
package main
