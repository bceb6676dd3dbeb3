package kpl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults of the producer settings.
const (
	// DefaultAggregateBatchCount is the default of Config.AggregateBatchCount:
	// no count limit beyond the byte limit (4294967295).
	DefaultAggregateBatchCount = 4294967295
	// DefaultAggregateBatchSize is the default of Config.AggregateBatchSize:
	// 51200 bytes, exactly two 25 KiB PUT payload units.
	DefaultAggregateBatchSize = 51200
	// DefaultBatchSize is the default of Config.BatchSize: 5 MiB, the
	// request limit of older documentation and of the emulators.
	DefaultBatchSize = 5 << 20
	// DefaultBatchCount is the default of Config.BatchCount: 500, the
	// PutRecords entry limit.
	DefaultBatchCount = 500
	// DefaultBacklogCount is the default of Config.BacklogCount.
	DefaultBacklogCount = 2000
	// DefaultBacklogBytes is the default of Config.BacklogBytes: 64 MiB.
	DefaultBacklogBytes = 64 << 20
	// DefaultFlushInterval is the default of Config.FlushInterval.
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxConnections is the default of Config.MaxConnections.
	DefaultMaxConnections = 24
	// DefaultMaxRetries is the default of Config.MaxRetries.
	DefaultMaxRetries = 10
	// DefaultMinBackoff is the default of Config.MinBackoff.
	DefaultMinBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff is the default of Config.MaxBackoff.
	DefaultMaxBackoff = 60 * time.Second
	// DefaultRequestTimeout is the default of Config.RequestTimeout.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultRateLimit is the default of Config.RateLimit: 100 % of a shard's
	// write capacity.
	DefaultRateLimit = 100
	// DefaultShardMapRefresh is the default of Config.ShardMapRefresh.
	DefaultShardMapRefresh = time.Minute
	// DefaultRecordTTL is the default of Config.RecordTTL: 5 minutes, so that an
	// outage of a few minutes loses nothing that fits the byte budget.
	DefaultRecordTTL = 5 * time.Minute
)

// Kinesis limits the settings are checked against.
const (
	// MaxBatchCount is the PutRecords limit on entries per request.
	MaxBatchCount = 500
	// MaxRequestBytes is the PutRecords limit on data plus partition keys per
	// request on current AWS (10 MiB). Older documentation and the emulators
	// say 5 MiB, hence DefaultBatchSize.
	MaxRequestBytes = 10 << 20
	// MaxRecordBytes is the largest record size a stream can be configured
	// for (10 MiB); a stream's own limit comes from DescribeStreamSummary.
	MaxRecordBytes = 10 << 20
	// DefaultRecordBytes is the record size limit of a stream that does not
	// report one (1 MiB).
	DefaultRecordBytes = 1 << 20
	// ShardRecordsPerSecond is a shard's write capacity in records.
	ShardRecordsPerSecond = 1000
	// ShardBytesPerSecond is a shard's write capacity in bytes.
	ShardBytesPerSecond = 1 << 20
)

// Config holds a Producer's settings. Start from DefaultConfig and change
// what you need: Validate (which New calls) refuses values outside their
// ranges, and the zero value of a numeric setting is not its default.
//
// The names in brackets are the settings' names, as errors and the README's
// settings table give them; the exporters read them from
// OTEL_EXPORTER_KINESIS_<NAME in upper case>.
type Config struct {
	// StreamName is the stream's name. At least one of StreamName and
	// StreamARN is required; when both are given both are sent (kinesalite
	// needs the name even when the ARN is given).
	StreamName string
	// StreamARN is the stream's ARN, arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME.
	StreamARN string

	// AggregateBatchCount [aggregate_batch_count] is the most user records
	// in one aggregated Kinesis record. Default 4294967295, range 1 to
	// 4294967295.
	AggregateBatchCount int64
	// AggregateBatchSize [aggregate_batch_size] is the largest size of an
	// aggregated Kinesis record, counted as Kinesis counts a record: data
	// plus partition key. A user record that does not fit alone in this size
	// is sent alone. The stream's record size limit caps it. Default 51200,
	// range 1 to 10485760.
	AggregateBatchSize int
	// BatchSize [batch_size] is the most bytes (data plus partition keys) in
	// one PutRecords request. A single Kinesis record larger than this goes
	// alone in its request. Default 5242880, range 1 to 10485760.
	BatchSize int
	// BatchCount [batch_count] is the most Kinesis records in one
	// PutRecords request. Default 500, range 1 to 500.
	BatchCount int
	// BacklogCount [backlog_count] is the most user records waiting to be
	// sent: in closed aggregates queued for a request, or waiting for a
	// retry. Put blocks while it is reached. User records being aggregated
	// (at most four aggregates a shard) and in requests in flight (at most
	// MaxConnections) are not counted: BacklogBytes bounds everything held.
	// Default 2000, range 1 to 2147483647.
	BacklogCount int
	// BacklogBytes bounds the memory the producer holds for the user
	// records it was given, from Put until delivered or dropped: their
	// aggregates (being filled, queued, in flight or waiting for a retry),
	// the request bodies they go out in (base64 in JSON: 4/3 of their size,
	// reserved from Put on, so that a request never waits for memory) and
	// the buffers it keeps for reuse (dropped first when room is needed).
	// About 3/7 of it is therefore user data. Put blocks while it is
	// reached. A user record larger than this is still taken when the
	// producer holds nothing. Stats.MemoryBytes is what it holds now.
	// Default 67108864 (64 MiB), range 1024 to 1099511627776.
	BacklogBytes int64
	// FlushInterval [flush_interval] is how often buffered records are sent
	// even if no batch is full. Default 5s, range 1ms to 1h.
	FlushInterval time.Duration
	// MaxConnections [max_connections] is the most PutRecords requests in
	// flight at once. Default 24, range 1 to 1024.
	MaxConnections int
	// MaxRetries [max_retries] is how many times a Kinesis record is sent
	// again after Kinesis answered an attempt with a retryable error; 0 sends
	// it once. Attempts that never reached Kinesis (no credentials, DNS, a
	// refused connection, no answer) do not count: RecordTTL bounds them.
	// Default 10, range 0 to 100.
	MaxRetries int
	// MinBackoff is the base of the exponential backoff between attempts:
	// retry n waits a random time between c/2 and c, where
	// c = min(MaxBackoff, MinBackoff * 3^(n-1)) ("equal jitter"). Default
	// 100ms, range 1ms to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff [max_backoff] caps the wait between attempts. Default 60s,
	// range 1ms to 1h.
	MaxBackoff time.Duration
	// RecordTTL [record_ttl] is the delivery budget: how long a user record may
	// stay in the producer, from Put until delivered, before it is given up
	// (DropExpired), like the KPL's RecordTtl. Records are retried while their
	// budget lasts, so an outage shorter than it loses nothing that fits
	// BacklogBytes. MaxRetries caps the attempts on top of it. Default 5m,
	// range 100ms to 24h.
	RecordTTL time.Duration
	// RequestTimeout bounds each PutRecords, ListShards and
	// DescribeStreamSummary call; a request that times out is retried.
	// Default 30s, range 1ms to 1h.
	RequestTimeout time.Duration
	// RateLimit is the per-shard rate limit in percent of a shard's write
	// capacity (1000 records/s and 1 MiB/s), like the KPL's RateLimit.
	// Default 100, range 1 to 1000.
	RateLimit int
	// ShardMapRefresh is how often the shard map is read again while it is
	// healthy; failed reads are retried sooner, with backoff. Default 1m,
	// range 1s to 24h.
	ShardMapRefresh time.Duration
	// MaxRecordSize overrides the stream's record size limit in bytes (data
	// plus partition key). 0, the default, reads it from
	// DescribeStreamSummary (MaxRecordSizeInKiB), or takes 1 MiB if the
	// stream does not say. Range 0 or 1024 to 10485760.
	MaxRecordSize int
	// DisableAggregation sends every user record as its own plain Kinesis
	// record under its own partition key and explicit hash key, with no
	// magic, protobuf, digest or tags, for consumers that cannot
	// deaggregate. Default false.
	DisableAggregation bool

	// SkipStartupCheck starts the producer without calling Kinesis: New does
	// not describe the stream, so it succeeds while the endpoint is
	// unreachable or credentials are not available yet; the shard map is read
	// in the background, its first failure reported once through otel.Handle,
	// and what the producer holds is delivered once the stream answers (a
	// missing stream then drops records as a permanent error). Default false:
	// New checks the stream, the credentials and the endpoint once and fails
	// with the cause (StartupError).
	SkipStartupCheck bool

	// MeterProvider, if set, receives the producer's own metrics. Default
	// (nil): none, unless OTEL_GO_X_OBSERVABILITY is "true" when New runs;
	// then the global otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Hooks observe the producer: each is told, through the Hook interfaces
	// it implements, of the user records given up on after Put accepted
	// them (HookDropped; drops also reach otel.Handle), of every PutRecords
	// request (HookBatchWritten) and of every new shard map
	// (HookShardMapChanged). They are called in this order, from the
	// producer's goroutines, never with its lock held, and must not block
	// (see Hook). Default: none.
	Hooks []Hook
}

// DefaultConfig returns a Config with every setting at its default and no
// stream.
func DefaultConfig() Config {
	return Config{
		AggregateBatchCount: DefaultAggregateBatchCount,
		AggregateBatchSize:  DefaultAggregateBatchSize,
		BatchSize:           DefaultBatchSize,
		BatchCount:          DefaultBatchCount,
		BacklogCount:        DefaultBacklogCount,
		BacklogBytes:        DefaultBacklogBytes,
		FlushInterval:       DefaultFlushInterval,
		MaxConnections:      DefaultMaxConnections,
		MaxRetries:          DefaultMaxRetries,
		MinBackoff:          DefaultMinBackoff,
		MaxBackoff:          DefaultMaxBackoff,
		RequestTimeout:      DefaultRequestTimeout,
		RateLimit:           DefaultRateLimit,
		ShardMapRefresh:     DefaultShardMapRefresh,
		RecordTTL:           DefaultRecordTTL,
	}
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid producer setting")

// A SettingError is one invalid setting [Config.Validate] found. Its message names the
// setting, its value and what is allowed; the exporters' configuration layer names the
// option or variable the value came from instead, from Setting. It wraps
// ErrInvalidConfig.
type SettingError struct {
	// Setting is the setting's name, as in ranges ("batch_count", "stream_name"), or
	// "stream" for the stream as a whole (Problem is then StreamMissing or
	// StreamsDiffer).
	Setting string
	// Value is the setting's value as Validate saw it; for the stream as a whole, nil
	// or a description of the name and the ARN that differ.
	Value any
	// Problem says what is wrong: "out of range", "not a stream name", StreamMissing...
	Problem string
	// Allowed says what is allowed, such as "1 to 500"; "" when Problem says it all.
	Allowed string
}

// The problems of the stream as a whole.
const (
	// StreamMissing: neither a stream name nor a stream ARN is set.
	StreamMissing = "a stream name or stream ARN is required"
	// StreamsDiffer: the stream name and the stream ARN name different streams.
	StreamsDiffer = "the stream name and the stream ARN name different streams"
)

// Error returns "invalid producer setting batch_count = 1000: out of range; allowed 1
// to 500", or, for the stream as a whole, "invalid producer setting: " and the problem.
func (e *SettingError) Error() string {
	if e.Setting == "stream" {
		if e.Value != nil {
			return fmt.Sprintf("%v: %s (%v)", ErrInvalidConfig, e.Problem, e.Value)
		}
		return fmt.Sprintf("%v: %s", ErrInvalidConfig, e.Problem)
	}
	value := fmt.Sprint(e.Value)
	switch v := e.Value.(type) {
	case string:
		value = fmt.Sprintf("%q", v)
	case time.Duration:
		value = FormatDuration(v)
	}
	msg := fmt.Sprintf("%v %s = %s: %s", ErrInvalidConfig, e.Setting, value, e.Problem)
	if e.Allowed != "" {
		msg += "; allowed " + e.Allowed
	}
	return msg
}

// Unwrap returns ErrInvalidConfig.
func (e *SettingError) Unwrap() error { return ErrInvalidConfig }

// FormatDuration writes d as time.Duration.String does, without the zero minutes and
// seconds of a whole hour or minute: "1h", "24h", "5m", "1h30m", "100ms", "0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// settingRange is the range a numeric setting allows, inclusive.
type settingRange struct {
	lo, hi   int64
	duration bool   // lo and hi are time.Durations
	zero     string // if not "", 0 is allowed too, and means this
}

// ranges holds the range of every numeric setting, by its name: the one
// source of the limits Validate checks and of what Allowed says. min_backoff's
// upper limit is max_backoff's value when that is valid.
var ranges = map[string]settingRange{
	"aggregate_batch_count": {lo: 1, hi: DefaultAggregateBatchCount},
	"aggregate_batch_size":  {lo: 1, hi: MaxRecordBytes},
	"batch_size":            {lo: 1, hi: MaxRequestBytes},
	"batch_count":           {lo: 1, hi: MaxBatchCount},
	"backlog_count":         {lo: 1, hi: 1<<31 - 1},
	"backlog_bytes":         {lo: 1 << 10, hi: 1 << 40},
	"flush_interval":        {lo: int64(time.Millisecond), hi: int64(time.Hour), duration: true},
	"max_connections":       {lo: 1, hi: 1024},
	"max_retries":           {lo: 0, hi: 100},
	"min_backoff":           {lo: int64(time.Millisecond), hi: int64(time.Hour), duration: true},
	"max_backoff":           {lo: int64(time.Millisecond), hi: int64(time.Hour), duration: true},
	"request_timeout":       {lo: int64(time.Millisecond), hi: int64(time.Hour), duration: true},
	"rate_limit":            {lo: 1, hi: 1000},
	"shard_map_refresh":     {lo: int64(time.Second), hi: int64(24 * time.Hour), duration: true},
	"max_record_size":       {lo: 1 << 10, hi: MaxRecordBytes, zero: "ask the stream"},
	"record_ttl":            {lo: int64(100 * time.Millisecond), hi: int64(24 * time.Hour), duration: true},
}

// String says what r allows, as Validate's errors and Allowed do: "1 to 500",
// "1ms to 1h", "0 (ask the stream) or 1024 to 10485760".
func (r settingRange) String() string {
	var s string
	if r.duration {
		s = FormatDuration(time.Duration(r.lo)) + " to " + FormatDuration(time.Duration(r.hi))
	} else {
		s = fmt.Sprintf("%d to %d", r.lo, r.hi)
	}
	if r.zero != "" {
		s = fmt.Sprintf("0 (%s) or %s", r.zero, s)
	}
	return s
}

// allows reports whether v is in r.
func (r settingRange) allows(v int64) bool {
	return v >= r.lo && v <= r.hi || v == 0 && r.zero != ""
}

// Allowed returns what the numeric setting named setting (its name in lower
// case, such as "batch_count") allows, in the words of Validate's errors,
// such as "1 to 500" or "1ms to 1h"; "" if setting has no range.
func Allowed(setting string) string {
	r, ok := ranges[setting]
	if !ok {
		return ""
	}
	return r.String()
}

// Validate checks every setting and returns an error that names each invalid
// one, its value and the allowed range: the [SettingError]s of Problems,
// joined; errors.Is(err, ErrInvalidConfig).
func (c Config) Validate() error {
	probs := c.Problems()
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Problems returns a SettingError for each invalid setting, in the order of
// the Config's fields; nil if every setting is valid.
func (c Config) Problems() []*SettingError {
	var errs []*SettingError
	check := func(name string, r settingRange, v int64, value any) {
		if !r.allows(v) {
			errs = append(errs, &SettingError{Setting: name, Value: value, Problem: "out of range", Allowed: r.String()})
		}
	}
	intRange := func(name string, v int64) { check(name, ranges[name], v, v) }
	durRange := func(name string, v time.Duration) { check(name, ranges[name], int64(v), v) }

	if c.StreamName == "" && c.StreamARN == "" {
		errs = append(errs, &SettingError{Setting: "stream", Problem: StreamMissing})
	}
	if c.StreamName != "" && !validStreamName(c.StreamName) {
		errs = append(errs, &SettingError{Setting: "stream_name", Value: c.StreamName, Problem: "not a stream name",
			Allowed: "1 to 128 characters of a-z A-Z 0-9 _ . -"})
	}
	if c.StreamARN != "" {
		name, ok := streamNameFromARN(c.StreamARN)
		switch {
		case !ok:
			errs = append(errs, &SettingError{Setting: "stream_arn", Value: c.StreamARN, Problem: "not a Kinesis stream ARN",
				Allowed: "arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME"})
		case c.StreamName != "" && name != c.StreamName:
			errs = append(errs, &SettingError{Setting: "stream", Problem: StreamsDiffer,
				Value: fmt.Sprintf("stream_name %q, stream_arn %q", c.StreamName, c.StreamARN)})
		}
	}
	intRange("aggregate_batch_count", c.AggregateBatchCount)
	intRange("aggregate_batch_size", int64(c.AggregateBatchSize))
	intRange("batch_size", int64(c.BatchSize))
	intRange("batch_count", int64(c.BatchCount))
	intRange("backlog_count", int64(c.BacklogCount))
	intRange("backlog_bytes", c.BacklogBytes)
	durRange("flush_interval", c.FlushInterval)
	intRange("max_connections", int64(c.MaxConnections))
	intRange("max_retries", int64(c.MaxRetries))
	durRange("max_backoff", c.MaxBackoff)
	minBackoff := ranges["min_backoff"]
	if ranges["max_backoff"].allows(int64(c.MaxBackoff)) {
		minBackoff.hi = int64(c.MaxBackoff)
	}
	check("min_backoff", minBackoff, int64(c.MinBackoff), c.MinBackoff)
	durRange("request_timeout", c.RequestTimeout)
	intRange("rate_limit", int64(c.RateLimit))
	durRange("shard_map_refresh", c.ShardMapRefresh)
	intRange("max_record_size", int64(c.MaxRecordSize))
	durRange("record_ttl", c.RecordTTL)
	return errs
}

// stream returns how errors name the stream.
func (c Config) stream() string {
	if c.StreamName != "" {
		return c.StreamName
	}
	return c.StreamARN
}

// validStreamName reports whether s matches Kinesis's stream name pattern
// [a-zA-Z0-9_.-]{1,128}.
func validStreamName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// streamNameFromARN returns the stream name of a Kinesis stream ARN.
func streamNameFromARN(arn string) (string, bool) {
	// arn:partition:kinesis:region:account:stream/name
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "kinesis" {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], "stream/")
	if !ok || !validStreamName(name) {
		return "", false
	}
	return name, true
}
