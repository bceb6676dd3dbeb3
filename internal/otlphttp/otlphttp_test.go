package otlphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/backoff"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// script answers requests in turn with the given handlers, the last one for the rest.
type script struct {
	mu     sync.Mutex
	steps  []http.HandlerFunc
	bodies [][]byte
	hdrs   []http.Header
	paths  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, body)
	s.hdrs = append(s.hdrs, r.Header.Clone())
	s.paths = append(s.paths, r.URL.Path)
	step := s.steps[min(len(s.bodies)-1, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

func code(c int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&status.Status{Code: 14, Message: "try later"})
		w.WriteHeader(c)
		w.Write(b)
	}
}

func newClient(t *testing.T, s *script, cfg Config) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL + "/otlp/"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	return c, &waits
}

func TestSendRetriesRetryable(t *testing.T) {
	s := &script{steps: []http.HandlerFunc{code(503, ""), code(429, "2"), code(502, ""), ok}}
	c, waits := newClient(t, s, Config{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	res, err := c.Send(context.Background(), consumer.Logs, []byte("body"))
	if err != nil || res.Attempts != 4 {
		t.Fatalf("Send: %+v, %v; want success at attempt 4", res, err)
	}
	if len(*waits) != 3 || (*waits)[0] > 100*time.Millisecond || (*waits)[1] != time.Second || (*waits)[2] > 400*time.Millisecond {
		t.Errorf("waits %v: want <=100ms (jitter), Retry-After 2s capped at the 1s max backoff, <=400ms", *waits)
	}
	for i, p := range s.paths {
		if p != "/otlp/v1/logs" || s.hdrs[i].Get("Content-Type") != "application/x-protobuf" || string(s.bodies[i]) != "body" {
			t.Errorf("request %d: %s %v %q", i, p, s.hdrs[i], s.bodies[i])
		}
	}
}

// SendNotify tells both Config.OnRetry and its own callback of every retry, in that
// order, and nothing of the attempt that succeeds.
func TestSendNotify(t *testing.T) {
	s := &script{steps: []http.HandlerFunc{code(503, ""), code(502, ""), ok}}
	var calls []string
	note := func(who string) RetryFunc {
		return func(sig consumer.Signal, attempt int, _ time.Duration, err error) {
			calls = append(calls, fmt.Sprintf("%s %s %d %v", who, sig, attempt, err != nil))
		}
	}
	c, _ := newClient(t, s, Config{OnRetry: note("config")})
	res, err := c.SendNotify(context.Background(), consumer.Traces, []byte("x"), note("call"))
	if err != nil || res.Attempts != 3 {
		t.Fatalf("SendNotify: %+v, %v; want success at attempt 3", res, err)
	}
	want := "config traces 1 true|call traces 1 true|config traces 2 true|call traces 2 true"
	if got := strings.Join(calls, "|"); got != want {
		t.Errorf("retries told %q, want %q", got, want)
	}
}

func TestSendPermanent(t *testing.T) {
	for _, c := range []int{400, 401, 403, 404, 413, 500} {
		s := &script{steps: []http.HandlerFunc{code(c, "")}}
		cl, _ := newClient(t, s, Config{})
		res, err := cl.Send(context.Background(), consumer.Traces, []byte("x"))
		var se *StatusError
		if err == nil || !errors.As(err, &se) || se.Code != c || res.Attempts != 1 || Retryable(err) {
			t.Errorf("HTTP %d: %+v %v; want one attempt and a permanent *StatusError", c, res, err)
		}
		if err != nil && !strings.Contains(err.Error(), "try later") {
			t.Errorf("HTTP %d: %v lacks the google.rpc.Status message", c, err)
		}
	}
}

func TestSendGivesUpAfterMaxElapsed(t *testing.T) {
	s := &script{steps: []http.HandlerFunc{code(503, "")}}
	c, _ := newClient(t, s, Config{InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxElapsed: 50 * time.Millisecond})
	c.sleep = backoff.Sleep
	_, err := c.Send(context.Background(), consumer.Metrics, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 50ms") {
		t.Errorf("Send: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.cfg.MaxElapsed = -1
	if _, err := c.Send(ctx, consumer.Metrics, []byte("x")); err == nil {
		t.Error("Send with a cancelled context succeeded")
	}
}

func TestSendGzipHeadersAndPartialSuccess(t *testing.T) {
	partial := func(w http.ResponseWriter, _ *http.Request) {
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: 3, ErrorMessage: "too old"}})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(b)
	}
	s := &script{steps: []http.HandlerFunc{partial}}
	c, _ := newClient(t, s, Config{Gzip: true, Headers: map[string]string{"Authorization": "Bearer x"}})
	body := bytes.Repeat([]byte("span "), 100)
	res, err := c.Send(context.Background(), consumer.Traces, body)
	if err != nil || res.Rejected != 3 || res.RejectedMessage != "too old" {
		t.Fatalf("%+v %v", res, err)
	}
	h := s.hdrs[0]
	if h.Get("Content-Encoding") != "gzip" || h.Get("Authorization") != "Bearer x" {
		t.Errorf("headers %v", h)
	}
	zr, err := gzip.NewReader(bytes.NewReader(s.bodies[0]))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, body) {
		t.Error("gzip body differs")
	}
}

func TestNewChecksEndpoints(t *testing.T) {
	for _, cfg := range []Config{{}, {Endpoint: "localhost:4318"}, {TracesURL: "http://x/v1/traces"}, {Endpoint: "http://x", MaxBackoff: 1, InitialBackoff: 2}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := New(Config{Endpoint: "http://x:4318", LogsURL: "https://logs.example.com/ingest"})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL(consumer.Traces) != "http://x:4318/v1/traces" || c.URL(consumer.Logs) != "https://logs.example.com/ingest" {
		t.Errorf("URLs %q %q", c.URL(consumer.Traces), c.URL(consumer.Logs))
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/v1/traces",
		"OTEL_EXPORTER_OTLP_HEADERS":         "api-key=a%20b, tenant=t1",
		"OTEL_EXPORTER_OTLP_COMPRESSION":     "gzip",
		"OTEL_EXPORTER_OTLP_TIMEOUT":         "2500",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "http://collector:4318" || c.TracesURL != "http://traces:4318/v1/traces" || !c.Gzip ||
		c.Timeout != 2500*time.Millisecond || c.Headers["api-key"] != "a b" || c.Headers["tenant"] != "t1" {
		t.Errorf("%+v", c)
	}
	for k, v := range map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "novalue", "OTEL_EXPORTER_OTLP_COMPRESSION": "br", "OTEL_EXPORTER_OTLP_TIMEOUT": "-1"} {
		if _, err := ConfigFromEnv(func(n string) string {
			if n == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

// Pack merges requests per signal by concatenation: the merged body decodes to every
// resource of the parts, in order, and bodies respect the size bound.
func TestPack(t *testing.T) {
	var recs []consumer.Record
	for id := 1; id <= 6; id++ {
		f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf}
		if id%2 == 0 {
			f.ContentType = consumer.ContentTypeJSON
		}
		if id == 5 {
			f.Signal = consumer.Logs
		}
		tel := otlpsample.Telemetry(f, id)
		payload, err := otlpsample.Encode(f, tel.Message())
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, consumer.Record{Index: id, Payload: payload, Telemetry: tel})
	}
	one, _ := proto.Marshal(otlpsample.Traces(1))
	bodies, failed := Pack(recs, 3*len(one))
	if len(failed) != 0 {
		t.Fatal(failed)
	}
	var got []string
	for _, b := range bodies {
		if len(b.Data) > 3*len(one) {
			t.Errorf("body of %d bytes over the bound", len(b.Data))
		}
		var ids []string
		if b.Signal == consumer.Traces {
			var m coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(b.Data, &m); err != nil {
				t.Fatal(err)
			}
			for i, rs := range m.ResourceSpans {
				if !proto.Equal(rs, otlpsample.Traces(recs[b.Records[i]].Index).ResourceSpans[0]) {
					t.Errorf("resource %d of a merged body differs", i)
				}
				ids = append(ids, rs.Resource.Attributes[1].Value.String())
			}
		}
		got = append(got, string(b.Signal)+":"+strings.Join(ids, ","))
	}
	if strings.Join(got, " ") != "traces:int_value:1,int_value:2,int_value:3 traces:int_value:4,int_value:6 logs:" {
		t.Errorf("bodies %v", got)
	}
}
