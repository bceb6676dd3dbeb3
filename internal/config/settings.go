package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// A setting is one setting of the Config that an option or an environment variable sets.
type setting struct {
	// name is the setting's name in errors and in the README's settings table.
	name string
	// option is the option that sets it, as errors about its variable name it.
	option string
	// env is its variable's name after EnvPrefix (and the signal, in the signal-specific
	// form); "" if it has none.
	env string
	// signal, if set, is the only exporter that reads the variable, and env already
	// names the signal (METRICS_TEMPORALITY_PREFERENCE): it has no other form.
	signal Signal
	kind   kind
	// parse reads the variable's value into the Config; its error says what is wrong.
	parse func(c *Config, v string) error
	// values, if set, says what the variable allows when parse refuses its value; a
	// numeric setting's range comes from the producer's.
	values string
}

// allowed says what the setting allows, for a value of its variable that does not
// parse: the range of a numeric setting, values for others.
func (s *setting) allowed() string {
	if s.values != "" {
		return s.values
	}
	return kpl.Allowed(s.name)
}

// settings lists every setting an option or a variable sets.
var settings = []setting{
	{name: "stream_name", option: "WithStreamName", env: "STREAM_NAME", kind: streamKind,
		parse: text(func(c *Config, v string) { c.Producer.StreamName = v })},
	{name: "stream_arn", option: "WithStreamARN", env: "STREAM_ARN", kind: streamKind,
		parse: text(func(c *Config, v string) { c.Producer.StreamARN = v })},
	{name: "endpoint", option: "WithEndpointURL", env: "ENDPOINT", kind: awsKind,
		parse: text(func(c *Config, v string) { c.Endpoint = v })},
	{name: "region", option: "WithRegion", env: "REGION", kind: awsKind,
		parse: text(func(c *Config, v string) { c.Region = v })},
	{name: "role_arn", option: "WithRole", env: "ROLE_ARN", kind: awsKind,
		parse: text(func(c *Config, v string) { c.RoleARN = v })},
	{name: "external_id", option: "WithRole", env: "EXTERNAL_ID", kind: awsKind,
		parse: text(func(c *Config, v string) { c.ExternalID = v })},
	{name: "aws_config", option: "WithAWSConfig", kind: awsKind},
	{name: "kinesis_client", option: "WithKinesisClient", kind: clientKind},
	{name: "encoding", option: "WithEncoding", env: "ENCODING", kind: exporterKind,
		parse: word(func(c *Config, v string) { c.Encoding = Encoding(v) })},
	{name: "compression", option: "WithCompression", env: "COMPRESSION", kind: exporterKind,
		parse: word(func(c *Config, v string) { c.Compression = Compression(v) })},
	{name: "partition_by", option: "WithPartitionBy", env: "PARTITION_BY", kind: exporterKind,
		parse: word(func(c *Config, v string) { c.PartitionBy = PartitionBy(v) })},
	{name: "aggregate_batch_count", option: "WithAggregateBatchCount", env: "AGGREGATE_BATCH_COUNT", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.AggregateBatchCount = n })},
	{name: "aggregate_batch_size", option: "WithAggregateBatchSize", env: "AGGREGATE_BATCH_SIZE", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.AggregateBatchSize = int(n) })},
	{name: "batch_size", option: "WithBatchSize", env: "BATCH_SIZE", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.BatchSize = int(n) })},
	{name: "batch_count", option: "WithBatchCount", env: "BATCH_COUNT", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.BatchCount = int(n) })},
	{name: "backlog_count", option: "WithBacklogCount", env: "BACKLOG_COUNT", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.BacklogCount = int(n) })},
	{name: "backlog_bytes", option: "WithBacklogBytes", kind: producerKind},
	{name: "flush_interval", option: "WithFlushInterval", env: "FLUSH_INTERVAL", kind: producerKind,
		parse: duration(func(c *Config, d time.Duration) { c.Producer.FlushInterval = d })},
	{name: "max_connections", option: "WithMaxConnections", env: "MAX_CONNECTIONS", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.MaxConnections = int(n) })},
	{name: "max_retries", option: "WithMaxRetries", env: "MAX_RETRIES", kind: producerKind,
		parse: whole(func(c *Config, n int64) { c.Producer.MaxRetries = int(n) })},
	{name: "max_backoff", option: "WithMaxBackoff", env: "MAX_BACKOFF", kind: producerKind,
		parse: duration(func(c *Config, d time.Duration) { c.Producer.MaxBackoff = d })},
	{name: "record_ttl", option: "WithRecordTTL", env: "RECORD_TTL", kind: producerKind,
		parse: duration(func(c *Config, d time.Duration) { c.Producer.RecordTTL = d })},
	{name: "request_timeout", option: "WithRequestTimeout", env: "TIMEOUT", kind: producerKind,
		parse: duration(func(c *Config, d time.Duration) { c.Producer.RequestTimeout = d })},
	{name: "rate_limit", option: "WithRateLimit", kind: producerKind},
	{name: "aggregation", option: "WithAggregation", kind: producerKind},
	{name: "startup_check", option: "WithoutStartupCheck", kind: producerKind},
	{name: "span_partition_key", option: "WithPartitionKey", kind: exporterKind},
	{name: "log_partition_key", option: "WithPartitionKey", kind: exporterKind},
	{name: "temporality", option: "WithTemporalitySelector", env: "METRICS_TEMPORALITY_PREFERENCE", signal: Metrics,
		kind: exporterKind, parse: temporality, values: "cumulative, delta or lowmemory"},
	{name: "aggregation_selector", option: "WithAggregationSelector", kind: exporterKind},
	{name: "producer", option: "WithProducer", kind: sharedKind},
	{name: "meter_provider", option: "WithMeterProvider", kind: metersKind},
}

// byName finds a setting of settings by name.
var byName = func() map[string]*setting {
	m := make(map[string]*setting, len(settings))
	for i := range settings {
		m[settings[i].name] = &settings[i]
	}
	return m
}()

// temporality reads a temporality preference as the OTLP metric exporters read
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, regardless of case: cumulative for
// every instrument kind; delta for counters, histograms and observable counters
// (cumulative for up-down counters, observable up-down counters and gauges); lowmemory,
// delta for counters and histograms only (cumulative for the others, observable
// counters included). Unlike them, it refuses any other value rather than ignore it.
func temporality(c *Config, v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "cumulative":
		c.Temporality = sdkmetric.CumulativeTemporalitySelector
	case "delta":
		c.Temporality = sdkmetric.DeltaTemporalitySelector
	case "lowmemory":
		c.Temporality = sdkmetric.LowMemoryTemporalitySelector
	default:
		return errors.New("not a temporality preference")
	}
	return nil
}

// text reads a setting of free text, as it is written.
func text(set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		set(c, v)
		return nil
	}
}

// word reads a setting of names (an encoding, a compression), matched without regard to
// case and spaces around them; Load checks the name.
func word(set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		set(c, strings.ToLower(strings.TrimSpace(v)))
		return nil
	}
}

// whole reads a setting of a whole number; Load checks its range.
func whole(set func(*Config, int64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		set(c, n)
		return nil
	}
}

// duration reads a setting of a duration: a whole number of milliseconds, as the
// OpenTelemetry environment variables give durations, or a Go duration ("5s", "250ms").
// Load checks its range.
func duration(set func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		ms, err := strconv.ParseInt(v, 10, 64)
		if err == nil && (ms > math.MaxInt64/int64(time.Millisecond) || ms < math.MinInt64/int64(time.Millisecond)) ||
			errors.Is(err, strconv.ErrRange) {
			// Multiplied into a time.Duration it would wrap around, maybe into the range.
			return errors.New("too many milliseconds for a duration")
		}
		if err == nil {
			set(c, time.Duration(ms)*time.Millisecond)
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration (a whole number of milliseconds, or a Go duration such as 5s)")
		}
		set(c, d)
		return nil
	}
}

// Variables returns the name of every environment variable an exporter of signal reads
// (a shared producer's for signal ""), each setting's signal-specific form first.
func Variables(signal Signal) []string {
	var names []string
	for _, s := range settings {
		switch {
		case s.env == "" || signal == "" && s.kind == exporterKind || s.signal != "" && s.signal != signal:
		case s.signal != "" || signal == "":
			names = append(names, EnvPrefix+s.env)
		default:
			names = append(names, EnvName(signal, s.env), EnvPrefix+s.env)
		}
	}
	return names
}
