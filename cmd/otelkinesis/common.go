package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	kconfig "github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
)

// commonFlags are the flags every command takes: where the stream is, where to start,
// and how to read records without otelkinesis tags.
type commonFlags struct {
	stream      string
	region      string
	endpoint    string
	from        string
	signal      string
	encoding    string
	compression string
	callTimeout time.Duration
	poll        time.Duration
	limit       int
}

func (c *commonFlags) register(fs *flag.FlagSet, defaultFrom string) {
	fs.StringVar(&c.stream, "stream", firstEnv("OTEL_EXPORTER_KINESIS_STREAM_ARN", "OTEL_EXPORTER_KINESIS_STREAM_NAME"),
		"stream `name or ARN` (or give it as the argument); default $OTEL_EXPORTER_KINESIS_STREAM_ARN or _STREAM_NAME")
	fs.StringVar(&c.region, "region", "", "AWS `region`, such as us-east-1; default: AWS_REGION or the shared config's, then the stream ARN's")
	fs.StringVar(&c.endpoint, "endpoint", os.Getenv("OTEL_EXPORTER_KINESIS_ENDPOINT"),
		"Kinesis endpoint `URL`, for a local emulator such as kinesalite; default $OTEL_EXPORTER_KINESIS_ENDPOINT or AWS's.\n"+
			"With a loopback endpoint and no AWS credentials in the environment, dummy credentials are used")
	fs.StringVar(&c.from, "from", defaultFrom,
		"where to start in each shard: trim_horizon (the oldest record), latest (only new records),\n"+
			"a time (2006-01-02T15:04:05Z) or a duration back from now (15m, 2h)")
	fs.StringVar(&c.signal, "signal", "", "signal of records without otelkinesis tags, such as the Collector's Kinesis exporter writes:\n"+
		"traces, metrics or logs (tagged records say their own)")
	fs.StringVar(&c.encoding, "encoding", "otlp_proto", "encoding of records without tags: otlp_proto or otlp_json")
	fs.StringVar(&c.compression, "compression", "none", "compression of records without tags: none, gzip, zstd, zlib or flate")
	fs.DurationVar(&c.callTimeout, "call-timeout", 10*time.Second, "deadline of each Kinesis call")
	fs.DurationVar(&c.poll, "poll", time.Second, "wait between reads of a shard that has no new records")
	fs.IntVar(&c.limit, "limit", 1000, "most Kinesis records per GetRecords call (1 to 10000)")
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// streamRef names a stream by name, ARN or both.
type streamRef struct {
	name, arn string
}

func (s streamRef) String() string {
	if s.arn != "" {
		return s.arn
	}
	return s.name
}

// parseStream reads a stream name or ARN. With an ARN the name is also kept: the
// emulators need it (kinesalite ignores StreamARN).
func parseStream(v string) (streamRef, error) {
	if v == "" {
		return streamRef{}, errors.New("no stream: give its name or ARN as the argument or with --stream")
	}
	if !strings.HasPrefix(v, "arn:") {
		return streamRef{name: v}, nil
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[2] != "kinesis" || !strings.HasPrefix(parts[5], "stream/") || len(parts[5]) == len("stream/") {
		return streamRef{}, fmt.Errorf("stream %q: not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", v)
	}
	if parts[3] != "" {
		if err := kconfig.CheckRegion(parts[3]); err != nil {
			return streamRef{}, fmt.Errorf("stream %q: region %q: %w", v, parts[3], err)
		}
	}
	return streamRef{name: strings.TrimPrefix(parts[5], "stream/"), arn: v}, nil
}

// arnRegion returns the region of a stream ARN, or "".
func (s streamRef) arnRegion() string {
	if s.arn == "" {
		return ""
	}
	return strings.SplitN(s.arn, ":", 6)[3]
}

// startPosition is where reading a shard starts when no checkpoint says otherwise.
type startPosition struct {
	kind types.ShardIteratorType
	at   time.Time
}

func (p startPosition) String() string {
	if p.kind == types.ShardIteratorTypeAtTimestamp {
		return p.at.UTC().Format(time.RFC3339)
	}
	return string(p.kind)
}

// parseFrom reads --from.
func parseFrom(v string, now time.Time) (startPosition, error) {
	switch strings.ToLower(strings.ReplaceAll(v, "-", "_")) {
	case "trim_horizon", "oldest", "beginning":
		return startPosition{kind: types.ShardIteratorTypeTrimHorizon}, nil
	case "latest", "now", "":
		return startPosition{kind: types.ShardIteratorTypeLatest}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return startPosition{kind: types.ShardIteratorTypeAtTimestamp, at: now.Add(-d)}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.After(now) {
				return startPosition{}, fmt.Errorf("--from %q is in the future (Kinesis refuses that): use latest for records to come", v)
			}
			return startPosition{kind: types.ShardIteratorTypeAtTimestamp, at: t}, nil
		}
	}
	return startPosition{}, fmt.Errorf("--from %q: want trim_horizon, latest, a time such as 2026-03-01T12:00:00Z, or a duration such as 15m", v)
}

// decodeOptions returns the decoder options for records without tags.
func (c *commonFlags) decodeOptions() ([]consumer.DecodeOption, error) {
	if c.signal == "" {
		if c.encoding != "otlp_proto" || c.compression != "none" {
			return nil, errors.New("--encoding and --compression describe records without tags, and need --signal too")
		}
		return nil, nil
	}
	f := consumer.Format{Signal: consumer.Signal(c.signal)}
	switch c.encoding {
	case "otlp_proto", "otlp":
		f.ContentType = consumer.ContentTypeProtobuf
	case "otlp_json":
		f.ContentType = consumer.ContentTypeJSON
	default:
		return nil, fmt.Errorf("--encoding %q: want otlp_proto or otlp_json", c.encoding)
	}
	f.ContentEncoding = c.compression
	if f.ContentEncoding == "noop" {
		f.ContentEncoding = "none"
	}
	if _, err := consumer.NewDecoder(consumer.WithFormat(f)); err != nil {
		return nil, fmt.Errorf("--signal %q, --encoding %q, --compression %q: %w", c.signal, c.encoding, c.compression, err)
	}
	return []consumer.DecodeOption{consumer.WithFormat(f)}, nil
}

// check validates the flags shared by every command.
func (c *commonFlags) check(positional string) (streamRef, error) {
	if positional != "" {
		c.stream = positional
	}
	s, err := parseStream(c.stream)
	if err != nil {
		return s, err
	}
	if c.region != "" {
		if err := kconfig.CheckRegion(c.region); err != nil {
			return s, fmt.Errorf("--region %q: %w", c.region, err)
		}
	}
	if c.endpoint != "" {
		u, err := url.Parse(c.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("--endpoint %q: want an http:// or https:// URL", c.endpoint)
		}
	}
	if c.callTimeout <= 0 || c.poll <= 0 {
		return s, errors.New("--call-timeout and --poll must be positive")
	}
	if c.limit < 1 || c.limit > 10000 {
		return s, fmt.Errorf("--limit %d: want 1 to 10000", c.limit)
	}
	return s, nil
}

// connectTimeout bounds how long connecting to Kinesis may take, so that an endpoint
// that never answers a connection fails as a connection failure, before the call's
// deadline, and is not waited for like a slow answer.
const connectTimeout = 5 * time.Second

// kinesisClient builds the Kinesis client: the AWS default chain, the region from the
// flag, the environment or the ARN, the SDK's standard retries without its retry quota
// (which fails fast under sustained throttling), and the endpoint when one is given.
// The SDK does not retry a failure to connect: the walker's calls do, briefly (see
// walker.call), so that a wrong or unreachable endpoint is reported at once, with its
// cause.
func (c *commonFlags) kinesisClient(ctx context.Context, s streamRef) (*kinesis.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Timeout = connectTimeout })
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if c.region != "" {
		opts = append(opts, config.WithRegion(c.region))
	}
	if c.endpoint != "" {
		opts = append(opts, config.WithAccountIDEndpointMode(aws.AccountIDEndpointModeDisabled))
		if loopback(c.endpoint) && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			// Emulators check no signature; spare the user a credentials setup.
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	// After loading, which needs the BuildableClient itself for AWS_CA_BUNDLE: a fast
	// answer must not cost the connection it is read from (see package sdkhttp).
	cfg.HTTPClient = sdkhttp.Wrap(cfg.HTTPClient)
	if c.region == "" && cfg.Region != "" {
		if err := kconfig.CheckRegion(cfg.Region); err != nil {
			return nil, fmt.Errorf("region %q from AWS_REGION or the AWS shared configuration: %w", cfg.Region, err)
		}
	}
	if cfg.Region == "" {
		cfg.Region = s.arnRegion()
	}
	if cfg.Region == "" {
		if c.endpoint == "" {
			return nil, errors.New("no AWS region: set --region or AWS_REGION, or give the stream's ARN")
		}
		cfg.Region = "us-east-1"
	}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.RateLimiter = ratelimit.None
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if _, ok := connectFailure(err); ok {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, o.Retryables...)
		})
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	}), nil
}

// connectError is a Kinesis call that could not connect to its endpoint.
type connectError struct {
	endpoint string       // scheme://host[:port], or "" when the error does not say
	dial     *net.OpError // the cause, such as "dial tcp 127.0.0.1:4567: connect: connection refused"
	err      error        // the whole error, for errors.Is and errors.As
}

func (e *connectError) Error() string {
	if e.endpoint == "" {
		return "cannot connect to Kinesis: " + e.dial.Error()
	}
	return fmt.Sprintf("cannot connect to Kinesis at %s: %v", e.endpoint, e.dial)
}

func (e *connectError) Unwrap() error { return e.err }

// connectFailure reports whether err is a failure to connect to the endpoint (refused, no
// such host, no route, no connection within connectTimeout), and returns it as a
// connectError naming the endpoint.
func connectFailure(err error) (*connectError, bool) {
	var ce *connectError
	if errors.As(err, &ce) {
		return ce, true
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return nil, false
	}
	ce = &connectError{dial: op, err: err}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			ce.endpoint = u.Scheme + "://" + u.Host
		}
	}
	return ce, true
}

func loopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
