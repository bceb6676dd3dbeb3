package lambdaforward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/otlphttp"
)

// Forwarder is a Lambda handler for Kinesis events that forwards the telemetry on them
// to an OTLP/HTTP endpoint. It is safe for concurrent use.
type Forwarder struct {
	cfg    config
	sender *otlphttp.Client
	dec    *consumer.Decoder
	reader *consumer.Reader
}

type config struct {
	http            otlphttp.Config
	retryFor        time.Duration
	format          *consumer.Format
	maxBytes        int
	skipUndecodable bool
	logger          *slog.Logger
	err             error
}

// Option configures a Forwarder.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEndpoint sets the base URL of the OTLP/HTTP receiver, such as
// https://otlp.example.com:4318; /v1/traces, /v1/metrics and /v1/logs are appended.
// Default: OTEL_EXPORTER_OTLP_ENDPOINT (and the signal-specific
// OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT, used as full URLs).
func WithEndpoint(url string) Option {
	return optionFunc(func(c *config) { c.http.Endpoint = url })
}

// WithHeaders sets headers sent with every request, such as an API key. Default:
// OTEL_EXPORTER_OTLP_HEADERS.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) {
		c.http.Headers = map[string]string{}
		for k, v := range h {
			c.http.Headers[k] = v
		}
	})
}

// WithGzip sets whether request bodies are gzip-compressed. Default: true when
// OTEL_EXPORTER_OTLP_COMPRESSION is gzip, else false.
func WithGzip(on bool) Option {
	return optionFunc(func(c *config) { c.http.Gzip = on })
}

// WithTimeout bounds each request. Default: OTEL_EXPORTER_OTLP_TIMEOUT, else 10s.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.setErr(fmt.Errorf("lambdaforward: WithTimeout(%v): must be positive", d))
			return
		}
		c.http.Timeout = d
	})
}

// WithRetryFor bounds how long one request is retried (on 429, 502, 503, 504 and
// network errors, with exponential backoff). Default: until one second before the
// invocation's deadline, so that the handler can still report which records failed.
func WithRetryFor(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.setErr(fmt.Errorf("lambdaforward: WithRetryFor(%v): must be positive", d))
			return
		}
		c.retryFor = d
	})
}

// WithFormat states the format of records without otelkinesis tags (the Collector's
// Kinesis exporter's). Default: none, and such records are undecodable.
func WithFormat(f consumer.Format) Option {
	return optionFunc(func(c *config) { c.format = &f })
}

// WithMaxRequestBytes bounds the size of one request body: the user records of an event
// are merged per signal into requests up to this size. Default 4 MiB.
func WithMaxRequestBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1024 {
			c.setErr(fmt.Errorf("lambdaforward: WithMaxRequestBytes(%d): want at least 1024", n))
			return
		}
		c.maxBytes = n
	})
}

// WithSkipUndecodable sets what happens to a record that cannot be read (corrupt, or
// not OTLP): false (the default) reports it as a batch item failure, so that Lambda
// retries it and, once the event source mapping's retries are spent, sends it to its
// on-failure destination; nothing is dropped silently, but the shard waits for it.
// true logs it and lets it go.
func WithSkipUndecodable(skip bool) Option {
	return optionFunc(func(c *config) { c.skipUndecodable = skip })
}

// WithHTTPClient sets the HTTP client requests go through. Default: a client of the
// Forwarder's own with keep-alive.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) { c.http.HTTPClient = hc })
}

// WithLogger sets where failures and skipped records are logged. Default
// slog.Default(), which Lambda sends to CloudWatch Logs.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

func (c *config) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// New returns a Forwarder configured by the OTEL_EXPORTER_OTLP_* environment and opts,
// which win over it. It fails, naming the setting, when no endpoint is known or a
// setting is invalid.
func New(opts ...Option) (*Forwarder, error) {
	env, err := otlphttp.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("lambdaforward: %w", err)
	}
	c := config{http: env, maxBytes: otlphttp.DefaultMaxBodyBytes, logger: slog.Default()}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	c.http.MaxElapsed = -1 // bounded per invocation, in Handle
	sender, err := otlphttp.New(c.http)
	if err != nil {
		return nil, fmt.Errorf("lambdaforward: %w (set OTEL_EXPORTER_OTLP_ENDPOINT or use WithEndpoint)", err)
	}
	var dopts []consumer.DecodeOption
	if c.format != nil {
		dopts = append(dopts, consumer.WithFormat(*c.format))
	}
	dec, err := consumer.NewDecoder(dopts...)
	if err != nil {
		return nil, fmt.Errorf("lambdaforward: %w", err)
	}
	reader, err := consumer.NewReader(dec)
	if err != nil {
		dec.Close()
		return nil, err
	}
	return &Forwarder{cfg: c, sender: sender, dec: dec, reader: reader}, nil
}

// Close releases the Forwarder's decoder and idle connections.
func (f *Forwarder) Close() {
	f.dec.Close()
	f.sender.Close()
}

// Handle forwards the telemetry of ev and reports, as batch item failures, the Kinesis
// records whose telemetry was not all delivered, by sequence number, so that Lambda
// retries from there (the event source mapping needs FunctionResponseTypes
// ReportBatchItemFailures). The user records of the event are merged per signal into as
// few requests as WithMaxRequestBytes allows; a request that fails fails every record
// with telemetry in it. Lambda retries from the lowest failed sequence number, so records
// after it may be delivered twice: delivery is at least once. The error is always nil:
// failures are per record.
func (f *Forwarder) Handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	b := f.reader.ReadLambdaEvent(ev.Records)
	// Everything decoded is sent (or reported) before Handle returns: the reader then
	// decodes the next invocation's records into the same memory.
	defer b.Release()
	failed := map[int]bool{}
	for _, e := range b.Errors {
		var sre *consumer.ShardRangeError
		if errors.As(e, &sre) {
			continue // its user records were read and are forwarded
		}
		if f.cfg.skipUndecodable {
			f.cfg.logger.WarnContext(ctx, "skipped a record that cannot be read", "error", e.Error())
			continue
		}
		f.cfg.logger.ErrorContext(ctx, "a record cannot be read; reported as a batch item failure", "error", e.Error())
		failed[e.Index] = true
	}
	sendCtx := ctx
	if f.cfg.retryFor > 0 {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithTimeout(ctx, f.cfg.retryFor)
		defer cancel()
	} else if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, dl.Add(-time.Second))
		defer cancel()
	}
	bodies, bad := otlphttp.Pack(b.Records, f.cfg.maxBytes)
	for i, err := range bad {
		r := b.Records[i]
		f.cfg.logger.ErrorContext(ctx, "a user record cannot be converted to OTLP protobuf", "shard", r.Shard,
			"sequence_number", r.SequenceNumber, "sub_sequence", r.SubSequenceNumber, "error", err.Error())
		if !f.cfg.skipUndecodable {
			failed[r.Index] = true
		}
	}
	for _, body := range bodies {
		res, err := f.sender.Send(sendCtx, body.Signal, body.Data)
		if err != nil {
			f.cfg.logger.ErrorContext(ctx, "OTLP request failed; its records are reported as batch item failures",
				"signal", string(body.Signal), "user_records", len(body.Records), "error", err.Error())
			for _, i := range body.Records {
				failed[b.Records[i].Index] = true
			}
			continue
		}
		if res.Rejected > 0 {
			f.cfg.logger.WarnContext(ctx, "the receiver rejected part of a request (not retried, as OTLP says)",
				"signal", string(body.Signal), "rejected", res.Rejected, "message", res.RejectedMessage)
		}
	}
	idx := make([]int, 0, len(failed))
	for i := range failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	for _, i := range idx {
		resp.BatchItemFailures = append(resp.BatchItemFailures,
			events.KinesisBatchItemFailure{ItemIdentifier: ev.Records[i].Kinesis.SequenceNumber})
	}
	return resp, nil
}
