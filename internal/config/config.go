// Package config resolves the settings the trace, metric and log exporters share: options
// given in code first, then the environment (a signal-specific variable before the shared
// one), then the defaults. It also builds the Kinesis client those settings describe.
//
// The settings, their options and their variables are listed once, in settings (see
// settings.go); users read them in the documentation of packages trace, metric and log,
// which a test holds to that list. Each variable also has a signal-specific form that
// wins over it, OTEL_EXPORTER_KINESIS_TRACES_<NAME>, ..._METRICS_<NAME>, ..._LOGS_<NAME>,
// but OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE, which has only that one.
//
// The region falls back to AWS_REGION (through the AWS SDK's default chain), then to the
// region in the stream ARN; credentials come from the AWS default chain.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

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

// Prefix returns what every error about the configuration of an exporter of signal
// starts with, "otelkinesis: traces exporter"; for a shared producer (signal ""),
// "otelkinesis: producer".
func Prefix(signal Signal) string {
	if signal == "" {
		return "otelkinesis: producer"
	}
	return "otelkinesis: " + strings.ToLower(string(signal)) + " exporter"
}

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

	// Producer holds the stream and the producer settings.
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

	// sources tells, by setting name, where Load found each setting that is not at its
	// default: the variable or the option. Errors name it.
	sources map[string]source
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

// Load resolves the configuration of an exporter of signal (of a shared producer for
// signal ""): defaults, then the environment, then opts; then validates it.
//
// An option takes the place of the variables of the settings it names (see
// [Option.Settings]): they are not read, so a value of theirs that does not parse is no
// error. The stream is one setting in two forms: an option for the stream name or ARN
// takes the place of both variables. Variables of settings that do not apply are not read
// either: the exporters' own for a shared producer, the stream, AWS and producer settings
// for an exporter given a shared producer (WithProducer), the AWS settings with a Kinesis
// client given in code.
//
// Every error is one line starting with [Prefix], and names the option or the variable
// the value came from, the value as written, what is allowed and the other way to set it.
func Load(signal Signal, opts []*Option) (Config, error) {
	c := Default(signal)
	c.sources = map[string]source{}
	inCode := map[string]bool{} // the settings options set
	for _, o := range opts {
		for _, s := range o.Settings {
			inCode[s] = true
		}
	}
	errs := conflicts(Prefix(signal), opts)
	for _, o := range opts {
		if o.Check != nil {
			if err := o.Check(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", Prefix(signal), o.Name, err))
			}
		}
	}
	unread := func(s *setting) bool {
		return inCode[s.name] ||
			signal == "" && s.kind == exporterKind ||
			s.signal != "" && s.signal != signal ||
			inCode["producer"] && (s.kind == streamKind || s.kind == awsKind || s.kind == producerKind) ||
			inCode["kinesis_client"] && s.kind == awsKind ||
			(inCode["stream_name"] || inCode["stream_arn"]) && s.kind == streamKind
	}
	errs = append(errs, c.applyEnv(os.LookupEnv, unread)...)
	for _, o := range opts {
		o.Set(&c)
		for _, s := range o.Settings {
			c.sources[s] = source{option: o}
		}
	}
	// The first backoff step is not a setting of its own here: a max_backoff below its
	// default lowers it too, rather than refusing the max_backoff.
	if c.Producer.MaxBackoff > 0 && c.Producer.MinBackoff > c.Producer.MaxBackoff {
		c.Producer.MinBackoff = c.Producer.MaxBackoff
	}
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

// EnvName returns the environment variable of setting name (such as "STREAM_NAME") for
// signal, in its signal-specific form.
func EnvName(signal Signal, name string) string {
	return EnvPrefix + strings.ToUpper(signal) + "_" + name
}

// applyEnv reads the settings from the environment through lookup, but those unread
// says not to read, the signal-specific variable before the shared one, and returns an
// error for each value that does not parse.
func (c *Config) applyEnv(lookup func(string) (string, bool), unread func(*setting) bool) []error {
	var errs []error
	for i := range settings {
		s := &settings[i]
		if s.env == "" || unread(s) {
			continue
		}
		var key, v string
		var ok bool
		if c.Signal != "" && s.signal == "" {
			key = EnvName(c.Signal, s.env)
			v, ok = lookup(key)
		}
		if !ok || v == "" {
			key = EnvPrefix + s.env
			v, ok = lookup(key)
		}
		if !ok || v == "" {
			continue
		}
		if err := s.parse(c, v); err != nil {
			c.sources[s.name] = source{variable: key, raw: v}
			errs = append(errs, c.refusal(s.name, err.Error(), s.allowed()))
			delete(c.sources, s.name) // the default stays
			continue
		}
		c.sources[s.name] = source{variable: key, raw: v}
	}
	return errs
}

// Validate checks every setting; the error has a line for each invalid one, naming it,
// its value and what is allowed.
func (c Config) Validate() error { return errors.Join(c.validate()...) }

// validate returns an error for each invalid setting.
func (c Config) validate() []error {
	var errs []error
	check := func(name string, problem, allowed string) {
		if problem != "" {
			errs = append(errs, c.refusal(name, problem, allowed))
		}
	}
	if problem, allowed := checkEncoding(c.Encoding); problem != "" {
		check("encoding", problem, allowed)
	}
	if problem, allowed := c.Compression.check(); problem != "" {
		check("compression", problem, allowed)
	}
	if problem, allowed := c.PartitionBy.check(); problem != "" {
		check("partition_by", problem, allowed)
	}
	if c.Region != "" && !validRegion(c.Region) {
		check("region", "not an AWS region name", regionAllowed)
	}
	if c.RoleARN != "" && !validRoleARN(c.RoleARN) {
		// The role ARN is not secret; the external ID is, and is never shown.
		check("role_arn", "not an IAM role ARN", "arn:PARTITION:iam::ACCOUNT:role/NAME")
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		errs = append(errs, fmt.Errorf("%s: %s: an external ID without a role to assume (%s)",
			Prefix(c.Signal), c.origin("external_id", nil), c.otherWay("role_arn")))
	}
	if c.Endpoint != "" && !validEndpoint(c.Endpoint) {
		check("endpoint", "not an endpoint URL", "an http:// or https:// URL with a host")
	}
	// The stream ARN's region is the region when none is set: it must be one too. (An ARN
	// that is no Kinesis ARN at all is refused below, as a whole.)
	if parts := strings.SplitN(c.Producer.StreamARN, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[2] == "kinesis" &&
		!validRegion(parts[3]) {
		check("stream_arn", fmt.Sprintf("its region %q is not an AWS region name", parts[3]), regionAllowed)
	}
	if c.SharedProducer != nil {
		return errs
	}
	for _, p := range c.Producer.Problems() {
		switch {
		case p.Setting == "stream" && p.Problem == kpl.StreamMissing:
			errs = append(errs, fmt.Errorf("%s: no stream: set one with WithStreamName or WithStreamARN, or %sSTREAM_NAME or %sSTREAM_ARN",
				Prefix(c.Signal), EnvPrefix, EnvPrefix))
		case p.Setting == "stream" && p.Problem == kpl.StreamsDiffer:
			errs = append(errs, fmt.Errorf("%s: %s and %s name different streams: give one, or both forms of the same stream",
				Prefix(c.Signal), c.origin("stream_name", nil), c.origin("stream_arn", nil)))
		default:
			errs = append(errs, c.refusalOf(p))
		}
	}
	return errs
}

// CheckRegion returns nil if s can be an AWS region name (us-east-1, eu-central-1,
// us-gov-west-1, cn-north-1), else an error saying what is allowed, for the caller to
// put after the setting's name and value. The otelkinesis command checks its --region
// with it.
func CheckRegion(s string) error {
	if validRegion(s) {
		return nil
	}
	return errors.New("allowed " + regionAllowed)
}

// regionAllowed says what an AWS region name is.
const regionAllowed = `a region name such as us-east-1: 1 to 63 lower-case letters, digits and hyphens, ` +
	`starting with a letter and not ending with a hyphen`

// validEndpoint reports whether s is an absolute http or https URL with a host.
func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != ""
}

// checkEncoding returns what is wrong and what is allowed if e is not an encoding, and ""
// if it is one.
func checkEncoding(e Encoding) (problem, allowed string) {
	switch e {
	case EncodingProto, EncodingJSON:
		return "", ""
	}
	return "not an encoding", fmt.Sprintf("%s or %s", EncodingProto, EncodingJSON)
}

// check is checkEncoding for a compression.
func (c Compression) check() (problem, allowed string) {
	switch c {
	case CompressionNone, CompressionGzip, CompressionZstd:
		return "", ""
	}
	return "not a compression", fmt.Sprintf("%s, %s or %s", CompressionNone, CompressionGzip, CompressionZstd)
}

// check is checkEncoding for a partitioning.
func (p PartitionBy) check() (problem, allowed string) {
	switch p {
	case PartitionByTraceID, PartitionByResource, PartitionByRandom, PartitionByShard:
		return "", ""
	}
	return "not a partitioning", fmt.Sprintf("%s, %s, %s or %s", PartitionByTraceID, PartitionByResource, PartitionByRandom, PartitionByShard)
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
