package config

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// clearEnv removes every OTEL_EXPORTER_KINESIS_ variable and the AWS ones these tests use,
// so the machine's environment cannot leak in.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, s := range settings {
		if s.env == "" {
			continue
		}
		t.Setenv(EnvPrefix+s.env, "")
		for _, sig := range []Signal{Traces, Metrics, Logs} {
			t.Setenv(EnvName(sig, s.env), "")
		}
	}
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent-otelkinesis-test")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent-otelkinesis-test")
}

// inCode returns an option that changes the Config through set and takes the place of the
// environment variables of settings.
func inCode(set func(*Config), settings ...string) *Option {
	return &Option{Name: "WithTest", Set: set, Settings: settings}
}

// load is Load with its options as arguments.
func load(signal Signal, opts ...*Option) (Config, error) { return Load(signal, opts) }

func TestDefaults(t *testing.T) {
	clearEnv(t)
	c, err := load(Traces, inCode(func(c *Config) { c.Producer.StreamName = "s" }))
	if err != nil {
		t.Fatal(err)
	}
	if c.Encoding != EncodingProto || c.Compression != CompressionNone || c.PartitionBy != PartitionByTraceID {
		t.Errorf("defaults: %v %v %v", c.Encoding, c.Compression, c.PartitionBy)
	}
	want := kpl.DefaultConfig()
	want.StreamName = "s"
	if c.Producer.AggregateBatchSize != 51200 || c.Producer.BatchCount != 500 || c.Producer.BatchSize != 5242880 ||
		c.Producer.BacklogCount != 2000 || c.Producer.FlushInterval != 5*time.Second || c.Producer.MaxConnections != 24 ||
		c.Producer.MaxRetries != 10 || c.Producer.MaxBackoff != 60*time.Second || c.Producer.AggregateBatchCount != 4294967295 {
		t.Errorf("producer defaults differ from the documented ones: %+v", c.Producer)
	}
}

// TestEnvPrecedence: an option in code beats the signal-specific variable, which beats the
// shared one, which beats the default.
func TestEnvPrecedence(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "shared")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_STREAM_NAME", "traces")
	t.Setenv("OTEL_EXPORTER_KINESIS_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_KINESIS_LOGS_COMPRESSION", "zstd")
	t.Setenv("OTEL_EXPORTER_KINESIS_MAX_RETRIES", "3")
	t.Setenv("OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL", "250")
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_FLUSH_INTERVAL", "2s")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_PARTITION_BY", "Shard")

	tr, err := load(Traces)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Producer.StreamName != "traces" || tr.Compression != CompressionGzip || tr.Producer.MaxRetries != 3 ||
		tr.Producer.FlushInterval != 250*time.Millisecond || tr.PartitionBy != PartitionByShard {
		t.Errorf("traces: %+v %+v", tr, tr.Producer)
	}
	lg, err := load(Logs)
	if err != nil {
		t.Fatal(err)
	}
	if lg.Producer.StreamName != "shared" || lg.Compression != CompressionZstd || lg.PartitionBy != PartitionByTraceID {
		t.Errorf("logs: stream %q compression %q", lg.Producer.StreamName, lg.Compression)
	}
	mt, err := load(Metrics, inCode(func(c *Config) { c.Producer.StreamName = "code" }))
	if err != nil {
		t.Fatal(err)
	}
	if mt.Producer.StreamName != "code" || mt.Producer.FlushInterval != 2*time.Second {
		t.Errorf("metrics: stream %q flush %v", mt.Producer.StreamName, mt.Producer.FlushInterval)
	}
}

// TestInvalidSettings: every invalid value of a variable is refused, naming the variable,
// its value as written, what is wrong, what is allowed and the option of the setting.
func TestInvalidSettings(t *testing.T) {
	const region = "allowed a region name such as us-east-1: 1 to 63 lower-case letters, digits and hyphens, " +
		"starting with a letter and not ending with a hyphen"
	cases := []struct {
		env, value string
		want       string // after "otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_"
	}{
		{"ENCODING", "otlp_xml", "ENCODING=otlp_xml: not an encoding; allowed otlp_proto or otlp_json (option WithEncoding)"},
		{"ENCODING", "OTLP_XML", "ENCODING=OTLP_XML: not an encoding; allowed otlp_proto or otlp_json (option WithEncoding)"},
		{"COMPRESSION", "lz4", "COMPRESSION=lz4: not a compression; allowed none, gzip or zstd (option WithCompression)"},
		{"PARTITION_BY", "span_id", "PARTITION_BY=span_id: not a partitioning; allowed trace_id, resource, random or shard (option WithPartitionBy)"},
		{"AGGREGATE_BATCH_COUNT", "0", "AGGREGATE_BATCH_COUNT=0: out of range; allowed 1 to 4294967295 (option WithAggregateBatchCount)"},
		{"AGGREGATE_BATCH_SIZE", "x", "AGGREGATE_BATCH_SIZE=x: not a whole number; allowed 1 to 10485760 (option WithAggregateBatchSize)"},
		{"AGGREGATE_BATCH_SIZE", "20000000", "AGGREGATE_BATCH_SIZE=20000000: out of range; allowed 1 to 10485760 (option WithAggregateBatchSize)"},
		{"BATCH_SIZE", "10485761", "BATCH_SIZE=10485761: out of range; allowed 1 to 10485760 (option WithBatchSize)"},
		{"BATCH_COUNT", "1000", "BATCH_COUNT=1000: out of range; allowed 1 to 500 (option WithBatchCount)"},
		{"BACKLOG_COUNT", "-1", "BACKLOG_COUNT=-1: out of range; allowed 1 to 2147483647 (option WithBacklogCount)"},
		{"FLUSH_INTERVAL", "soon", "FLUSH_INTERVAL=soon: not a duration (a whole number of milliseconds, or a Go duration such as 5s); " +
			"allowed 1ms to 1h (option WithFlushInterval)"},
		{"FLUSH_INTERVAL", "0", "FLUSH_INTERVAL=0: out of range; allowed 1ms to 1h (option WithFlushInterval)"},
		{"FLUSH_INTERVAL", "9223372036855", "FLUSH_INTERVAL=9223372036855: too many milliseconds for a duration; allowed 1ms to 1h (option WithFlushInterval)"},
		{"MAX_BACKOFF", "99999999999999999999", "MAX_BACKOFF=99999999999999999999: too many milliseconds for a duration; allowed 1ms to 1h (option WithMaxBackoff)"},
		{"MAX_CONNECTIONS", "0", "MAX_CONNECTIONS=0: out of range; allowed 1 to 1024 (option WithMaxConnections)"},
		{"MAX_RETRIES", "101", "MAX_RETRIES=101: out of range; allowed 0 to 100 (option WithMaxRetries)"},
		{"MAX_RETRIES", "-1", "MAX_RETRIES=-1: out of range; allowed 0 to 100 (option WithMaxRetries)"},
		{"MAX_BACKOFF", "2h", "MAX_BACKOFF=2h: out of range; allowed 1ms to 1h (option WithMaxBackoff)"},
		{"RECORD_TTL", "50ms", "RECORD_TTL=50ms: out of range; allowed 100ms to 24h (option WithRecordTTL)"},
		{"STREAM_ARN", "arn:aws:s3:::bucket", "STREAM_ARN=arn:aws:s3:::bucket: not a Kinesis stream ARN; " +
			"allowed arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME (option WithStreamARN)"},
		{"STREAM_ARN", "arn:aws:kinesis:BAD REGION!:1:stream/s", `STREAM_ARN='arn:aws:kinesis:BAD REGION!:1:stream/s': ` +
			`its region "BAD REGION!" is not an AWS region name; ` + region + " (option WithStreamARN)"},
		{"STREAM_NAME", "bad name!", "STREAM_NAME='bad name!': not a stream name; allowed 1 to 128 characters of a-z A-Z 0-9 _ . - (option WithStreamName)"},
		{"ENDPOINT", "127.0.0.1:4567", "ENDPOINT=127.0.0.1:4567: not an endpoint URL; allowed an http:// or https:// URL with a host (option WithEndpointURL)"},
		{"ENDPOINT", "http://", "ENDPOINT=http://: not an endpoint URL; allowed an http:// or https:// URL with a host (option WithEndpointURL)"},
		{"ENDPOINT", "https://exa mple", "ENDPOINT='https://exa mple': not an endpoint URL; allowed an http:// or https:// URL with a host (option WithEndpointURL)"},
		{"EXTERNAL_ID", "abc", "EXTERNAL_ID (value not shown): an external ID without a role to assume (option WithRole, variable OTEL_EXPORTER_KINESIS_ROLE_ARN)"},
		{"REGION", "not a region!", "REGION='not a region!': not an AWS region name; " + region + " (option WithRegion)"},
		{"ROLE_ARN", "garbage", "ROLE_ARN=garbage: not an IAM role ARN; allowed arn:PARTITION:iam::ACCOUNT:role/NAME (option WithRole)"},
	}
	for _, tc := range cases {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "STREAM_NAME" {
				t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
			}
			t.Setenv("OTEL_EXPORTER_KINESIS_"+tc.env, tc.value)
			_, err := load(Traces)
			if want := "otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_" + tc.want; err == nil || err.Error() != want {
				t.Errorf("error\n%v\nwant\n%s", err, want)
			}
		})
	}
	t.Run("no stream", func(t *testing.T) {
		clearEnv(t)
		_, err := load(Traces)
		if err == nil || !strings.Contains(err.Error(), "stream") {
			t.Fatalf("err = %v, want a missing stream error", err)
		}
	})
}

// TestMarshalLogRedacts: neither the external ID nor credentials are ever printed.
func TestMarshalLogRedacts(t *testing.T) {
	awsCfg := aws.Config{Credentials: credentials.NewStaticCredentialsProvider("AKIDSECRET", "very-secret-key", "token-secret")}
	c := Default(Traces)
	c.Producer.StreamName = "s"
	c.RoleARN = "arn:aws:iam::123456789012:role/r"
	c.ExternalID = "external-secret"
	c.AWSConfig = &awsCfg
	for _, text := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c.MarshalLog()), c.String()} {
		for _, secret := range []string{"external-secret", "AKIDSECRET", "very-secret-key", "token-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows %q", text, secret)
			}
		}
		if !strings.Contains(text, "role/r") {
			t.Errorf("%q does not show the role", text)
		}
	}
}

// TestRegion: the exporter's region wins, then AWS_REGION, then the stream ARN's region; no
// region at all is a clear error, and so is a region from AWS_REGION or an aws.Config that
// is not a region name.
func TestRegion(t *testing.T) {
	ctx := context.Background()
	clearEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	c := Default(Traces)
	c.Producer.StreamARN = "arn:aws:kinesis:eu-west-3:123456789012:stream/s"
	cfg, err := c.AWS(ctx)
	if err != nil || cfg.Region != "eu-west-3" {
		t.Errorf("ARN region: %q, %v", cfg.Region, err)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	if cfg, _ = c.AWS(ctx); cfg.Region != "ap-south-1" {
		t.Errorf("AWS_REGION: %q", cfg.Region)
	}
	c.Region = "us-west-2"
	if cfg, _ = c.AWS(ctx); cfg.Region != "us-west-2" {
		t.Errorf("Region: %q", cfg.Region)
	}
	t.Setenv("AWS_REGION", "")
	c = Default(Traces)
	c.Producer.StreamName = "s"
	if _, err := c.AWS(ctx); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("no region: %v", err)
	}

	// A region the SDK finds (AWS_REGION) or that the caller's aws.Config brings is
	// checked when the client is built, naming where it came from.
	t.Setenv("AWS_REGION", "US East 1")
	_, err = c.AWS(ctx)
	if err == nil || !strings.Contains(err.Error(), `region from AWS_REGION or the AWS shared configuration "US East 1": not an AWS region name; allowed`) {
		t.Errorf("AWS_REGION: err = %v", err)
	}
	c.Region = "eu-west-1" // a region of our own wins, and was validated by Load
	if cfg, err := c.AWS(ctx); err != nil || cfg.Region != "eu-west-1" {
		t.Errorf("own region over a bad AWS_REGION: %q, %v", cfg.Region, err)
	}
	c.Region = ""
	c.AWSConfig = &aws.Config{Region: "nowhere!"}
	if _, err := c.AWS(ctx); err == nil || !strings.Contains(err.Error(), `region of the aws.Config given to WithAWSConfig "nowhere!": not an AWS region name`) {
		t.Errorf("aws.Config region: err = %v", err)
	}
}

// TestAssumeRole: with a role ARN and external ID the Kinesis calls are signed with the
// credentials STS returned for that role; the STS request names both.
func TestAssumeRole(t *testing.T) {
	clearEnv(t)
	var mu sync.Mutex
	var stsForm url.Values
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		stsForm, _ = url.ParseQuery(string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>roletoken</SessionToken>
<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/otelkinesis</Arn>
<AssumedRoleId>AROA:otelkinesis</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "basesecret")
	t.Setenv("AWS_REGION", "us-east-1")

	c := Default(Traces)
	c.Producer.StreamName = "s"
	c.RoleARN = "arn:aws:iam::123456789012:role/r"
	c.ExternalID = "ext-42"
	cfg, err := c.AWS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAROLE" || creds.SessionToken != "roletoken" {
		t.Errorf("credentials %q/%q, want the assumed role's", creds.AccessKeyID, creds.SessionToken)
	}
	mu.Lock()
	defer mu.Unlock()
	if stsForm.Get("Action") != "AssumeRole" || stsForm.Get("RoleArn") != c.RoleARN || stsForm.Get("ExternalId") != "ext-42" {
		t.Errorf("STS request %v", stsForm)
	}
}

func TestEnvErrorsJoined(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	t.Setenv("OTEL_EXPORTER_KINESIS_BATCH_COUNT", "many")
	t.Setenv("OTEL_EXPORTER_KINESIS_ENCODING", "xml")
	_, err := load(Traces)
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_KINESIS_BATCH_COUNT") || !strings.Contains(err.Error(), `ENCODING=xml`) {
		t.Fatalf("want both errors, got %v", err)
	}
}

// TestEnvParseErrorsSayTheRange: every integer and duration variable that does not parse is
// refused with its name, its value and the setting's range, in the words of kpl's Validate.
func TestEnvParseErrorsSayTheRange(t *testing.T) {
	clearEnv(t)
	numeric := 0
	for _, s := range settings {
		c := Default(Traces)
		if s.parse == nil || s.parse(&c, "lots") == nil || s.parse(&c, "7") != nil {
			continue // a string setting
		}
		numeric++
		allowed := kpl.Allowed(s.name)
		if allowed == "" {
			t.Errorf("%s: kpl.Allowed(%q) is empty", s.env, s.name)
			continue
		}
		t.Setenv(EnvPrefix+s.env, "lots")
		_, err := load(Traces, inCode(func(c *Config) { c.Producer.StreamName = "s" }))
		want := fmt.Sprintf(`otelkinesis: traces exporter: %s%s=lots: not a `, EnvPrefix, s.env)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "; allowed "+allowed+" (option "+s.option+")") {
			t.Errorf("%s=lots: err = %v, want %q and the range %q", s.env, err, want, allowed)
		}
		t.Setenv(EnvPrefix+s.env, "")
	}
	if numeric != 11 {
		t.Errorf("%d integer and duration settings, want the 11 of the README's settings table", numeric)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_MAX_RETRIES", "lots")
	_, err := load(Traces, inCode(func(c *Config) { c.Producer.StreamName = "s" }))
	if want := `otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_MAX_RETRIES=lots: not a whole number; allowed 0 to 100 (option WithMaxRetries)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestOptionWinsOverUnparsableEnv: an option made with Setting wins over the environment
// even when the variable's value does not parse; without such an option that value is an
// error, and so it is for an option that does not name the setting.
func TestOptionWinsOverUnparsableEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	t.Setenv("OTEL_EXPORTER_KINESIS_BATCH_COUNT", "many")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_MAX_BACKOFF", "long")
	batchCount := inCode(func(c *Config) { c.Producer.BatchCount = 100 }, "batch_count")
	maxBackoff := inCode(func(c *Config) { c.Producer.MaxBackoff = time.Second }, "max_backoff")

	c, err := load(Traces, batchCount, maxBackoff)
	if err != nil {
		t.Fatal(err)
	}
	if c.Producer.BatchCount != 100 || c.Producer.MaxBackoff != time.Second {
		t.Errorf("batch count %d, max backoff %v: want the options' 100 and 1s", c.Producer.BatchCount, c.Producer.MaxBackoff)
	}

	_, err = load(Traces, batchCount)
	if err == nil || strings.Contains(err.Error(), "BATCH_COUNT") || !strings.Contains(err.Error(), `OTEL_EXPORTER_KINESIS_TRACES_MAX_BACKOFF=long`) {
		t.Errorf("err = %v, want only the max backoff refused", err)
	}
	_, err = load(Traces, inCode(func(c *Config) { c.Producer.BatchCount = 100 }), maxBackoff)
	if err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_KINESIS_BATCH_COUNT=many`) {
		t.Errorf("err = %v, want the batch count refused: the option does not name it", err)
	}

	// An option for two settings names both.
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	t.Setenv("OTEL_EXPORTER_KINESIS_BATCH_COUNT", "many")
	t.Setenv("OTEL_EXPORTER_KINESIS_MAX_RETRIES", "lots")
	both := inCode(func(c *Config) { c.Producer.BatchCount, c.Producer.MaxRetries = 7, 3 }, "batch_count", "max_retries")
	if c, err := load(Traces, both); err != nil || c.Producer.BatchCount != 7 || c.Producer.MaxRetries != 3 {
		t.Errorf("batch count %d, max retries %d, err %v: want 7, 3, nil", c.Producer.BatchCount, c.Producer.MaxRetries, err)
	}
}

// TestRegionAndRoleValidated: a region that is not an AWS region name and a role ARN that is
// not an IAM role's are refused, from the environment or an option, naming the setting, the
// value and what is allowed; the external ID never appears in the error.
func TestRegionAndRoleValidated(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	region := func(r string) *Option {
		return &Option{Name: "WithRegion", Args: []any{r}, Settings: []string{"region"}, Set: func(c *Config) { c.Region = r }}
	}
	role := func(arn, id string) *Option {
		return &Option{Name: "WithRole", Args: []any{arn, Secret(id)}, Settings: []string{"role_arn", "external_id"},
			Set: func(c *Config) { c.RoleARN, c.ExternalID = arn, id }}
	}
	for _, r := range []string{"us-east-1", "us-gov-west-1", "cn-northwest-1", "eu-isoe-west-1", "local"} {
		if _, err := load(Traces, region(r)); err != nil {
			t.Errorf("region %q refused: %v", r, err)
		}
	}
	for _, r := range []string{"not a region!", "US-EAST-1", "1us-east", "us-east-1-", "us.east.1", "us_east_1", strings.Repeat("a", 64)} {
		_, err := load(Traces, region(r))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("WithRegion(%q): not an AWS region name; allowed a region name such as us-east-1", r)) {
			t.Errorf("region %q: err = %v", r, err)
		}
	}
	for _, a := range []string{"arn:aws:iam::123456789012:role/r", "arn:aws-cn:iam::123456789012:role/path/to/r",
		"arn:aws:iam::123456789012:role/aws-service-role/kinesis.amazonaws.com/r"} {
		if _, err := load(Traces, role(a, "ext")); err != nil {
			t.Errorf("role %q refused: %v", a, err)
		}
	}
	for _, a := range []string{"garbage", "arn:aws:iam::123456789012:user/u", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:role/",
		"arn:aws:iam:us-east-1:123456789012:role/r", "arn:aws:iam:::role/r", "arn::iam::123456789012:role/r"} {
		_, err := load(Traces, role(a, "the-external-secret"))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("WithRole(%q, <not shown>): not an IAM role ARN; allowed arn:PARTITION:iam::ACCOUNT:role/NAME (variable OTEL_EXPORTER_KINESIS_ROLE_ARN)", a)) {
			t.Errorf("role %q: err = %v", a, err)
		} else if strings.Contains(err.Error(), "the-external-secret") {
			t.Errorf("role %q: error shows the external ID: %v", a, err)
		}
	}

	// The environment's forms, signal-specific and shared, with the secret in EXTERNAL_ID.
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_REGION", "Not-A-Region")
	t.Setenv("OTEL_EXPORTER_KINESIS_ROLE_ARN", "garbage")
	t.Setenv("OTEL_EXPORTER_KINESIS_EXTERNAL_ID", "the-external-secret")
	_, err := load(Traces)
	if err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_KINESIS_TRACES_REGION=Not-A-Region: not an AWS region name; allowed a region name`) ||
		!strings.Contains(err.Error(), `OTEL_EXPORTER_KINESIS_ROLE_ARN=garbage: not an IAM role ARN`) {
		t.Errorf("err = %v, want the region and the role ARN refused, each once, naming its variable", err)
	} else if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("%d errors, want 2 (each variable once, and no complaint about the external ID): %v", n, err)
	} else if strings.Contains(err.Error(), "the-external-secret") {
		t.Errorf("error shows the external ID: %v", err)
	}
	// Options win over them.
	if _, err := load(Traces, region("eu-west-1"), role("arn:aws:iam::123456789012:role/r", "")); err != nil {
		t.Errorf("valid options over invalid environment: %v", err)
	}
}

// TestStreamOptionReplacesBothVariables: the stream is one setting in two forms. A stream
// named in code, by name or by ARN, takes the place of both variables, so it never meets
// another stream from the environment; two forms in code must still name one stream.
func TestStreamOptionReplacesBothVariables(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "from-env")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_STREAM_ARN", "arn:aws:kinesis:eu-west-1:123456789012:stream/from-env-arn")
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/from-code"
	streamARN := func(a string) *Option {
		return &Option{Name: "WithStreamARN", Args: []any{a}, Settings: []string{"stream_arn"}, Set: func(c *Config) { c.Producer.StreamARN = a }}
	}
	streamName := func(n string) *Option {
		return &Option{Name: "WithStreamName", Args: []any{n}, Settings: []string{"stream_name"}, Set: func(c *Config) { c.Producer.StreamName = n }}
	}
	byARN, byName := streamARN(arn), streamName("from-code")

	c, err := load(Traces, byARN)
	if err != nil || c.Producer.StreamARN != arn || c.Producer.StreamName != "" {
		t.Errorf("by ARN: name %q, ARN %q, err %v: want the option's ARN alone", c.Producer.StreamName, c.Producer.StreamARN, err)
	}
	c, err = load(Traces, byName)
	if err != nil || c.Producer.StreamName != "from-code" || c.Producer.StreamARN != "" {
		t.Errorf("by name: name %q, ARN %q, err %v: want the option's name alone", c.Producer.StreamName, c.Producer.StreamARN, err)
	}
	if c, err = load(Traces, byName, byARN); err != nil || c.Producer.StreamName != "from-code" || c.Producer.StreamARN != arn {
		t.Errorf("both forms of one stream: %+v, %v", c.Producer, err)
	}
	want := `otelkinesis: traces exporter: WithStreamName("another") and WithStreamARN("` + arn + `") name different streams: ` +
		"give one, or both forms of the same stream"
	if _, err = load(Traces, streamName("another"), byARN); err == nil || err.Error() != want {
		t.Errorf("two streams in code: err = %v, want %q", err, want)
	}
	// Without a stream option, the environment's two forms must agree.
	want = "otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_STREAM_NAME=from-env and " +
		"OTEL_EXPORTER_KINESIS_TRACES_STREAM_ARN=arn:aws:kinesis:eu-west-1:123456789012:stream/from-env-arn name different streams: " +
		"give one, or both forms of the same stream"
	if _, err = load(Traces); err == nil || err.Error() != want {
		t.Errorf("two streams in the environment: err = %v, want %q", err, want)
	}
}

// TestTimeoutVariable: OTEL_EXPORTER_KINESIS_TIMEOUT sets the per-request timeout, in
// milliseconds or as a Go duration, its signal-specific form winning over it for an
// exporter; a shared producer reads the shared form only; an option wins over both.
func TestTimeoutVariable(t *testing.T) {
	clearEnv(t)
	stream := inCode(func(c *Config) { c.Producer.StreamName = "s" }, "stream_name")
	t.Setenv("OTEL_EXPORTER_KINESIS_TIMEOUT", "2500")
	t.Setenv("OTEL_EXPORTER_KINESIS_LOGS_TIMEOUT", "7s")
	for _, tc := range []struct {
		signal Signal
		want   time.Duration
	}{{Traces, 2500 * time.Millisecond}, {Metrics, 2500 * time.Millisecond}, {Logs, 7 * time.Second}, {"", 2500 * time.Millisecond}} {
		c, err := load(tc.signal, stream)
		if err != nil || c.Producer.RequestTimeout != tc.want {
			t.Errorf("%q: request timeout %v, %v; want %v", tc.signal, c.Producer.RequestTimeout, err, tc.want)
		}
	}
	timeout := inCode(func(c *Config) { c.Producer.RequestTimeout = time.Second }, "request_timeout")
	t.Setenv("OTEL_EXPORTER_KINESIS_LOGS_TIMEOUT", "soon")
	if c, err := load(Logs, stream, timeout); err != nil || c.Producer.RequestTimeout != time.Second {
		t.Errorf("option over an unparsable variable: %v, %v; want 1s", c.Producer.RequestTimeout, err)
	}
	if _, err := load(Logs, stream); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_KINESIS_LOGS_TIMEOUT=soon: not a duration") {
		t.Errorf("unparsable: %v", err)
	}
	clearEnv(t)
	if c, err := load(Traces, stream); err != nil || c.Producer.RequestTimeout != 30*time.Second {
		t.Errorf("default: %v, %v; want 30s", c.Producer.RequestTimeout, err)
	}
}

// TestTemporalityPreference: OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE gives the
// metric exporter the temporality per instrument kind the OTLP metric exporters give for
// the same value of OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; it has no other
// form, only the metric exporter reads it, any other value is refused, and an option wins.
func TestTemporalityPreference(t *testing.T) {
	const c, d = metricdata.CumulativeTemporality, metricdata.DeltaTemporality
	kinds := []sdkmetric.InstrumentKind{sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindUpDownCounter,
		sdkmetric.InstrumentKindHistogram, sdkmetric.InstrumentKindObservableCounter,
		sdkmetric.InstrumentKindObservableUpDownCounter, sdkmetric.InstrumentKindObservableGauge, sdkmetric.InstrumentKindGauge}
	// By kind, in the order above: counter, up-down counter, histogram, observable counter,
	// observable up-down counter, observable gauge, gauge.
	for value, want := range map[string][7]metricdata.Temporality{
		"cumulative":   {c, c, c, c, c, c, c},
		"delta":        {d, c, d, d, c, c, c},
		"lowmemory":    {d, c, d, c, c, c, c},
		"Delta":        {d, c, d, d, c, c, c},
		" LOWMEMORY ":  {d, c, d, c, c, c, c},
		"CUMULATIVE\t": {c, c, c, c, c, c, c},
	} {
		clearEnv(t)
		t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
		t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", value)
		cfg, err := load(Metrics)
		if err != nil {
			t.Errorf("%q: %v", value, err)
			continue
		}
		for i, k := range kinds {
			if got := cfg.Temporality(k); got != want[i] {
				t.Errorf("%q: %v is %v, want %v", value, k, got, want[i])
			}
		}
	}

	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	if cfg, err := load(Metrics); err != nil || cfg.Temporality != nil {
		t.Errorf("unset: %v; want no selector (the exporter's default, cumulative)", err)
	}
	// No other form: neither a shared one nor a metrics form of the metrics form.
	t.Setenv("OTEL_EXPORTER_KINESIS_TEMPORALITY_PREFERENCE", "delta")
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_METRICS_TEMPORALITY_PREFERENCE", "delta")
	if cfg, err := load(Metrics); err != nil || cfg.Temporality != nil {
		t.Errorf("other forms: %v; want them not read", err)
	}
	// Only the metric exporter reads it.
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE", "sometimes")
	for _, signal := range []Signal{Traces, Logs, ""} {
		if _, err := load(signal); err != nil {
			t.Errorf("%q read the metrics' temporality preference: %v", signal, err)
		}
	}
	want := "otelkinesis: metrics exporter: OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE=sometimes: " +
		"not a temporality preference; allowed cumulative, delta or lowmemory (option WithTemporalitySelector)"
	if _, err := load(Metrics); err == nil || err.Error() != want {
		t.Errorf("refused:\n%v\nwant\n%s", err, want)
	}
	selector := inCode(func(c *Config) { c.Temporality = sdkmetric.DeltaTemporalitySelector }, "temporality")
	if cfg, err := load(Metrics, selector); err != nil || cfg.Temporality(sdkmetric.InstrumentKindCounter) != d {
		t.Errorf("the option over an invalid variable: %v", err)
	}
}
