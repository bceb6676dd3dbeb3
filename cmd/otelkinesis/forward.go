package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/otlphttp"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

const forwardSummary = `Usage: otelkinesis forward --to URL [flags] STREAM

Reads every shard of STREAM (a reshard's children after their parents) and sends the
telemetry to an OTLP/HTTP receiver, as protobuf POSTed to URL/v1/traces, /v1/metrics
and /v1/logs: the user records of each read are merged per signal into requests of at
most --max-request-bytes. --signals picks the signals to send (default all three); the
records of the others are read and passed over. Failed requests are retried with
exponential backoff on 429, 502, 503, 504 and network errors, for up to --retry-for
(each retry line names its shard).

A receiver that does not take a signal at all (HTTP 404, 405 or 415 on its path, as
Jaeger answers /v1/metrics) gets no more of it: one line on stderr names the signal,
the URL and the status, the other signals go on, and forward ends with exit status 3
(use --signals to send only what the receiver takes). Once the receiver has refused
every signal forwarded, or answers anything else that cannot succeed on retry (400,
401, 403, 413, ...), forward stops with exit status 1.

Delivery is at least once. After every read whose telemetry was all accepted (but for
the signals not sent: not in --signals, or refused), the shard's sequence number is
saved in the --checkpoint file; a restart continues after it
(shards without a checkpoint start at --from). A crash or a stop repeats at most what
was read after the last checkpoint. Records that cannot be read are named on stderr,
counted and skipped: they can never be delivered.

Progress (records and bytes per second, lag per shard) goes to stderr every --progress.
`

type headerFlag map[string]string

func (h headerFlag) String() string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (h headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want name=value", v)
	}
	h[strings.TrimSpace(k)] = val
	return nil
}

// forwardStats are forward's counters, read by the progress reporter.
type forwardStats struct {
	mu                  sync.Mutex
	records, users      int64 // Kinesis records read, user records delivered
	bytes               int64 // Kinesis record bytes read
	requests, retries   int64
	skipped, rejected   int64
	passed, refused     int64 // user records not sent: of signals not in --signals, of signals the receiver refuses
	lag                 map[string]time.Duration
	lastRecs, lastBytes int64
	last                time.Time
}

func runForward(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("forward", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, "trim_horizon")
	env, envErr := otlphttp.ConfigFromEnv(os.Getenv)
	to := fs.String("to", env.Endpoint, "base `URL` of the OTLP/HTTP receiver, such as http://localhost:4318; default $OTEL_EXPORTER_OTLP_ENDPOINT")
	headers := headerFlag{}
	for k, v := range env.Headers {
		headers[k] = v
	}
	fs.Var(headers, "header", "`name=value` header for every request (repeat the flag for more); default from $OTEL_EXPORTER_OTLP_HEADERS")
	gzipFlag := fs.Bool("gzip", env.Gzip, "gzip request bodies; default true when $OTEL_EXPORTER_OTLP_COMPRESSION is gzip")
	checkpoint := fs.String("checkpoint", "", "checkpoint `file`; default otelkinesis-STREAM.checkpoint in the current directory")
	maxBytes := fs.Int("max-request-bytes", otlphttp.DefaultMaxBodyBytes, "largest request body before compression")
	timeout := fs.Duration("request-timeout", otlphttp.DefaultTimeout, "deadline of each request to the receiver")
	retryFor := fs.Duration("retry-for", otlphttp.DefaultMaxElapsed, "how long to retry one request before giving up (then forward stops, exit status 1)")
	progress := fs.Duration("progress", 10*time.Second, "interval of progress lines on stderr; 0 for none")
	follow := fs.Bool("follow", true, "keep waiting for new records; false stops once every shard is read to its end")
	signalsFlag := fs.String("signals", "traces,metrics,logs", "comma-separated `signals` to send: traces, metrics, logs (the records of the others are passed over)")
	fs.Usage = usageFunc(fs, forwardSummary)
	pos, code := parseFlags(fs, args, stdout)
	if code >= 0 {
		return code
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "otelkinesis forward: %v\n", err)
		return code
	}
	if envErr != nil {
		return fail(exitUsage, envErr)
	}
	stream, err := c.check(pos)
	if err != nil {
		return fail(exitUsage, err)
	}
	from, err := parseFrom(c.from, time.Now())
	if err != nil {
		return fail(exitUsage, err)
	}
	dopts, err := c.decodeOptions()
	if err != nil {
		return fail(exitUsage, err)
	}
	if *to == "" && (env.TracesURL == "" || env.MetricsURL == "" || env.LogsURL == "") {
		return fail(exitUsage, errors.New("--to: where to send? give the OTLP/HTTP receiver's base URL, such as http://localhost:4318"))
	}
	if *maxBytes < 1024 {
		return fail(exitUsage, fmt.Errorf("--max-request-bytes %d: want at least 1024", *maxBytes))
	}
	selected, err := parseSignals(*signalsFlag)
	if err != nil {
		return fail(exitUsage, err)
	}
	gate := newSignalGate(selected)
	stats := &forwardStats{lag: map[string]time.Duration{}, last: time.Now()}
	var logMu sync.Mutex
	logf := func(format string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "otelkinesis forward: "+format+"\n", a...)
	}
	sender, err := otlphttp.New(otlphttp.Config{
		Endpoint: *to, TracesURL: env.TracesURL, MetricsURL: env.MetricsURL, LogsURL: env.LogsURL,
		Headers: headers, Gzip: *gzipFlag, Timeout: *timeout, MaxElapsed: *retryFor,
	})
	if err != nil {
		return fail(exitUsage, err)
	}
	defer sender.Close()
	if *checkpoint == "" {
		*checkpoint = "otelkinesis-" + regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(stream.name, "_") + ".checkpoint"
	}
	ckpt, err := loadCheckpoints(*checkpoint, stream)
	if err != nil {
		return fail(exitFailure, err)
	}
	client, err := c.kinesisClient(ctx, stream)
	if err != nil {
		return fail(exitFailure, err)
	}
	dec, err := consumer.NewDecoder(dopts...)
	if err != nil {
		return fail(exitUsage, err)
	}
	defer dec.Close()
	reader, err := consumer.NewReader(dec)
	if err != nil {
		return fail(exitFailure, err)
	}
	abs, _ := filepath.Abs(*checkpoint)
	dest := strings.TrimSuffix(sender.URL(consumer.Traces), "/v1/traces")
	if len(selected) < len(allSignals) {
		dest += " (" + joinSignals(selected) + " only)"
	}
	logf("stream %s to %s, checkpoints in %s", stream, dest, abs)

	w := &walker{
		api: client, stream: stream, from: from, follow: *follow, resume: ckpt.resume(),
		callTimeout: c.callTimeout, poll: c.poll, limit: int32(c.limit),
		warn:     logf,
		finished: ckpt.finish,
		caughtUp: func(shard string, behind time.Duration) {
			stats.mu.Lock()
			stats.lag[shard] = behind
			stats.mu.Unlock()
		},
		handle: func(ctx context.Context, b batch) error {
			size := 0
			for _, r := range b.records {
				size += len(r.Data) + len(aws.ToString(r.PartitionKey))
			}
			res := reader.ReadRecords(b.shard, b.records)
			// Every use of the decoded telemetry ends in this call (the bodies are sent
			// before it returns), so its memory goes back to the reader for the next batch.
			defer res.Release()
			for _, e := range res.Errors {
				logf("skipped: %v", e)
			}
			// Only the records of the signals still sent are converted and packed.
			records := make([]consumer.Record, 0, len(res.Records))
			var passed, refused int64
			for _, r := range res.Records {
				switch gate.state(r.Telemetry.Format.Signal) {
				case signalSent:
					records = append(records, r)
				case signalRefused:
					refused++
				default:
					passed++
				}
			}
			bodies, failed := otlphttp.Pack(records, *maxBytes)
			for i, err := range failed {
				r := records[i]
				logf("skipped: shard %s, sequence number %s, sub-sequence %d: %v", r.Shard, r.SequenceNumber, r.SubSequenceNumber, err)
			}
			onRetry := func(s consumer.Signal, attempt int, wait time.Duration, err error) {
				stats.mu.Lock()
				stats.retries++
				stats.mu.Unlock()
				logf("shard %s: %s request failed, retry in %v: %v", b.shard, s, wait.Round(time.Millisecond), err)
			}
			var rejected, unsent int64 // unsent: records packed, then not sent as their signal was refused
			requests := 0
			for _, body := range bodies {
				if gate.state(body.Signal) == signalRefused { // by another body of this read, or another shard's
					unsent += int64(len(body.Records))
					continue
				}
				requests++
				out, err := sender.SendNotify(ctx, body.Signal, body.Data, onRetry)
				if se, ok := refusal(err); ok {
					first, left := gate.refuse(body.Signal)
					if first {
						msg := fmt.Sprintf("the receiver refuses %s (POST %s: %v): skipping %s", body.Signal, sender.URL(body.Signal), se, body.Signal)
						if len(left) > 0 {
							msg += fmt.Sprintf(", still forwarding %s; --signals %s sends only those", joinSignals(left), joinSignals(left))
						}
						logf("%s", msg)
					}
					if len(left) == 0 {
						return fmt.Errorf("shard %s: the receiver refuses every signal forwarded (%s): nothing can be delivered", b.shard, joinSignals(selected))
					}
					unsent += int64(len(body.Records))
					continue
				}
				if err != nil {
					return fmt.Errorf("shard %s: %w", b.shard, err)
				}
				if out.Rejected > 0 {
					rejected += out.Rejected
					logf("the receiver rejected %d %s items of shard %s: %s", out.Rejected, body.Signal, b.shard, out.RejectedMessage)
				}
			}
			if err := ckpt.advance(b.shard, aws.ToString(b.records[len(b.records)-1].SequenceNumber)); err != nil {
				return err
			}
			stats.mu.Lock()
			stats.records += int64(len(b.records))
			stats.bytes += int64(size)
			stats.users += int64(len(records)-len(failed)) - unsent
			stats.requests += int64(requests)
			stats.skipped += int64(len(res.Errors) + len(failed))
			stats.rejected += rejected
			stats.passed += passed
			stats.refused += refused + unsent
			stats.lag[b.shard] = b.behind
			stats.mu.Unlock()
			return nil
		},
	}

	done := make(chan struct{})
	var pwg sync.WaitGroup
	if *progress > 0 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(*progress)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					logf("%s", stats.progressLine())
				}
			}
		}()
	}
	err = w.run(ctx)
	close(done)
	pwg.Wait()
	stats.mu.Lock()
	summary := fmt.Sprintf("read %s (%s), delivered %s in %s (%s); %d skipped, %d rejected by the receiver",
		plural.Count(stats.records, "Kinesis record"), plural.Count(stats.bytes, "byte"), plural.Count(stats.users, "user record"),
		plural.Count(stats.requests, "request"), plural.Count(stats.retries, "retry"), stats.skipped, stats.rejected)
	if stats.passed > 0 {
		summary += fmt.Sprintf("; %d of signals not in --signals passed over", stats.passed)
	}
	if refused := gate.refusedSignals(); len(refused) > 0 {
		summary += fmt.Sprintf("; %d not sent, of signals the receiver refuses (%s)", stats.refused, joinSignals(refused))
	}
	incomplete := stats.skipped > 0 || stats.refused > 0
	stats.mu.Unlock()
	logf("%s", summary)
	switch {
	case err != nil:
		return fail(exitFailure, fmt.Errorf("%w; the checkpoint holds what was delivered: run again to continue", err))
	case incomplete:
		return exitUndecoded
	}
	return exitOK
}

// allSignals are the signals forward sends, in the order --signals lists them by default.
var allSignals = []consumer.Signal{consumer.Traces, consumer.Metrics, consumer.Logs}

// parseSignals reads --signals: a comma-separated list of traces, metrics and logs.
func parseSignals(v string) ([]consumer.Signal, error) {
	var out []consumer.Signal
	for _, part := range strings.Split(v, ",") {
		s := consumer.Signal(strings.ToLower(strings.TrimSpace(part)))
		if s == "" {
			continue
		}
		if !slices.Contains(allSignals, s) {
			return nil, fmt.Errorf("--signals %q: %q is not a signal; want a comma-separated list of traces, metrics and logs", v, part)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--signals %q: no signal; want a comma-separated list of traces, metrics and logs", v)
	}
	return out, nil
}

func joinSignals(ss []consumer.Signal) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// What forward does with a signal's records.
const (
	signalPassed  = iota // not in --signals: read and passed over
	signalSent           // sent to the receiver
	signalRefused        // in --signals, but the receiver refuses it: no longer sent
)

// signalGate says which signals forward sends: those of --signals until the receiver
// refuses them. It is safe for concurrent use (every shard's reader asks it).
type signalGate struct {
	mu       sync.Mutex
	selected []consumer.Signal
	refused  map[consumer.Signal]bool
}

func newSignalGate(selected []consumer.Signal) *signalGate {
	return &signalGate{selected: selected, refused: map[consumer.Signal]bool{}}
}

// state says what to do with the records of s.
func (g *signalGate) state(s consumer.Signal) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !slices.Contains(g.selected, s):
		return signalPassed
	case g.refused[s]:
		return signalRefused
	}
	return signalSent
}

// refuse records that the receiver refuses s. It reports whether this is the first time
// it is told, and which selected signals are still sent.
func (g *signalGate) refuse(s consumer.Signal) (first bool, left []consumer.Signal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	first = !g.refused[s]
	g.refused[s] = true
	for _, x := range g.selected {
		if !g.refused[x] {
			left = append(left, x)
		}
	}
	return first, left
}

// refusedSignals returns the selected signals the receiver refused, in --signals order.
func (g *signalGate) refusedSignals() []consumer.Signal {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []consumer.Signal
	for _, x := range g.selected {
		if g.refused[x] {
			out = append(out, x)
		}
	}
	return out
}

// refusal reports whether err, from Send, says the receiver does not take the signal at
// all, however often it is asked: 404 (no such path: Jaeger's answer on /v1/metrics and
// /v1/logs), 405 (method not allowed) or 415 (content type not supported).
func refusal(err error) (*otlphttp.StatusError, bool) {
	var se *otlphttp.StatusError
	if !errors.As(err, &se) {
		return nil, false
	}
	switch se.Code {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return se, true
	}
	return nil, false
}

// progressLine says what happened since the last one.
func (s *forwardStats) progressLine() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	secs := now.Sub(s.last).Seconds()
	if secs <= 0 {
		secs = 1
	}
	rate := float64(s.records-s.lastRecs) / secs
	bps := float64(s.bytes-s.lastBytes) / secs
	s.lastRecs, s.lastBytes, s.last = s.records, s.bytes, now
	shards := make([]string, 0, len(s.lag))
	for id := range s.lag {
		shards = append(shards, id)
	}
	sort.Strings(shards)
	lags := make([]string, len(shards))
	for i, id := range shards {
		lags[i] = fmt.Sprintf("%s %v", id, s.lag[id].Round(time.Second))
	}
	return fmt.Sprintf("%.0f records/s, %.1f KB/s; %s in %s so far (%s, %d skipped); lag: %s",
		rate, bps/1000, plural.Count(s.users, "user record"), plural.Count(s.requests, "request"), plural.Count(s.retries, "retry"),
		s.skipped, strings.Join(lags, ", "))
}
