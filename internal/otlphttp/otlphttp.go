// Package otlphttp sends OTLP requests over HTTP, as the OTLP/HTTP specification
// describes: protobuf bodies POSTed to /v1/traces, /v1/metrics or /v1/logs, optionally
// gzip-compressed, retried with exponential backoff and jitter on 429, 502, 503, 504 and
// network errors, honouring Retry-After, with a deadline on every attempt. The reading
// side (the otelkinesis command's forward and the Lambda forwarder) share it.
//
// OTLP protobuf requests of one signal merge by concatenation (their fields are all
// repeated), so a caller can send many user records' requests in one body.
package otlphttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/backoff"
	"github.com/otelkinesis/otelkinesis/internal/version"
)

// Defaults of Config.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxElapsed     = 5 * time.Minute
)

// Config says where and how to send.
type Config struct {
	// Endpoint is the base URL of the OTLP/HTTP receiver, such as
	// http://localhost:4318; /v1/traces, /v1/metrics and /v1/logs are appended
	// (after any path it has). Required unless every signal's URL is set.
	Endpoint string
	// TracesURL, MetricsURL and LogsURL, when set, are used as they are for their
	// signal, as OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT is.
	TracesURL, MetricsURL, LogsURL string
	// Headers are added to every request (authentication, tenant).
	Headers map[string]string
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration
	// InitialBackoff is the wait before the first retry; each retry doubles it, up to
	// MaxBackoff, with full jitter. Defaults 500ms and 30s.
	InitialBackoff, MaxBackoff time.Duration
	// MaxElapsed bounds the time spent retrying one request; after it the last error
	// is returned. Default 5m; negative means retry until the context ends.
	MaxElapsed time.Duration
	// HTTPClient sends the requests. Default: a client of its own with keep-alive.
	HTTPClient *http.Client
	// OnRetry, if set, is told of every failed attempt that will be retried.
	OnRetry RetryFunc
}

// RetryFunc is told of a failed attempt that will be retried: the request's signal, the
// attempt's number (1 for the first), the wait before the next one and why it failed.
type RetryFunc func(signal consumer.Signal, attempt int, wait time.Duration, err error)

// Client sends OTLP requests. It is safe for concurrent use.
type Client struct {
	cfg  Config
	urls map[consumer.Signal]string
	// sleep waits for d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxElapsed == 0 {
		cfg.MaxElapsed = DefaultMaxElapsed
	}
	if cfg.Timeout < 0 || cfg.InitialBackoff < 0 || cfg.MaxBackoff < cfg.InitialBackoff {
		return nil, fmt.Errorf("OTLP/HTTP timeout %v and backoff %v to %v: must be positive, the first backoff no larger than the last",
			cfg.Timeout, cfg.InitialBackoff, cfg.MaxBackoff)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	c := &Client{cfg: cfg, urls: map[consumer.Signal]string{}, sleep: backoff.Sleep}
	for _, s := range []struct {
		signal   consumer.Signal
		explicit string
		path     string
	}{{consumer.Traces, cfg.TracesURL, "v1/traces"}, {consumer.Metrics, cfg.MetricsURL, "v1/metrics"}, {consumer.Logs, cfg.LogsURL, "v1/logs"}} {
		u := s.explicit
		if u == "" {
			if cfg.Endpoint == "" {
				return nil, fmt.Errorf("no OTLP/HTTP endpoint: set the base URL (such as http://localhost:4318) or the %s URL", s.signal)
			}
			u = strings.TrimSuffix(cfg.Endpoint, "/") + "/" + s.path
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("OTLP/HTTP %s endpoint %q: want an http:// or https:// URL", s.signal, u)
		}
		c.urls[s.signal] = u
	}
	return c, nil
}

// URL returns where requests of signal go.
func (c *Client) URL(signal consumer.Signal) string { return c.urls[signal] }

// Result describes a request the receiver accepted.
type Result struct {
	// Attempts is how many times the request was sent.
	Attempts int
	// Rejected is the number of spans, data points or log records the receiver said it
	// rejected (an OTLP partial success); RejectedMessage is its reason. Such items
	// are not retried, as the specification says.
	Rejected        int64
	RejectedMessage string
}

// StatusError is a response other than 200.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the receiver's reason: a google.rpc.Status message, or the start of
	// the body.
	Message string
	// RetryAfter is the wait the receiver asked for, or 0.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// Retryable reports whether the OTLP/HTTP specification allows a retry: 429, 502, 503
// and 504.
func (e *StatusError) Retryable() bool {
	switch e.Code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Retryable reports whether err, returned by Send, may go away if the request is sent
// again: a retryable status, a network error or a timeout.
func Retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Retryable()
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errPermanent)
}

var errPermanent = errors.New("permanent")

// Send posts one OTLP protobuf request of signal (one request, or several of the same
// signal concatenated), retrying as the package doc says, until it is accepted, a
// permanent error comes back, MaxElapsed has passed or ctx ends.
func (c *Client) Send(ctx context.Context, signal consumer.Signal, body []byte) (Result, error) {
	return c.SendNotify(ctx, signal, body, nil)
}

// SendNotify is Send that also tells onRetry, when not nil, of every failed attempt of
// this request that will be retried, after Config.OnRetry: a caller sending for several
// sources (shards, say) learns which one each retry concerns.
func (c *Client) SendNotify(ctx context.Context, signal consumer.Signal, body []byte, onRetry RetryFunc) (Result, error) {
	target, ok := c.urls[signal]
	if !ok {
		return Result{}, fmt.Errorf("unknown signal %q: %w", signal, errPermanent)
	}
	payload := body
	if c.cfg.Gzip {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		zw.Write(body)
		if err := zw.Close(); err != nil {
			return Result{}, fmt.Errorf("gzip: %w", err)
		}
		payload = buf.Bytes()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, signal, target, payload)
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		err = fmt.Errorf("POST %s (attempt %d): %w", target, attempt, err)
		if !Retryable(err) || ctx.Err() != nil {
			return Result{Attempts: attempt}, err
		}
		wait := backoff.Full(backoff.Ceiling(attempt, c.cfg.InitialBackoff, c.cfg.MaxBackoff, 2), nil)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			wait = min(se.RetryAfter, c.cfg.MaxBackoff)
		}
		if c.cfg.MaxElapsed > 0 && time.Since(start)+wait > c.cfg.MaxElapsed {
			return Result{Attempts: attempt}, fmt.Errorf("%w (gave up after %v of retries)", err, c.cfg.MaxElapsed)
		}
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(signal, attempt, wait, err)
		}
		if onRetry != nil {
			onRetry(signal, attempt, wait, err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return Result{Attempts: attempt}, fmt.Errorf("%w (stopped waiting to retry: %w)", err, serr)
		}
	}
}

func (c *Client) attempt(ctx context.Context, signal consumer.Signal, target string, payload []byte) (Result, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("Content-Type", consumer.ContentTypeProtobuf)
	if c.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("User-Agent", "otelkinesis/"+version.Version)
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Result{}, fmt.Errorf("reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Result{}, &StatusError{Code: resp.StatusCode, Message: statusMessage(resp.Header.Get("Content-Type"), body),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return partialSuccess(signal, resp.Header.Get("Content-Type"), body), nil
}

// statusMessage reads the reason of a failed response: a protobuf google.rpc.Status, or
// the start of a text body.
func statusMessage(contentType string, body []byte) string {
	if strings.HasPrefix(contentType, consumer.ContentTypeProtobuf) {
		var st status.Status
		if proto.Unmarshal(body, &st) == nil && st.Message != "" {
			return st.Message
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// partialSuccess reads the Export*ServiceResponse of a 200: how many items were rejected.
func partialSuccess(signal consumer.Signal, contentType string, body []byte) Result {
	if len(body) == 0 || !strings.HasPrefix(contentType, consumer.ContentTypeProtobuf) {
		return Result{}
	}
	switch signal {
	case consumer.Traces:
		var r coltracepb.ExportTraceServiceResponse
		if proto.Unmarshal(body, &r) == nil && r.PartialSuccess != nil {
			return Result{Rejected: r.PartialSuccess.RejectedSpans, RejectedMessage: r.PartialSuccess.ErrorMessage}
		}
	case consumer.Metrics:
		var r colmetricpb.ExportMetricsServiceResponse
		if proto.Unmarshal(body, &r) == nil && r.PartialSuccess != nil {
			return Result{Rejected: r.PartialSuccess.RejectedDataPoints, RejectedMessage: r.PartialSuccess.ErrorMessage}
		}
	case consumer.Logs:
		var r collogspb.ExportLogsServiceResponse
		if proto.Unmarshal(body, &r) == nil && r.PartialSuccess != nil {
			return Result{Rejected: r.PartialSuccess.RejectedLogRecords, RejectedMessage: r.PartialSuccess.ErrorMessage}
		}
	}
	return Result{}
}

// Close closes the idle connections of the client's own HTTP client.
func (c *Client) Close() { c.cfg.HTTPClient.CloseIdleConnections() }
