package lambdaforward

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

var update = flag.Bool("update", false, "rewrite the recorded events in testdata")

// receiver is a strict OTLP/HTTP receiver written for these tests: it accepts only POSTs
// of OTLP protobuf (optionally gzip) to the three signal paths, decodes them with the
// official proto types, and answers each path with the status the test set.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status map[string]int // path -> status to answer; 200 when absent
	got    map[string][]int64
	errs   []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: map[string]int{}, got: map[string][]int64{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.errs {
			t.Error(e)
		}
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(format string, a ...any) {
		r.errs = append(r.errs, fmt.Sprintf("receiver: "+format, a...))
		http.Error(w, "bad request", http.StatusBadRequest)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" {
		fail("%s %s with Content-Type %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			fail("gzip: %v", err)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		fail("reading: %v", err)
		return
	}
	if code := r.status[req.URL.Path]; code != 0 && code != http.StatusOK {
		http.Error(w, "refused by the test", code)
		return
	}
	var resources []*resourcepb.Resource
	switch req.URL.Path {
	case "/v1/traces":
		var m coltracepb.ExportTraceServiceRequest
		err = proto.Unmarshal(raw, &m)
		for _, x := range m.ResourceSpans {
			resources = append(resources, x.Resource)
		}
	case "/v1/metrics":
		var m colmetricpb.ExportMetricsServiceRequest
		err = proto.Unmarshal(raw, &m)
		for _, x := range m.ResourceMetrics {
			resources = append(resources, x.Resource)
		}
	case "/v1/logs":
		var m collogspb.ExportLogsServiceRequest
		err = proto.Unmarshal(raw, &m)
		for _, x := range m.ResourceLogs {
			resources = append(resources, x.Resource)
		}
	default:
		http.NotFound(w, req)
		return
	}
	if err != nil {
		fail("%s: %v", req.URL.Path, err)
		return
	}
	for _, res := range resources {
		for _, kv := range res.Attributes {
			if kv.Key == otlpsample.MarkerKey {
				r.got[req.URL.Path] = append(r.got[req.URL.Path], kv.Value.GetIntValue())
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) received() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("traces %v metrics %v logs %v", r.got["/v1/traces"], r.got["/v1/metrics"], r.got["/v1/logs"])
}

// eventRecord wraps data as Lambda delivers a Kinesis record.
func eventRecord(shard string, seq int, pk string, data []byte) events.KinesisEventRecord {
	s := fmt.Sprintf("4959033827149025660855969253836157109592157598913658%04d", seq)
	return events.KinesisEventRecord{
		AwsRegion: "us-east-1", EventID: shard + ":" + s, EventName: "aws:kinesis:record", EventSource: "aws:kinesis",
		EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/telemetry", EventVersion: "1.0",
		InvokeIdentityArn: "arn:aws:iam::123456789012:role/otel-forwarder",
		Kinesis: events.KinesisRecord{ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: otlpsample.Epoch.Add(time.Duration(seq) * time.Second)},
			Data: data, PartitionKey: pk, SequenceNumber: s, KinesisSchemaVersion: "1.0"},
	}
}

// recordedEvents are the events in testdata, and how they are made.
var recordedEvents = map[string]func(t *testing.T) events.KinesisEvent{
	// An otelkinesis stream: aggregated, tagged records of every signal, and one record
	// whose MD5 trailer is damaged.
	"kinesis-event.json": func(t *testing.T) events.KinesisEvent {
		agg := func(samples ...struct {
			id int
			f  consumer.Format
		}) []byte {
			var a aggregation.Aggregator
			for _, s := range samples {
				data, err := otlpsample.Encode(s.f, otlpsample.Request(s.f.Signal, s.id))
				if err != nil {
					t.Fatal(err)
				}
				a.Add(otlpsample.PartitionKey(s.id), "", data, otlpsample.Tags(s.f))
			}
			return a.AppendTo(nil)
		}
		type s = struct {
			id int
			f  consumer.Format
		}
		tr := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf}
		lg := consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeJSON, ContentEncoding: consumer.EncodingGzip}
		mt := consumer.Format{Signal: consumer.Metrics, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingZstd}
		corrupt := agg(s{5, tr})
		corrupt[len(corrupt)-3] ^= 0x55
		return events.KinesisEvent{Records: []events.KinesisEventRecord{
			eventRecord("shardId-000000000000", 1, otlpsample.PartitionKey(1), agg(s{1, tr}, s{2, lg})),
			eventRecord("shardId-000000000000", 2, otlpsample.PartitionKey(3), agg(s{3, mt})),
			eventRecord("shardId-000000000000", 3, otlpsample.PartitionKey(5), corrupt),
			eventRecord("shardId-000000000000", 4, otlpsample.PartitionKey(4), agg(s{4, consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeProtobuf}})),
		}}
	},
	// The Collector's Kinesis exporter (encoding otlp_proto, compression gzip): one
	// request per plain record, no tags.
	"collector-event.json": func(t *testing.T) events.KinesisEvent {
		var ev events.KinesisEvent
		f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingGzip}
		for i := 1; i <= 2; i++ {
			data, err := otlpsample.Encode(f, otlpsample.Traces(10+i))
			if err != nil {
				t.Fatal(err)
			}
			ev.Records = append(ev.Records, eventRecord("shardId-000000000001", i, fmt.Sprint(i), data))
		}
		return ev
	},
}

// loadEvent reads a recorded event, as Lambda would hand it to the handler.
func loadEvent(t *testing.T, name string) events.KinesisEvent {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		b, err := json.MarshalIndent(recordedEvents[name](t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func newForwarder(t *testing.T, opts ...Option) (*Forwarder, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithRetryFor(300 * time.Millisecond)}, opts...)
	f, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, &logs
}

func failures(t *testing.T, resp events.KinesisEventResponse) string {
	t.Helper()
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const seq = "4959033827149025660855969253836157109592157598913658000"

func TestHandle(t *testing.T) {
	ev := loadEvent(t, "kinesis-event.json")
	for _, tc := range []struct {
		name     string
		status   map[string]int
		opts     []Option
		response string
		received string
		logged   string
	}{{
		name:     "undecodable record reported",
		response: `{"batchItemFailures":[{"itemIdentifier":"` + seq + `3"}]}`,
		received: "traces [1] metrics [3] logs [2 4]",
		logged:   "shard shardId-000000000000, sequence number " + seq + "3 (whole record)",
	}, {
		name:     "undecodable record skipped",
		opts:     []Option{WithSkipUndecodable(true)},
		response: `{"batchItemFailures":[]}`,
		received: "traces [1] metrics [3] logs [2 4]",
		logged:   "skipped a record that cannot be read",
	}, {
		// Partial failure: the receiver refuses traces for good; the record that held
		// them fails, although its logs were delivered (a retry sends them again).
		name:     "traces refused",
		status:   map[string]int{"/v1/traces": http.StatusBadRequest},
		opts:     []Option{WithSkipUndecodable(true), WithGzip(true)},
		response: `{"batchItemFailures":[{"itemIdentifier":"` + seq + `1"}]}`,
		received: "traces [] metrics [3] logs [2 4]",
		logged:   "HTTP 400",
	}, {
		// Metrics keep answering 503: retried until WithRetryFor, then failed.
		name:     "metrics unavailable",
		status:   map[string]int{"/v1/metrics": http.StatusServiceUnavailable},
		response: `{"batchItemFailures":[{"itemIdentifier":"` + seq + `2"},{"itemIdentifier":"` + seq + `3"}]}`,
		received: "traces [1] metrics [] logs [2 4]",
		logged:   "HTTP 503",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			r.status = tc.status
			f, logs := newForwarder(t, append([]Option{WithEndpoint(r.srv.URL)}, tc.opts...)...)
			resp, err := f.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(t, resp); got != tc.response {
				t.Errorf("response %s\nwant     %s", got, tc.response)
			}
			if got := r.received(); got != tc.received {
				t.Errorf("received %s, want %s", got, tc.received)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log lacks %q:\n%s", tc.logged, logs)
			}
		})
	}
}

func TestHandleCollectorFormat(t *testing.T) {
	ev := loadEvent(t, "collector-event.json")
	r := newReceiver(t)
	f, _ := newForwarder(t, WithEndpoint(r.srv.URL),
		WithFormat(consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingGzip}))
	resp, err := f.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %s", err, failures(t, resp))
	}
	if got := r.received(); got != "traces [11 12] metrics [] logs []" {
		t.Errorf("received %s", got)
	}
	// Without the format, the records are undecodable and reported.
	f2, _ := newForwarder(t, WithEndpoint(r.srv.URL))
	resp, _ = f2.Handle(context.Background(), ev)
	if len(resp.BatchItemFailures) != 2 {
		t.Errorf("without WithFormat: %s, want both records failed", failures(t, resp))
	}
}

// The handler keeps to the invocation's deadline: with a receiver that never recovers it
// returns, reporting the failures, before the deadline.
func TestHandleDeadline(t *testing.T) {
	ev := loadEvent(t, "kinesis-event.json")
	r := newReceiver(t)
	r.status = map[string]int{"/v1/traces": 503, "/v1/metrics": 503, "/v1/logs": 503}
	var logs bytes.Buffer
	f, err := New(WithEndpoint(r.srv.URL), WithSkipUndecodable(true), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	resp, err := f.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("Handle returned after the invocation's deadline")
	}
	if len(resp.BatchItemFailures) != 3 {
		t.Errorf("%s, want the three decodable records failed", failures(t, resp))
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{nil, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{[]Option{WithEndpoint("ftp://x")}, "http:// or https://"},
		{[]Option{WithEndpoint("http://x"), WithTimeout(0)}, "WithTimeout"},
		{[]Option{WithEndpoint("http://x"), WithMaxRequestBytes(10)}, "WithMaxRequestBytes"},
		{[]Option{WithEndpoint("http://x"), WithFormat(consumer.Format{Signal: "profiles"})}, "WithFormat"},
	} {
		if _, err := New(tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error naming %s", err, tc.want)
		}
	}
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "br")
	if _, err := New(WithEndpoint("http://x")); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_COMPRESSION") {
		t.Errorf("New: %v, want an error naming OTEL_EXPORTER_OTLP_COMPRESSION", err)
	}
}

// The environment configures the Forwarder as it configures OTLP exporters.
func TestEnvironment(t *testing.T) {
	r := newReceiver(t)
	var mu sync.Mutex
	var auth []string
	inner := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		auth = append(auth, req.Header.Get("Authorization")+"|"+req.Header.Get("Content-Encoding"))
		mu.Unlock()
		inner.ServeHTTP(w, req)
	})
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cret")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	f, _ := newForwarder(t, WithSkipUndecodable(true))
	if _, err := f.Handle(context.Background(), loadEvent(t, "kinesis-event.json")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 3 {
		t.Fatalf("%d requests, want 3 (one per signal)", len(auth))
	}
	for _, a := range auth {
		if a != "Bearer s3cret|gzip" {
			t.Errorf("request headers %q", a)
		}
	}
}
