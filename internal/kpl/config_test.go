package kpl

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	c.StreamName = "s"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.StreamName = ""
	c.StreamARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/telemetry"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.StreamName = "telemetry"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesSettingValueAndRange(t *testing.T) {
	cases := []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.StreamName = "" }, "stream name or stream ARN is required"},
		{func(c *Config) { c.StreamName = "bad name" }, `stream_name = "bad name": not a stream name; allowed 1 to 128 characters`},
		{func(c *Config) { c.StreamARN = "arn:aws:s3:::bucket" }, `stream_arn = "arn:aws:s3:::bucket": not a Kinesis stream ARN; allowed arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME`},
		{func(c *Config) { c.StreamARN = "arn:aws:kinesis:eu-west-1:1:stream/other" }, `the stream name and the stream ARN name different streams (stream_name "s", stream_arn "arn:aws:kinesis:eu-west-1:1:stream/other")`},
		{func(c *Config) { c.AggregateBatchCount = 0 }, "aggregate_batch_count = 0: out of range; allowed 1 to 4294967295"},
		{func(c *Config) { c.AggregateBatchCount = 1 << 32 }, "aggregate_batch_count = 4294967296: out of range; allowed 1 to 4294967295"},
		{func(c *Config) { c.AggregateBatchSize = 0 }, "aggregate_batch_size = 0: out of range; allowed 1 to 10485760"},
		{func(c *Config) { c.BatchSize = 11 << 20 }, "batch_size = 11534336: out of range; allowed 1 to 10485760"},
		{func(c *Config) { c.BatchCount = 501 }, "batch_count = 501: out of range; allowed 1 to 500"},
		{func(c *Config) { c.BatchCount = 1000 }, "batch_count = 1000: out of range; allowed 1 to 500"},
		{func(c *Config) { c.BacklogCount = 0 }, "backlog_count = 0: out of range; allowed 1 to 2147483647"},
		{func(c *Config) { c.BacklogBytes = 10 }, "backlog_bytes = 10: out of range; allowed 1024 to 1099511627776"},
		{func(c *Config) { c.FlushInterval = 0 }, "flush_interval = 0s: out of range; allowed 1ms to 1h"},
		{func(c *Config) { c.MaxConnections = 0 }, "max_connections = 0: out of range; allowed 1 to 1024"},
		{func(c *Config) { c.MaxRetries = -1 }, "max_retries = -1: out of range; allowed 0 to 100"},
		{func(c *Config) { c.MaxBackoff = 2 * time.Hour }, "max_backoff = 2h: out of range; allowed 1ms to 1h"},
		{func(c *Config) { c.MinBackoff = 2 * time.Minute }, "min_backoff = 2m: out of range; allowed 1ms to 1m"},
		{func(c *Config) { c.RequestTimeout = -time.Second }, "request_timeout = -1s: out of range; allowed 1ms to 1h"},
		{func(c *Config) { c.RateLimit = 0 }, "rate_limit = 0: out of range; allowed 1 to 1000"},
		{func(c *Config) { c.ShardMapRefresh = time.Millisecond }, "shard_map_refresh = 1ms: out of range; allowed 1s to 24h"},
		{func(c *Config) { c.MaxRecordSize = 100 }, "max_record_size = 100: out of range; allowed 0 (ask the stream) or 1024 to 10485760"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		c.StreamName = "s"
		tc.change(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v\nwant it to contain %q", err, tc.want)
		}
	}
	// Every invalid setting is reported, not just the first.
	var zero Config
	zero.StreamName = "s"
	err := zero.Validate()
	for _, name := range []string{"aggregate_batch_count", "batch_size", "batch_count", "backlog_count", "flush_interval", "max_connections", "max_backoff"} {
		if !strings.Contains(err.Error(), name+" = ") {
			t.Errorf("zero config: %s not reported in %v", name, err)
		}
	}
}

// TestAllowedIsWhatValidateSays: Allowed gives each numeric setting's range in the words of
// Validate's error for it, and nothing for a setting without a range.
func TestAllowedIsWhatValidateSays(t *testing.T) {
	for name, want := range map[string]string{
		"batch_count":     "1 to 500",
		"max_retries":     "0 to 100",
		"flush_interval":  "1ms to 1h",
		"max_record_size": "0 (ask the stream) or 1024 to 10485760",
		"stream_name":     "",
		"no_such_setting": "",
	} {
		if got := Allowed(name); got != want {
			t.Errorf("Allowed(%q) = %q, want %q", name, got, want)
		}
	}
	// A zero Config has every numeric setting but max_retries and max_record_size out of
	// range; each error must say what Allowed says.
	var zero Config
	zero.StreamName = "s"
	msg := zero.Validate().Error()
	for name := range ranges {
		if name == "max_retries" || name == "max_record_size" {
			continue
		}
		if want := name + " = "; !strings.Contains(msg, want) {
			t.Errorf("zero config: %s not reported in %v", name, msg)
			continue
		}
		if want := ": out of range; allowed " + Allowed(name); !strings.Contains(msg, want) {
			t.Errorf("zero config: %s's error does not say %q: %v", name, want, msg)
		}
	}
}
