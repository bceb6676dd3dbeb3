package otelkinesis

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// Option is an option of every constructor: trace.New, metric.New, log.New, [NewProducer]
// and the one-call setup, sdk.New. These are the stream, AWS and producer settings and
// WithMeterProvider. Options given in code win over the environment
// (OTEL_EXPORTER_KINESIS_*), which wins over the defaults. The zero of an option's
// argument is not a default: pass only what you mean to change.
//
// Each constructor takes its own option type: trace.Option, metric.Option, log.Option,
// Option for NewProducer and sdk.Option for sdk.New. An Option is all five; an
// [ExporterOption] is an option of the three exporters and of sdk.New only; an option of package trace, metric or log is an option of
// that exporter only. An option given to a constructor it does not apply to does not
// compile.
type Option interface {
	ExporterOption
	config.ProducerOption
}

// ExporterOption is an option of the three exporters (trace.New, metric.New, log.New)
// that does not apply to a [Producer]: the encoding, compression and partitioning of the
// exporter's user records, and WithProducer. Options given in code win over the
// environment, which wins over the defaults. The one-call setup of package sdk (sdk.New)
// takes both kinds, Option and ExporterOption, but refuses WithProducer: it creates the
// producer itself.
type ExporterOption interface {
	config.TraceOption
	config.MetricOption
	config.LogOption
	config.SetupOption
}

// Encoding is the OTLP encoding of each user record.
type Encoding = config.Encoding

// Encodings.
const (
	// EncodingProto is OTLP protobuf, the default.
	EncodingProto = config.EncodingProto
	// EncodingJSON is the OTLP/JSON mapping.
	EncodingJSON = config.EncodingJSON
)

// Compression is applied to each user record's data (never to the aggregate).
type Compression = config.Compression

// Compressions.
const (
	// CompressionNone is the default.
	CompressionNone = config.CompressionNone
	// CompressionGzip is gzip at the default level.
	CompressionGzip = config.CompressionGzip
	// CompressionZstd is zstd at the default level.
	CompressionZstd = config.CompressionZstd
)

// PartitionBy chooses the partition key of each user record.
type PartitionBy = config.PartitionBy

// Partitioning schemes.
const (
	// PartitionByTraceID, the default: the 32-character lowercase hex trace ID, so each
	// trace sits whole on one shard (and a trace's logs with its spans).
	PartitionByTraceID = config.PartitionByTraceID
	// PartitionByResource: a hash of the resource's attributes, so one resource's
	// telemetry stays together and in order.
	PartitionByResource = config.PartitionByResource
	// PartitionByRandom: random keys, spreading records evenly over the shards.
	PartitionByRandom = config.PartitionByRandom
	// PartitionByShard, for traces: each trace stays whole on the shard its trace ID maps
	// to, as with PartitionByTraceID, but all the traces of one export call bound for the
	// same shard (per the producer's shard map: the MD5 of the trace-ID key falls in the
	// shard's hash key range) share one user record, split to the record size limit as
	// usual, and the record is keyed by the trace ID of one of them, so it lands on that
	// shard. Larger user records compress far better and fill PUT payload units better
	// than one trace each; uncompressed, they are cut at about one PUT payload unit, so
	// that two fill an aggregate of the default aggregate_batch_size. The trade-off: a
	// record's partition key names only one of its traces; a consumer that routes or
	// filters by partition key must read the data to find the others (each span carries
	// its trace ID). While the producer has no shard map (ListShards refused or failing)
	// it behaves exactly as PartitionByTraceID. After a reshard, until the producer reads
	// the new map (at once when a record lands on a shard it did not predict), a record
	// may hold a trace the new map puts on another shard, and those of its spans land on
	// the record's shard. Metrics and logs are partitioned as with PartitionByTraceID.
	PartitionByShard = config.PartitionByShard
)

// forAll makes o an option of every constructor.
func forAll(o config.Option) Option { return config.ForAll(&o) }

// forExporters makes o an option of the three exporters.
func forExporters(o config.Option) ExporterOption { return config.ForExporters(&o) }

// WithStreamName sets the stream by name. Environment: OTEL_EXPORTER_KINESIS_STREAM_NAME.
// One of the stream name and ARN is required. A stream given in code, by name or ARN,
// takes the place of both variables; given both ways in code, they must name one stream.
func WithStreamName(name string) Option {
	return forAll(config.Option{Name: "WithStreamName", Args: []any{name}, Settings: []string{"stream_name"},
		Set: func(c *config.Config) { c.Producer.StreamName = name }})
}

// WithStreamARN sets the stream by ARN, arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME
// (its region is used when no region is set). Environment:
// OTEL_EXPORTER_KINESIS_STREAM_ARN. Like WithStreamName, it takes the place of both
// stream variables.
func WithStreamARN(arn string) Option {
	return forAll(config.Option{Name: "WithStreamARN", Args: []any{arn}, Settings: []string{"stream_arn"},
		Set: func(c *config.Config) { c.Producer.StreamARN = arn }})
}

// WithEndpointURL points the Kinesis client at url, an http:// or https:// URL with a
// host (a local emulator, a VPC endpoint), as the OTLP exporters' WithEndpointURL takes
// one. Environment: OTEL_EXPORTER_KINESIS_ENDPOINT (a URL too, as
// OTEL_EXPORTER_OTLP_ENDPOINT is). Default: the region's AWS endpoint.
func WithEndpointURL(url string) Option { return endpoint("WithEndpointURL", url) }

// WithEndpoint is WithEndpointURL under its former name.
//
// Deprecated: use [WithEndpointURL]. Unlike the OTLP exporters' WithEndpoint, which takes
// host:port, this takes a URL, as WithEndpointURL does.
func WithEndpoint(url string) Option { return endpoint("WithEndpoint", url) }

func endpoint(name, url string) Option {
	return forAll(config.Option{Name: name, Args: []any{url}, Settings: []string{"endpoint"},
		Set: func(c *config.Config) { c.Endpoint = url }})
}

// WithRegion sets the AWS region, a region name such as us-east-1 (lower-case letters,
// digits and hyphens). Environment: OTEL_EXPORTER_KINESIS_REGION, then AWS_REGION. Default:
// the AWS shared configuration's region, then the stream ARN's.
func WithRegion(region string) Option {
	return forAll(config.Option{Name: "WithRegion", Args: []any{region}, Settings: []string{"region"},
		Set: func(c *config.Config) { c.Region = region }})
}

// WithRole assumes roleARN, arn:PARTITION:iam::ACCOUNT:role/NAME, through STS for the
// Kinesis calls, with externalID if it is not empty (errors never show it). Environment:
// OTEL_EXPORTER_KINESIS_ROLE_ARN and _EXTERNAL_ID; the option takes the place of both.
// Default: no role.
func WithRole(roleARN, externalID string) Option {
	return forAll(config.Option{Name: "WithRole", Args: []any{roleARN, config.Secret(externalID)},
		Settings: []string{"role_arn", "external_id"},
		Set:      func(c *config.Config) { c.RoleARN, c.ExternalID = roleARN, externalID }})
}

// WithAWSConfig uses the caller's AWS configuration (region, credentials, HTTP client)
// instead of the default chain. Its retryer is replaced: the producer owns retries.
func WithAWSConfig(cfg aws.Config) Option {
	return forAll(config.Option{Name: "WithAWSConfig", Settings: []string{"aws_config"},
		Set: func(c *config.Config) { c.AWSConfig = &cfg }})
}

// WithKinesisClient uses the caller's Kinesis client. Build it with the SDK's retries off
// (RetryMaxAttempts 1): the producer owns retries. The client is used as it is, so the
// endpoint, region, role and AWS configuration settings do not apply to it: New refuses
// WithKinesisClient together with WithEndpointURL, WithRegion, WithRole or WithAWSConfig,
// and does not read their variables. *kinesis.Client implements KinesisAPI; the
// producer's PutRecords calls on it write their bodies with the exporters' own serializer
// (a call option), into buffers the producer's byte budget counts.
func WithKinesisClient(client KinesisAPI) Option {
	return forAll(config.Option{Name: "WithKinesisClient", Settings: []string{"kinesis_client"},
		Set: func(c *config.Config) { c.Client = client }})
}

// KinesisAPI is the part of the Kinesis API the producer calls (PutRecords, ListShards,
// DescribeStreamSummary); *kinesis.Client implements it.
type KinesisAPI = kpl.Client

// WithEncoding sets the OTLP encoding of the exporter's user records: otlp_proto or
// otlp_json. Environment: OTEL_EXPORTER_KINESIS_ENCODING. Default otlp_proto.
func WithEncoding(e Encoding) ExporterOption {
	return forExporters(config.Option{Name: "WithEncoding", Args: []any{string(e)}, Settings: []string{"encoding"},
		Set: func(c *config.Config) { c.Encoding = e }})
}

// WithCompression sets the compression of each of the exporter's user records: none,
// gzip or zstd. Environment: OTEL_EXPORTER_KINESIS_COMPRESSION. Default none.
func WithCompression(comp Compression) ExporterOption {
	return forExporters(config.Option{Name: "WithCompression", Args: []any{string(comp)}, Settings: []string{"compression"},
		Set: func(c *config.Config) { c.Compression = comp }})
}

// WithPartitionBy sets the exporter's partitioning scheme: trace_id, resource, random or
// shard (see the constants). Environment: OTEL_EXPORTER_KINESIS_PARTITION_BY (and the
// _TRACES_, _METRICS_, _LOGS_ forms). Default trace_id.
func WithPartitionBy(p PartitionBy) ExporterOption {
	return forExporters(config.Option{Name: "WithPartitionBy", Args: []any{string(p)}, Settings: []string{"partition_by"},
		Set: func(c *config.Config) { c.PartitionBy = p }})
}

// WithAggregateBatchCount sets the most user records in one aggregated Kinesis record.
// Environment: OTEL_EXPORTER_KINESIS_AGGREGATE_BATCH_COUNT. Default 4294967295, range 1 to
// 4294967295.
func WithAggregateBatchCount(n int64) Option {
	return forAll(config.Option{Name: "WithAggregateBatchCount", Args: []any{n}, Settings: []string{"aggregate_batch_count"},
		Set: func(c *config.Config) { c.Producer.AggregateBatchCount = n }})
}

// WithAggregateBatchSize sets the largest aggregated Kinesis record in bytes (the stream's
// record limit caps it). Environment: OTEL_EXPORTER_KINESIS_AGGREGATE_BATCH_SIZE. Default
// 51200, range 1 to 10485760.
//
// On a provisioned stream every record pays whole PUT payload units of 25 KiB, and user
// records are never split across aggregates, so an aggregate leaves part of its last unit
// unused: with the default, about 3 % for protobuf traces of 7 KB and 31 % for JSON traces
// of 17.6 KB. A larger multiple of 25,600 bytes, such as 256000, leaves less: above two
// units, an aggregate is closed once it pays for at least half the limit and uses 99 % of
// its units (under 1 % unused for both in BENCHMARKS.md), at the price of more memory per
// shard and records that fill more slowly (flush_interval still bounds how long they
// wait).
func WithAggregateBatchSize(n int) Option {
	return forAll(config.Option{Name: "WithAggregateBatchSize", Args: []any{n}, Settings: []string{"aggregate_batch_size"},
		Set: func(c *config.Config) { c.Producer.AggregateBatchSize = n }})
}

// WithBatchSize sets the most bytes (data plus partition keys) in one PutRecords request.
// Environment: OTEL_EXPORTER_KINESIS_BATCH_SIZE. Default 5242880, range 1 to 10485760.
func WithBatchSize(n int) Option {
	return forAll(config.Option{Name: "WithBatchSize", Args: []any{n}, Settings: []string{"batch_size"},
		Set: func(c *config.Config) { c.Producer.BatchSize = n }})
}

// WithBatchCount sets the most Kinesis records in one PutRecords request. Environment:
// OTEL_EXPORTER_KINESIS_BATCH_COUNT. Default 500, range 1 to 500.
func WithBatchCount(n int) Option {
	return forAll(config.Option{Name: "WithBatchCount", Args: []any{n}, Settings: []string{"batch_count"},
		Set: func(c *config.Config) { c.Producer.BatchCount = n }})
}

// WithBacklogCount sets the most user records held at once; puts wait while it is full.
// Environment: OTEL_EXPORTER_KINESIS_BACKLOG_COUNT. Default 2000, range 1 to 2147483647.
func WithBacklogCount(n int) Option {
	return forAll(config.Option{Name: "WithBacklogCount", Args: []any{n}, Settings: []string{"backlog_count"},
		Set: func(c *config.Config) { c.Producer.BacklogCount = n }})
}

// WithBacklogBytes bounds the memory the producer holds for telemetry not yet delivered:
// the aggregated records and the request bodies they go out in (base64 JSON, 4/3 of their
// size, reserved from the start so a request never waits for memory), and buffers kept
// for reuse. About 3/7 of it is telemetry; exports wait while it is full. Default 67108864
// (64 MiB), range 1024 to 1099511627776. No environment variable.
func WithBacklogBytes(n int64) Option {
	return forAll(config.Option{Name: "WithBacklogBytes", Args: []any{n}, Settings: []string{"backlog_bytes"},
		Set: func(c *config.Config) { c.Producer.BacklogBytes = n }})
}

// WithFlushInterval sets how often buffered records are sent even when no batch is full.
// Environment: OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL (milliseconds, or a Go duration).
// Default 5s, range 1ms to 1h.
func WithFlushInterval(d time.Duration) Option {
	return forAll(config.Option{Name: "WithFlushInterval", Args: []any{d}, Settings: []string{"flush_interval"},
		Set: func(c *config.Config) { c.Producer.FlushInterval = d }})
}

// WithMaxConnections sets the most PutRecords requests in flight. Environment:
// OTEL_EXPORTER_KINESIS_MAX_CONNECTIONS. Default 24, range 1 to 1024.
func WithMaxConnections(n int) Option {
	return forAll(config.Option{Name: "WithMaxConnections", Args: []any{n}, Settings: []string{"max_connections"},
		Set: func(c *config.Config) { c.Producer.MaxConnections = n }})
}

// WithMaxRetries caps how many times a Kinesis record is sent again after Kinesis answered
// an attempt with a retryable error (5xx, throttling, a refused entry); attempts that never
// reached Kinesis (no credentials, DNS, a refused connection, no answer) are bounded only by
// the delivery budget (WithRecordTTL). Environment: OTEL_EXPORTER_KINESIS_MAX_RETRIES.
// Default 10, range 0 to 100.
func WithMaxRetries(n int) Option {
	return forAll(config.Option{Name: "WithMaxRetries", Args: []any{n}, Settings: []string{"max_retries"},
		Set: func(c *config.Config) { c.Producer.MaxRetries = n }})
}

// WithMaxBackoff caps the wait between attempts: before retry n a record waits a random
// time between c/2 and c, c = min(max_backoff, 100ms * 3^(n-1)).
// Environment: OTEL_EXPORTER_KINESIS_MAX_BACKOFF (milliseconds, or a Go duration). Default
// 60s, range 1ms to 1h.
func WithMaxBackoff(d time.Duration) Option {
	return forAll(config.Option{Name: "WithMaxBackoff", Args: []any{d}, Settings: []string{"max_backoff"},
		Set: func(c *config.Config) { c.Producer.MaxBackoff = d }})
}

// WithoutStartupCheck lets New succeed while the stream cannot be reached yet, for services
// that must boot while Kinesis is down or before their credentials are available. By
// default New describes the stream once and fails with an error naming the endpoint, the
// region, the stream and the cause (connection refused, no credentials, stream not found).
// With this option that failure is reported once through otel.Handle instead, telemetry is
// held (within the byte budget and the delivery budget, WithRecordTTL) and delivery begins
// when the stream answers. No environment variable.
func WithoutStartupCheck() Option {
	return forAll(config.Option{Name: "WithoutStartupCheck", Settings: []string{"startup_check"},
		Set: func(c *config.Config) { c.Producer.SkipStartupCheck = true }})
}

// WithRecordTTL sets the delivery budget: how long telemetry may stay in the producer,
// from the export call that handed it over until it is delivered, before it is given up
// (counted as a failed export with the error.type "expired"). Failed sends are
// retried while the budget lasts, so an outage shorter than it loses nothing that fits the
// byte budget; max_retries caps the attempts on top of it. Environment:
// OTEL_EXPORTER_KINESIS_RECORD_TTL (milliseconds, or a Go duration). Default 5m, range
// 100ms to 24h.
func WithRecordTTL(d time.Duration) Option {
	return forAll(config.Option{Name: "WithRecordTTL", Args: []any{d}, Settings: []string{"record_ttl"},
		Set: func(c *config.Config) { c.Producer.RecordTTL = d }})
}

// WithRequestTimeout bounds each PutRecords, ListShards and DescribeStreamSummary call; a
// request that times out is retried (its records may then be stored twice, and are counted
// as possible duplicates). It is the per-request timeout the OTLP exporters' WithTimeout
// and OTEL_EXPORTER_OTLP_TIMEOUT set. Environment: OTEL_EXPORTER_KINESIS_TIMEOUT
// (milliseconds, or a Go duration). Default 30s, range 1ms to 1h.
func WithRequestTimeout(d time.Duration) Option {
	return forAll(config.Option{Name: "WithRequestTimeout", Args: []any{d}, Settings: []string{"request_timeout"},
		Set: func(c *config.Config) { c.Producer.RequestTimeout = d }})
}

// WithRateLimit sets the per-shard rate limit in percent of a shard's write capacity
// (1000 records/s and 1 MiB/s). Default 100, range 1 to 1000. No environment variable.
func WithRateLimit(percent int) Option {
	return forAll(config.Option{Name: "WithRateLimit", Args: []any{percent}, Settings: []string{"rate_limit"},
		Set: func(c *config.Config) { c.Producer.RateLimit = percent }})
}

// WithAggregation turns KPL aggregation on (the default) or off. Off, each user record is
// one plain Kinesis record with no tags, for consumers that cannot deaggregate; the stream
// then carries one signal, encoding and compression, since nothing on a record says which.
// No environment variable.
func WithAggregation(on bool) Option {
	return forAll(config.Option{Name: "WithAggregation", Args: []any{on}, Settings: []string{"aggregation"},
		Set: func(c *config.Config) { c.Producer.DisableAggregation = !on }})
}

// WithMeterProvider turns the exporter's and its producer's (or a shared producer's) own
// metrics on and sends them to mp. Default: none, unless OTEL_GO_X_OBSERVABILITY is "true"
// when the exporter or producer is created, as for the Go SDK's own exporters; then the
// global MeterProvider. A no-op provider (metric/noop) keeps them off under that variable.
// README.md lists the metrics.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return forAll(config.Option{Name: "WithMeterProvider", Settings: []string{"meter_provider"},
		Set: func(c *config.Config) { c.Producer.MeterProvider = mp }})
}

// WithProducer shares p with this exporter: the stream, AWS and producer settings are p's,
// and the exporter flushes p on Shutdown but leaves it running; whoever created p shuts it
// down. The exporter's own settings (encoding, compression, partitioning, its meter
// provider, the options of its package) still apply.
//
// New refuses WithProducer together with an option p has its own setting for: a stream
// (WithStreamName, WithStreamARN), AWS (WithEndpointURL, WithRegion, WithRole,
// WithAWSConfig, WithKinesisClient) or producer option (batch sizes and counts, backlog,
// flush interval, connections, retries, backoff, delivery budget, request timeout, rate
// limit, aggregation, WithoutStartupCheck); give those to NewProducer. The variables of
// those settings are not read. New also refuses a nil p and a p already shut down.
func WithProducer(p *Producer) ExporterOption {
	return forExporters(config.Option{Name: "WithProducer", Settings: []string{"producer"},
		Check: func() error {
			switch {
			case p == nil:
				return errors.New("no producer (nil)")
			case p.shutdown.Load():
				return errors.New("the producer is shut down")
			}
			return nil
		},
		Set: func(c *config.Config) {
			if p != nil {
				c.SharedProducer = p.p
			}
		}})
}
