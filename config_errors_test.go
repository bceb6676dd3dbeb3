package otelkinesis_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// clearKinesisEnv removes, for the rest of t, every OTEL_EXPORTER_KINESIS_ and AWS_
// variable, and points the AWS shared configuration files nowhere, so that the machine's
// environment cannot leak in.
func clearKinesisEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_EXPORTER_KINESIS_") || strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// Phrases the expected errors share.
const (
	tracesPrefix  = "otelkinesis: traces exporter: "
	regionAllowed = "allowed a region name such as us-east-1: 1 to 63 lower-case letters, digits and hyphens, " +
		"starting with a letter and not ending with a hyphen"
	streamNameAllowed = "allowed 1 to 128 characters of a-z A-Z 0-9 _ . -"
	streamARNAllowed  = "allowed arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME"
	endpointAllowed   = "allowed an http:// or https:// URL with a host"
	notWhole          = "not a whole number"
	notDuration       = "not a duration (a whole number of milliseconds, or a Go duration such as 5s)"
)

// TestConfigurationErrors holds the text of every configuration error New can return: for
// each setting, a value out of range from its option and from its variable, and a value of
// the variable that does not parse. Each names where the value came from (the option with
// its arguments, or the variable with its value as written), what is wrong, what is
// allowed and the other way to set the setting, after one prefix naming the constructor.
func TestConfigurationErrors(t *testing.T) {
	stream := otelkinesis.WithStreamName("s")
	cases := []struct {
		name string
		env  map[string]string // OTEL_EXPORTER_KINESIS_ + key
		opts []kinesistrace.Option
		want string
	}{
		// The stream.
		{name: "no stream", want: tracesPrefix + "no stream: set one with WithStreamName or WithStreamARN, " +
			"or OTEL_EXPORTER_KINESIS_STREAM_NAME or OTEL_EXPORTER_KINESIS_STREAM_ARN"},
		{name: "stream name option", opts: opts(otelkinesis.WithStreamName("bad name!")),
			want: tracesPrefix + `WithStreamName("bad name!"): not a stream name; ` + streamNameAllowed + " (variable OTEL_EXPORTER_KINESIS_STREAM_NAME)"},
		{name: "stream name variable", env: map[string]string{"STREAM_NAME": "bad name!"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_STREAM_NAME='bad name!': not a stream name; " + streamNameAllowed + " (option WithStreamName)"},
		{name: "stream name too long", env: map[string]string{"TRACES_STREAM_NAME": strings.Repeat("s", 129)},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_TRACES_STREAM_NAME=" + strings.Repeat("s", 129) + ": not a stream name; " +
				streamNameAllowed + " (option WithStreamName)"},
		{name: "stream ARN option", opts: opts(otelkinesis.WithStreamARN("arn:aws:s3:::bucket")),
			want: tracesPrefix + `WithStreamARN("arn:aws:s3:::bucket"): not a Kinesis stream ARN; ` + streamARNAllowed + " (variable OTEL_EXPORTER_KINESIS_STREAM_ARN)"},
		{name: "stream ARN variable", env: map[string]string{"STREAM_ARN": "arn:aws:kinesis:us-east-1:1:table/s"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_STREAM_ARN=arn:aws:kinesis:us-east-1:1:table/s: not a Kinesis stream ARN; " +
				streamARNAllowed + " (option WithStreamARN)"},
		{name: "stream ARN region", opts: opts(otelkinesis.WithStreamARN("arn:aws:kinesis:US-EAST-1:1:stream/s")),
			want: tracesPrefix + `WithStreamARN("arn:aws:kinesis:US-EAST-1:1:stream/s"): its region "US-EAST-1" is not an AWS region name; ` +
				regionAllowed + " (variable OTEL_EXPORTER_KINESIS_STREAM_ARN)"},
		{name: "two streams", opts: opts(otelkinesis.WithStreamName("a"), otelkinesis.WithStreamARN("arn:aws:kinesis:us-east-1:1:stream/b")),
			want: tracesPrefix + `WithStreamName("a") and WithStreamARN("arn:aws:kinesis:us-east-1:1:stream/b") name different streams: ` +
				"give one, or both forms of the same stream"},

		// AWS.
		{name: "endpoint option", opts: opts(stream, otelkinesis.WithEndpointURL("127.0.0.1:4567")),
			want: tracesPrefix + `WithEndpointURL("127.0.0.1:4567"): not an endpoint URL; ` + endpointAllowed + " (variable OTEL_EXPORTER_KINESIS_ENDPOINT)"},
		{name: "deprecated endpoint option", opts: opts(stream, otelkinesis.WithEndpoint("localhost:4567")),
			want: tracesPrefix + `WithEndpoint("localhost:4567"): not an endpoint URL; ` + endpointAllowed + " (variable OTEL_EXPORTER_KINESIS_ENDPOINT)"},
		{name: "endpoint variable", opts: opts(stream), env: map[string]string{"TRACES_ENDPOINT": "ftp://x"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_TRACES_ENDPOINT=ftp://x: not an endpoint URL; " + endpointAllowed + " (option WithEndpointURL)"},
		{name: "region option", opts: opts(stream, otelkinesis.WithRegion("US-EAST-1")),
			want: tracesPrefix + `WithRegion("US-EAST-1"): not an AWS region name; ` + regionAllowed + " (variable OTEL_EXPORTER_KINESIS_REGION)"},
		{name: "region variable", opts: opts(stream), env: map[string]string{"REGION": "us east 1"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_REGION='us east 1': not an AWS region name; " + regionAllowed + " (option WithRegion)"},
		{name: "role option", opts: opts(stream, otelkinesis.WithRole("arn:aws:iam::1:user/u", "the-external-secret")),
			want: tracesPrefix + `WithRole("arn:aws:iam::1:user/u", <not shown>): not an IAM role ARN; ` +
				"allowed arn:PARTITION:iam::ACCOUNT:role/NAME (variable OTEL_EXPORTER_KINESIS_ROLE_ARN)"},
		{name: "role variable", opts: opts(stream), env: map[string]string{"ROLE_ARN": "role/r"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_ROLE_ARN=role/r: not an IAM role ARN; allowed arn:PARTITION:iam::ACCOUNT:role/NAME (option WithRole)"},
		{name: "external ID option", opts: opts(stream, otelkinesis.WithRole("", "the-external-secret")),
			want: tracesPrefix + `WithRole("", <not shown>): an external ID without a role to assume (variable OTEL_EXPORTER_KINESIS_ROLE_ARN)`},
		{name: "external ID variable", opts: opts(stream), env: map[string]string{"EXTERNAL_ID": "the-external-secret"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_EXTERNAL_ID (value not shown): an external ID without a role to assume " +
				"(option WithRole, variable OTEL_EXPORTER_KINESIS_ROLE_ARN)"},

		// The exporter's records.
		{name: "encoding option", opts: opts(stream, otelkinesis.WithEncoding("otlp_xml")),
			want: tracesPrefix + `WithEncoding("otlp_xml"): not an encoding; allowed otlp_proto or otlp_json (variable OTEL_EXPORTER_KINESIS_ENCODING)`},
		{name: "encoding variable", opts: opts(stream), env: map[string]string{"ENCODING": "XML"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_ENCODING=XML: not an encoding; allowed otlp_proto or otlp_json (option WithEncoding)"},
		{name: "compression option", opts: opts(stream, otelkinesis.WithCompression("lz4")),
			want: tracesPrefix + `WithCompression("lz4"): not a compression; allowed none, gzip or zstd (variable OTEL_EXPORTER_KINESIS_COMPRESSION)`},
		{name: "compression variable", opts: opts(stream), env: map[string]string{"TRACES_COMPRESSION": "brotli"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_TRACES_COMPRESSION=brotli: not a compression; allowed none, gzip or zstd (option WithCompression)"},
		{name: "partitioning option", opts: opts(stream, otelkinesis.WithPartitionBy("span_id")),
			want: tracesPrefix + `WithPartitionBy("span_id"): not a partitioning; allowed trace_id, resource, random or shard (variable OTEL_EXPORTER_KINESIS_PARTITION_BY)`},
		{name: "partitioning variable", opts: opts(stream), env: map[string]string{"PARTITION_BY": "span id"},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_PARTITION_BY='span id': not a partitioning; allowed trace_id, resource, random or shard (option WithPartitionBy)"},
	}

	// The producer's numeric settings: from the option, from the variable out of range,
	// and from a variable whose value does not parse.
	for _, n := range []struct {
		option, env      string
		opt              otelkinesis.Option
		optArg           string
		outOfRange       string
		unparsable, why  string
		allowed          string
		optionOnly, dura bool
	}{
		{"WithAggregateBatchCount", "AGGREGATE_BATCH_COUNT", otelkinesis.WithAggregateBatchCount(0), "0", "4294967296", "many", notWhole, "1 to 4294967295", false, false},
		{"WithAggregateBatchSize", "AGGREGATE_BATCH_SIZE", otelkinesis.WithAggregateBatchSize(0), "0", "10485761", "50KB", notWhole, "1 to 10485760", false, false},
		{"WithBatchSize", "BATCH_SIZE", otelkinesis.WithBatchSize(10485761), "10485761", "0", "5MiB", notWhole, "1 to 10485760", false, false},
		{"WithBatchCount", "BATCH_COUNT", otelkinesis.WithBatchCount(501), "501", "1000", "1e3", notWhole, "1 to 500", false, false},
		{"WithBacklogCount", "BACKLOG_COUNT", otelkinesis.WithBacklogCount(0), "0", "-1", "lots", notWhole, "1 to 2147483647", false, false},
		{"WithBacklogBytes", "", otelkinesis.WithBacklogBytes(10), "10", "", "", "", "1024 to 1099511627776", true, false},
		{"WithFlushInterval", "FLUSH_INTERVAL", otelkinesis.WithFlushInterval(0), "0s", "0", "soon", notDuration, "1ms to 1h", false, true},
		{"WithMaxConnections", "MAX_CONNECTIONS", otelkinesis.WithMaxConnections(1025), "1025", "0", "24.5", notWhole, "1 to 1024", false, false},
		{"WithMaxRetries", "MAX_RETRIES", otelkinesis.WithMaxRetries(-1), "-1", "-1", "ten", notWhole, "0 to 100", false, false},
		{"WithMaxBackoff", "MAX_BACKOFF", otelkinesis.WithMaxBackoff(2 * time.Hour), "2h", "2h", "1 minute", notDuration, "1ms to 1h", false, true},
		{"WithRecordTTL", "RECORD_TTL", otelkinesis.WithRecordTTL(time.Millisecond), "1ms", "25h", "forever", notDuration, "100ms to 24h", false, true},
		{"WithRequestTimeout", "TIMEOUT", otelkinesis.WithRequestTimeout(0), "0s", "3600001", "30 s", notDuration, "1ms to 1h", false, true},
		{"WithRateLimit", "", otelkinesis.WithRateLimit(1001), "1001", "", "", "", "1 to 1000", true, false},
	} {
		other := ""
		if !n.optionOnly {
			other = " (variable OTEL_EXPORTER_KINESIS_" + n.env + ")"
		}
		cases = append(cases, struct {
			name string
			env  map[string]string
			opts []kinesistrace.Option
			want string
		}{name: n.option + " option", opts: opts(stream, n.opt),
			want: tracesPrefix + n.option + "(" + n.optArg + "): out of range; allowed " + n.allowed + other})
		if n.optionOnly {
			continue
		}
		cases = append(cases, struct {
			name string
			env  map[string]string
			opts []kinesistrace.Option
			want string
		}{name: n.env + " out of range", opts: opts(stream), env: map[string]string{n.env: n.outOfRange},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_" + n.env + "=" + n.outOfRange + ": out of range; allowed " + n.allowed +
				" (option " + n.option + ")"})
		quoted := n.unparsable
		if strings.Contains(quoted, " ") {
			quoted = "'" + quoted + "'"
		}
		cases = append(cases, struct {
			name string
			env  map[string]string
			opts []kinesistrace.Option
			want string
		}{name: n.env + " unparsable", opts: opts(stream), env: map[string]string{"TRACES_" + n.env: n.unparsable},
			want: tracesPrefix + "OTEL_EXPORTER_KINESIS_TRACES_" + n.env + "=" + quoted + ": " + n.why + "; allowed " + n.allowed +
				" (option " + n.option + ")"})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearKinesisEnv(t)
			for k, v := range tc.env {
				t.Setenv("OTEL_EXPORTER_KINESIS_"+k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			exp, err := kinesistrace.New(ctx, tc.opts...)
			if err == nil {
				_ = exp.Shutdown(ctx)
				t.Fatalf("New accepted the configuration; want\n%s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("New:\n%v\nwant\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "the-external-secret") {
				t.Errorf("the error shows the external ID: %v", err)
			}
		})
	}
}

// TestConfigurationErrorsOfEachConstructor: each constructor's errors start with its name,
// once, and so do those found when the Kinesis client is built (the region).
func TestConfigurationErrorsOfEachConstructor(t *testing.T) {
	clearKinesisEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("s"), otelkinesis.WithBatchCount(0))
	if want := "otelkinesis: producer: WithBatchCount(0): out of range; allowed 1 to 500 (variable OTEL_EXPORTER_KINESIS_BATCH_COUNT)"; err == nil || err.Error() != want {
		t.Errorf("NewProducer:\n%v\nwant\n%s", err, want)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_MAX_RETRIES", "-1")
	_, err = kinesismetric.New(ctx, otelkinesis.WithStreamName("s"))
	if want := "otelkinesis: metrics exporter: OTEL_EXPORTER_KINESIS_METRICS_MAX_RETRIES=-1: out of range; allowed 0 to 100 (option WithMaxRetries)"; err == nil || err.Error() != want {
		t.Errorf("metric.New:\n%v\nwant\n%s", err, want)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_MAX_RETRIES", "")
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", "sometimes")
	_, err = kinesismetric.New(ctx, otelkinesis.WithStreamName("s"))
	if want := "otelkinesis: metrics exporter: OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE=sometimes: " +
		"not a temporality preference; allowed cumulative, delta or lowmemory (option WithTemporalitySelector)"; err == nil || err.Error() != want {
		t.Errorf("metric.New:\n%v\nwant\n%s", err, want)
	}
	if _, err = kinesismetric.New(ctx, otelkinesis.WithStreamName("s"), kinesismetric.WithTemporalitySelector(nil),
		otelkinesis.WithBatchCount(0)); err == nil || strings.Contains(err.Error(), "TEMPORALITY") {
		t.Errorf("metric.New with WithTemporalitySelector: %v, want the variable not read", err)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", "")

	// No region anywhere: refused when the client is built, with every way to give one.
	_, err = otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("s"))
	if want := "otelkinesis: producer: no AWS region: set one with WithRegion, OTEL_EXPORTER_KINESIS_REGION or AWS_REGION, " +
		"or give a stream ARN (WithStreamARN, OTEL_EXPORTER_KINESIS_STREAM_ARN)"; err == nil || err.Error() != want {
		t.Errorf("NewProducer without a region:\n%v\nwant\n%s", err, want)
	}
	t.Setenv("AWS_REGION", "US East 1")
	_, err = kinesistrace.New(ctx, otelkinesis.WithStreamName("s"))
	if want := `otelkinesis: traces exporter: region from AWS_REGION or the AWS shared configuration "US East 1": not an AWS region name; ` +
		regionAllowed + " (set another with WithRegion or OTEL_EXPORTER_KINESIS_REGION)"; err == nil || err.Error() != want {
		t.Errorf("trace.New with AWS_REGION=US East 1:\n%v\nwant\n%s", err, want)
	}

	// Several errors: a line each, each with the prefix.
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_BATCH_COUNT", "0")
	_, err = kinesistrace.New(ctx, otelkinesis.WithStreamName("bad name!"), otelkinesis.WithMaxRetries(101))
	if err == nil {
		t.Fatal("New accepted three invalid settings")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%v", len(lines), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, tracesPrefix) || strings.Count(l, "otelkinesis:") != 1 {
			t.Errorf("line %q does not start with %q alone", l, tracesPrefix)
		}
	}
}

func opts(o ...kinesistrace.Option) []kinesistrace.Option { return o }
