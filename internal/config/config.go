// Package config resolves the settings the trace, metric and log exporters share: options
// given in code first, then the environment (a signal-specific variable before the shared
// one), then the defaults. It also builds the Kinesis client those settings describe.
//
// Environment variables (DESIGN §8), each also in a signal-specific form that wins over it,
// OTEL_EXPORTER_KINESIS_TRACES_<NAME>, ..._METRICS_<NAME>, ..._LOGS_<NAME>:
//
//	OTEL_EXPORTER_KINESIS_STREAM_NAME, _STREAM_ARN, _ENDPOINT, _REGION, _ROLE_ARN,
//	_EXTERNAL_ID, _ENCODING, _COMPRESSION, _PARTITION_BY,
//	_AGGREGATE_BATCH_COUNT, _AGGREGATE_BATCH_SIZE, _BATCH_SIZE, _BATCH_COUNT,
//	_BACKLOG_COUNT, _FLUSH_INTERVAL, _MAX_CONNECTIONS, _MAX_RETRIES, _MAX_BACKOFF,
//	_RECORD_TTL
//
// The region falls back to AWS_REGION (through the AWS SDK's default chain), then to the
// region in the stream ARN; credentials come from the AWS default chain.
package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
	"github.com/otelkinesis/otelkinesis/internal/recordtag"
)

// Signal names the telemetry signal an exporter ships, spelled as the otel.signal tag
// spells it (package recordtag, the spelling consumer.Signal uses too); EnvName writes it
// in capitals.
type Signal = string

// The signals.
const (
	Traces  = recordtag.SignalTraces
	Metrics = recordtag.SignalMetrics
	Logs    = recordtag.SignalLogs
)

// Encoding is the OTLP encoding of each user record's data: the encoders' own setting.
type Encoding = otlpwire.Encoding

// Encodings.
const (
	// EncodingProto is OTLP protobuf, the default.
	EncodingProto = otlpwire.Protobuf
	// EncodingJSON is the OTLP/JSON mapping.
	EncodingJSON = otlpwire.JSON
)

// Compression is applied to each user record's data, never to the aggregate.
type Compression string

// Compressions.
const (
	// CompressionNone is the default.
	CompressionNone Compression = "none"
	CompressionGzip Compression = "gzip"
	CompressionZstd Compression = "zstd"
)

// PartitionBy chooses each user record's partition key.
type PartitionBy string

// Partitioning schemes.
const (
	// PartitionByTraceID, the default, keys a record by the 32-character lowercase hex
	// trace ID of the spans (or logs) it holds, so each trace sits whole on one shard.
	// Records without a trace ID fall back to the resource.
	PartitionByTraceID PartitionBy = "trace_id"
	// PartitionByResource keys a record by a hash of its resource's attributes.
	PartitionByResource PartitionBy = "resource"
	// PartitionByRandom keys each record randomly, spreading load evenly over shards.
	PartitionByRandom PartitionBy = "random"
	// PartitionByShard keeps each trace whole on the shard its trace ID maps to, as
	// PartitionByTraceID does, but puts all the traces of one export call bound for the same
	// shard (per the producer's shard map) in one user record, keyed by one of them. Only
	// the trace exporter groups so; without a shard map it behaves as PartitionByTraceID,
	// and the metric and log exporters partition as with PartitionByTraceID.
	PartitionByShard PartitionBy = "shard"
)

// EnvPrefix starts every environment variable the exporters read.
const EnvPrefix = "OTEL_EXPORTER_KINESIS_"

// Config is the resolved configuration of one exporter.
type Config struct {
	// Signal is the exporter's signal; it picks the signal-specific environment variables.
	Signal Signal

	// Endpoint overrides the Kinesis endpoint URL (a local emulator, a VPC endpoint).
	// Default: the AWS endpoint of the region.
	Endpoint string
	// Region is the AWS region, a region name such as us-east-1. Default: AWS_REGION or the
	// shared config's region, then the region of StreamARN.
	Region string
	// RoleARN, if set, is assumed through STS for the Kinesis calls; an IAM role ARN,
	// arn:PARTITION:iam::ACCOUNT:role/NAME.
	RoleARN string
	// ExternalID goes with RoleARN when the role's trust policy asks for one.
	ExternalID string

	// Encoding of each user record's data. Default otlp_proto.
	Encoding Encoding
	// Compression of each user record's data. Default none.
	Compression Compression
	// PartitionBy chooses partition keys. Default trace_id.
	PartitionBy PartitionBy

	// Producer holds the stream and the producer settings (DESIGN §6).
	Producer kpl.Config

	// AWSConfig, if set, is the caller's own AWS configuration: its region, credentials
	// and HTTP client are used as they are (the retryer is replaced: the producer owns
	// retries). Region, RoleARN and Endpoint still apply on top of it.
	AWSConfig *aws.Config
	// Client, if set, is the Kinesis client to use instead of one built from the AWS
	// settings. Build it with the SDK's retries off: the producer owns retries.
	Client kpl.Client
	// SharedProducer, if set, is a producer shared with the other exporters of the stream:
	// the stream, AWS and producer settings are then the producer's, and those of this
	// Config are not used. The exporter flushes it on Shutdown and leaves it running.
	SharedProducer *kpl.Producer

	// SpanPartitionKey, if set, gives each span's partition key (the trace exporter's
	// caller-function partitioning); it overrides PartitionBy for spans.
	SpanPartitionKey func(sdktrace.ReadOnlySpan) string
	// LogPartitionKey, if set, gives each log record's partition key (the log exporter's
	// caller-function partitioning); it overrides PartitionBy for logs.
	LogPartitionKey func(*sdklog.Record) string
	// Temporality selects the metric exporter's temporality per instrument kind. Default
	// (nil): cumulative for every kind, the SDK's default.
	Temporality sdkmetric.TemporalitySelector
	// Aggregation selects the metric exporter's aggregation per instrument kind. Default
	// (nil): the SDK's default aggregation.
	Aggregation sdkmetric.AggregationSelector
}

// Option changes a Config. Options are applied after the environment, so they win.
type Option interface {
	Apply(*Config)
}

// OptionFunc adapts a function to an Option.
type OptionFunc func(*Config)

// Apply calls f.
func (f OptionFunc) Apply(c *Config) { f(c) }

// Setting returns an Option that changes, through set, the settings read from the
// environment variables named names (their part after the prefix, such as "BATCH_COUNT").
// Such an option takes the place of those variables: Load then ignores a value of theirs
// that does not parse, as it ignores one that does. Every option for a setting the
// environment also gives must be made with Setting, naming each setting it changes. The
// stream is one setting in two forms: an option naming STREAM_NAME or STREAM_ARN takes the
// place of both variables.
func Setting(set func(*Config), names ...string) Option {
	return settingOption{set: set, names: names}
}

// settingOption is the Option Setting returns.
type settingOption struct {
	set   func(*Config)
	names []string
}

// Apply calls o's function.
func (o settingOption) Apply(c *Config) { o.set(c) }

// setsStream reports whether o is a [Setting] of the stream, by name or by ARN.
func setsStream(o Option) bool {
	so, ok := o.(settingOption)
	return ok && (slices.Contains(so.names, "STREAM_NAME") || slices.Contains(so.names, "STREAM_ARN"))
}

// Default returns the defaults for signal.
func Default(signal Signal) Config {
	return Config{
		Signal:      signal,
		Encoding:    EncodingProto,
		Compression: CompressionNone,
		PartitionBy: PartitionByTraceID,
		Producer:    kpl.DefaultConfig(),
	}
}

// Load resolves the configuration of an exporter of signal: defaults, then the
// environment, then opts; then validates it. Every error names the setting (and the
// environment variable it came from), its value and what is allowed. A variable's value
// that does not parse is an error only if no option made with [Setting] sets it.
func Load(signal Signal, opts ...Option) (Config, error) {
	c := Default(signal)
	envErrs := c.applyEnv(os.LookupEnv)
	// The stream is one setting given two ways: an option for either form replaces both
	// variables, so a stream named in code never meets another from the environment.
	if slices.ContainsFunc(opts, setsStream) {
		c.Producer.StreamName, c.Producer.StreamARN = "", ""
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.Apply(&c)
		// An option wins over the environment, even over a value that does not parse.
		if so, ok := o.(settingOption); ok {
			envErrs = slices.DeleteFunc(envErrs, func(e envError) bool { return slices.Contains(so.names, e.name) })
		}
	}
	// The first backoff step is not a setting of its own here: a max_backoff below its
	// default lowers it too, rather than refusing the max_backoff.
	if c.Producer.MaxBackoff > 0 && c.Producer.MinBackoff > c.Producer.MaxBackoff {
		c.Producer.MinBackoff = c.Producer.MaxBackoff
	}
	errs := make([]error, 0, len(envErrs)+1)
	refused := map[string]bool{} // settings whose variable was refused already
	for _, e := range envErrs {
		errs = append(errs, e.err)
		refused[strings.ToLower(e.name)] = true
	}
	if err := errors.Join(append(errs, c.validate(refused))...); err != nil {
		return c, err
	}
	return c, nil
}

// envSetting describes one setting read from the environment.
type envSetting struct {
	name  string // upper-case suffix after the prefix, e.g. STREAM_NAME
	parse func(c *Config, v string) error
}

var envSettings = []envSetting{
	{"STREAM_NAME", func(c *Config, v string) error { c.Producer.StreamName = v; return nil }},
	{"STREAM_ARN", func(c *Config, v string) error { c.Producer.StreamARN = v; return nil }},
	{"ENDPOINT", checked(checkEndpoint, func(c *Config, v string) { c.Endpoint = v })},
	{"REGION", checked(checkRegion, func(c *Config, v string) { c.Region = v })},
	{"ROLE_ARN", checked(checkRoleARN, func(c *Config, v string) { c.RoleARN = v })},
	{"EXTERNAL_ID", func(c *Config, v string) error { c.ExternalID = v; return nil }},
	{"ENCODING", lowerChecked(checkEncoding, func(c *Config, v Encoding) { c.Encoding = v })},
	{"COMPRESSION", lowerChecked(Compression.check, func(c *Config, v Compression) { c.Compression = v })},
	{"PARTITION_BY", lowerChecked(PartitionBy.check, func(c *Config, v PartitionBy) { c.PartitionBy = v })},
	{"AGGREGATE_BATCH_COUNT", intSetting(func(c *Config, n int64) { c.Producer.AggregateBatchCount = n })},
	{"AGGREGATE_BATCH_SIZE", intSetting(func(c *Config, n int64) { c.Producer.AggregateBatchSize = int(n) })},
	{"BATCH_SIZE", intSetting(func(c *Config, n int64) { c.Producer.BatchSize = int(n) })},
	{"BATCH_COUNT", intSetting(func(c *Config, n int64) { c.Producer.BatchCount = int(n) })},
	{"BACKLOG_COUNT", intSetting(func(c *Config, n int64) { c.Producer.BacklogCount = int(n) })},
	{"FLUSH_INTERVAL", durationSetting(func(c *Config, d time.Duration) { c.Producer.FlushInterval = d })},
	{"MAX_CONNECTIONS", intSetting(func(c *Config, n int64) { c.Producer.MaxConnections = int(n) })},
	{"MAX_RETRIES", intSetting(func(c *Config, n int64) { c.Producer.MaxRetries = int(n) })},
	{"MAX_BACKOFF", durationSetting(func(c *Config, d time.Duration) { c.Producer.MaxBackoff = d })},
	{"RECORD_TTL", durationSetting(func(c *Config, d time.Duration) { c.Producer.RecordTTL = d })},
}

// checked parses a string setting that check must accept, so that a variable's value
// out of range is refused naming the variable and the value as it was written. The value
// is set all the same, so that rules between settings see it; Load does not refuse it a
// second time by the setting's name.
func checked(check func(string) error, set func(*Config, string)) func(*Config, string) error {
	return func(c *Config, v string) error {
		set(c, v)
		return check(v)
	}
}

// lowerChecked is checked for a setting of names, matched without regard to case and
// spaces around them.
func lowerChecked[T ~string](check func(T) error, set func(*Config, T)) func(*Config, string) error {
	return func(c *Config, v string) error {
		t := T(strings.ToLower(strings.TrimSpace(v)))
		set(c, t)
		return check(t)
	}
}

func intSetting(set func(*Config, int64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		set(c, n)
		return nil
	}
}

// durationSetting accepts a Go duration ("5s", "250ms") or a whole number of milliseconds,
// as the OpenTelemetry environment variables use.
func durationSetting(set func(*Config, time.Duration)) func(*Config, string) error {
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
			return errors.New(`not a duration (a whole number of milliseconds, or a Go duration such as "5s")`)
		}
		set(c, d)
		return nil
	}
}

// EnvName returns the environment variable of setting name (such as "STREAM_NAME") for
// signal, in its signal-specific form.
func EnvName(signal Signal, name string) string {
	return EnvPrefix + strings.ToUpper(signal) + "_" + name
}

// envError is a value of setting name in the environment that does not parse.
type envError struct {
	name string
	err  error
}

// applyEnv reads every setting from the environment through lookup, and returns the
// values that do not parse. A parse error of a numeric setting says its range too.
func (c *Config) applyEnv(lookup func(string) (string, bool)) []envError {
	var errs []envError
	for _, s := range envSettings {
		var key, v string
		var ok bool
		if c.Signal != "" {
			key = EnvName(c.Signal, s.name)
			v, ok = lookup(key)
		}
		if !ok || v == "" {
			key = EnvPrefix + s.name
			v, ok = lookup(key)
		}
		if !ok || v == "" {
			continue
		}
		if err := s.parse(c, v); err != nil {
			setting := strings.ToLower(s.name)
			if allowed := kpl.Allowed(setting); allowed != "" {
				err = fmt.Errorf("%w; allowed %s", err, allowed)
			}
			errs = append(errs, envError{s.name, fmt.Errorf("otelkinesis: %s=%q (%s): %w", key, v, setting, err)})
		}
	}
	return errs
}

// Validate checks every setting; the error names each invalid one, its value and what
// is allowed.
func (c Config) Validate() error { return c.validate(nil) }

// validate is Validate, leaving out the string settings in skip (by their lower-case
// names): those Load has refused already, naming their variable.
func (c Config) validate(skip map[string]bool) error {
	var errs []error
	bad := func(setting string, value any, err error) {
		if err != nil && !skip[setting] {
			errs = append(errs, fmt.Errorf("otelkinesis: %s %q: %w", setting, value, err))
		}
	}
	bad("encoding", c.Encoding, checkEncoding(c.Encoding))
	bad("compression", c.Compression, c.Compression.check())
	bad("partition_by", c.PartitionBy, c.PartitionBy.check())
	if c.Region != "" {
		bad("region", c.Region, checkRegion(c.Region))
	}
	if c.RoleARN != "" {
		// The role ARN is not secret; the external ID is, and is never printed.
		bad("role_arn", c.RoleARN, checkRoleARN(c.RoleARN))
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		errs = append(errs, errors.New("otelkinesis: external_id is set but role_arn is not: the external ID goes with a role to assume"))
	}
	if c.Endpoint != "" {
		bad("endpoint", c.Endpoint, checkEndpoint(c.Endpoint))
	}
	// The stream ARN's region is the region when none is set: it must be one too.
	if parts := strings.SplitN(c.Producer.StreamARN, ":", 6); len(parts) == 6 && !validRegion(parts[3]) {
		errs = append(errs, fmt.Errorf("otelkinesis: stream_arn %q: its region %q is not a region name (lower-case letters, digits and hyphens, starting with a letter)",
			c.Producer.StreamARN, parts[3]))
	}
	if c.SharedProducer == nil {
		if err := c.Producer.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validEndpoint reports whether s is an absolute http or https URL with a host.
func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != ""
}

// checkEncoding returns what is allowed if e is not an encoding.
func checkEncoding(e Encoding) error {
	switch e {
	case EncodingProto, EncodingJSON:
		return nil
	}
	return fmt.Errorf("allowed %q or %q", EncodingProto, EncodingJSON)
}

// check returns what is allowed if c is not a compression.
func (c Compression) check() error {
	switch c {
	case CompressionNone, CompressionGzip, CompressionZstd:
		return nil
	}
	return fmt.Errorf("allowed %q, %q or %q", CompressionNone, CompressionGzip, CompressionZstd)
}

// check returns what is allowed if p is not a partitioning.
func (p PartitionBy) check() error {
	switch p {
	case PartitionByTraceID, PartitionByResource, PartitionByRandom, PartitionByShard:
		return nil
	}
	return fmt.Errorf("allowed %q, %q, %q or %q", PartitionByTraceID, PartitionByResource, PartitionByRandom, PartitionByShard)
}

// CheckRegion returns nil if s can be an AWS region name (us-east-1, eu-central-1,
// us-gov-west-1, cn-north-1), else an error saying what is allowed, for the caller to
// put after the setting's name and value. The otelkinesis command checks its --region
// with it.
func CheckRegion(s string) error { return checkRegion(s) }

// checkRegion returns what is allowed if s is not an AWS region name.
func checkRegion(s string) error {
	if validRegion(s) {
		return nil
	}
	return fmt.Errorf("allowed an AWS region name such as %q: "+
		"1 to 63 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen", "us-east-1")
}

// checkRoleARN returns what is allowed if s is not an IAM role ARN.
func checkRoleARN(s string) error {
	if validRoleARN(s) {
		return nil
	}
	return errors.New("allowed an IAM role ARN arn:PARTITION:iam::ACCOUNT:role/NAME")
}

// checkEndpoint returns what is allowed if s is not an endpoint URL.
func checkEndpoint(s string) error {
	if validEndpoint(s) {
		return nil
	}
	return errors.New("allowed an http:// or https:// URL with a host")
}

// validRegion reports whether s can be an AWS region name: a host label (1 to 63 characters,
// not ending with a hyphen) of lower-case letters, digits and hyphens that starts with a
// letter. The SDK puts the region in the endpoint's host name and refuses, when it builds
// the first request, one that is not a host label; it allows upper case and dots too, which
// no AWS region name has.
func validRegion(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validRoleARN reports whether s is an IAM role ARN, arn:PARTITION:iam::ACCOUNT:role/NAME
// (NAME may have a path before it, role/PATH/NAME).
func validRoleARN(s string) bool {
	a, err := arn.Parse(s)
	if err != nil || a.Partition == "" || a.Service != "iam" || a.Region != "" || a.AccountID == "" {
		return false
	}
	name, ok := strings.CutPrefix(a.Resource, "role/")
	return ok && name != "" && !strings.HasSuffix(name, "/")
}

// MarshalLog is what a logr logger or any structured logger prints for the Config: the
// settings without anything secret (the external ID and the AWS credentials never appear).
func (c Config) MarshalLog() any {
	externalID := ""
	if c.ExternalID != "" {
		externalID = "(redacted)"
	}
	return struct {
		Signal, StreamName, StreamARN, Endpoint, Region, RoleARN, ExternalID string
		Encoding                                                             Encoding
		Compression                                                          Compression
		PartitionBy                                                          PartitionBy
		CustomAWSConfig                                                      bool
	}{
		string(c.Signal), c.Producer.StreamName, c.Producer.StreamARN, c.Endpoint, c.Region, c.RoleARN, externalID,
		c.Encoding, c.Compression, c.PartitionBy, c.AWSConfig != nil,
	}
}

// String returns the same redacted view as MarshalLog, so printing a Config with %v never
// shows a secret.
func (c Config) String() string {
	return fmt.Sprintf("%+v", c.MarshalLog())
}
