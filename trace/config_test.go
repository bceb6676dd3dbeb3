package trace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// clearKinesisEnv empties every OTEL_EXPORTER_KINESIS_ variable these tests could meet, so
// the machine's environment cannot leak in.
func clearKinesisEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"STREAM_NAME", "STREAM_ARN", "ENDPOINT", "REGION", "ROLE_ARN", "EXTERNAL_ID",
		"ENCODING", "COMPRESSION", "PARTITION_BY", "AGGREGATE_BATCH_COUNT", "AGGREGATE_BATCH_SIZE", "BATCH_SIZE",
		"BATCH_COUNT", "BACKLOG_COUNT", "FLUSH_INTERVAL", "MAX_CONNECTIONS", "MAX_RETRIES", "MAX_BACKOFF", "RECORD_TTL"} {
		t.Setenv(config.EnvPrefix+name, "")
		t.Setenv(config.EnvName(config.Traces, name), "")
	}
}

// TestInvalidOptionRefused: New refuses an invalid setting given as an option, naming it,
// its value and what is allowed, before touching the network; the external ID never
// appears in the error.
func TestInvalidOptionRefused(t *testing.T) {
	clearKinesisEnv(t)
	cases := []struct {
		opt  kinesistrace.Option
		want string
	}{
		{otelkinesis.WithRegion("not a region!"), `WithRegion("not a region!"): not an AWS region name; allowed a region name such as us-east-1`},
		{otelkinesis.WithRole("garbage", "ext-secret"), `WithRole("garbage", <not shown>): not an IAM role ARN; allowed arn:PARTITION:iam::ACCOUNT:role/NAME`},
		{otelkinesis.WithCompression("lz4"), `WithCompression("lz4"): not a compression; allowed none, gzip or zstd`},
		{otelkinesis.WithEndpointURL("127.0.0.1:4567"), `WithEndpointURL("127.0.0.1:4567"): not an endpoint URL; allowed an http:// or https:// URL`},
		{otelkinesis.WithMaxRetries(101), "WithMaxRetries(101): out of range; allowed 0 to 100"},
		{otelkinesis.WithFlushInterval(0), "WithFlushInterval(0s): out of range; allowed 1ms to 1h"},
		{otelkinesis.WithBacklogBytes(10), "WithBacklogBytes(10): out of range; allowed 1024 to 1099511627776"},
		{otelkinesis.WithRequestTimeout(-time.Second), "WithRequestTimeout(-1s): out of range; allowed 1ms to 1h"},
		{otelkinesis.WithRateLimit(0), "WithRateLimit(0): out of range; allowed 1 to 1000"},
	}
	for _, tc := range cases {
		exp, err := kinesistrace.New(context.Background(), otelkinesis.WithStreamName("s"), tc.opt)
		if err == nil {
			_ = exp.Shutdown(context.Background())
			t.Errorf("New accepted the option that should give %q", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want it to contain %q", err, tc.want)
		}
		if strings.Contains(err.Error(), "ext-secret") {
			t.Errorf("New's error shows the external ID: %v", err)
		}
	}
}

// TestOptionOverridesUnparsableEnv: each option for an integer or duration setting wins
// over its environment variable even when that does not parse, and without the option the
// variable is refused with its range.
func TestOptionOverridesUnparsableEnv(t *testing.T) {
	cases := []struct {
		name  string
		opt   otelkinesis.Option
		check func(config.Config) bool
	}{
		{"AGGREGATE_BATCH_COUNT", otelkinesis.WithAggregateBatchCount(7), func(c config.Config) bool { return c.Producer.AggregateBatchCount == 7 }},
		{"AGGREGATE_BATCH_SIZE", otelkinesis.WithAggregateBatchSize(7000), func(c config.Config) bool { return c.Producer.AggregateBatchSize == 7000 }},
		{"BATCH_SIZE", otelkinesis.WithBatchSize(70000), func(c config.Config) bool { return c.Producer.BatchSize == 70000 }},
		{"BATCH_COUNT", otelkinesis.WithBatchCount(100), func(c config.Config) bool { return c.Producer.BatchCount == 100 }},
		{"BACKLOG_COUNT", otelkinesis.WithBacklogCount(70), func(c config.Config) bool { return c.Producer.BacklogCount == 70 }},
		{"FLUSH_INTERVAL", otelkinesis.WithFlushInterval(7 * time.Millisecond), func(c config.Config) bool { return c.Producer.FlushInterval == 7*time.Millisecond }},
		{"MAX_CONNECTIONS", otelkinesis.WithMaxConnections(7), func(c config.Config) bool { return c.Producer.MaxConnections == 7 }},
		{"MAX_RETRIES", otelkinesis.WithMaxRetries(7), func(c config.Config) bool { return c.Producer.MaxRetries == 7 }},
		{"MAX_BACKOFF", otelkinesis.WithMaxBackoff(7 * time.Second), func(c config.Config) bool { return c.Producer.MaxBackoff == 7*time.Second }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearKinesisEnv(t)
			t.Setenv(config.EnvName(config.Traces, tc.name), "lots")
			c, err := config.Load(config.Traces, config.TraceOptions([]kinesistrace.Option{otelkinesis.WithStreamName("s"), tc.opt}))
			if err != nil {
				t.Fatalf("Load with the option = %v, want the option to win", err)
			}
			if !tc.check(c) {
				t.Errorf("the option's value was not used: %+v", c.Producer)
			}
			_, err = config.Load(config.Traces, config.TraceOptions([]kinesistrace.Option{otelkinesis.WithStreamName("s")}))
			if err == nil || !strings.Contains(err.Error(), config.EnvName(config.Traces, tc.name)+`=lots: not a`) || !strings.Contains(err.Error(), "; allowed ") {
				t.Errorf("Load without the option = %v, want the variable refused with its range", err)
			}
		})
	}
}

// TestNewOptionOverridesUnparsableEnv: New succeeds with an unparsable
// OTEL_EXPORTER_KINESIS_BATCH_COUNT when WithBatchCount sets the batch count, and spans
// still arrive; without the option New refuses the variable, with the setting's range.
func TestNewOptionOverridesUnparsableEnv(t *testing.T) {
	clearKinesisEnv(t)
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("override", 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "override")
	t.Setenv("OTEL_EXPORTER_KINESIS_ENDPOINT", srv.URL())
	t.Setenv("OTEL_EXPORTER_KINESIS_BATCH_COUNT", "many")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_PROFILE", "")

	ctx := context.Background()
	_, err := kinesistrace.New(ctx)
	want := `otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_BATCH_COUNT=many: not a whole number; allowed 1 to 500 (option WithBatchCount)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("New without the option = %v, want %q", err, want)
	}

	exp, err := kinesistrace.New(ctx, otelkinesis.WithBatchCount(100))
	if err != nil {
		t.Fatalf("New with WithBatchCount(100) = %v", err)
	}
	if err := exp.ExportSpans(ctx, tracetestSpans(3)); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if seen := readSpans(t, srv, "override"); len(seen) != 3 {
		t.Fatalf("read %d spans, want 3", len(seen))
	}
}
