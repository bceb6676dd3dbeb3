// Package exportertest holds the test scaffolding the trace, metric and log exporters'
// tests share: a kinesistest endpoint with a stream and the options that point an
// exporter at it, a loopback OTLP/HTTP sink that keeps what the official exporters send
// (the oracle), the concurrency test every exporter must pass, the fault and shutdown
// checks the metric and log exporters share, and readers of what reached the stream.
package exportertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// Kinesis starts a kinesistest endpoint with a 4-shard stream named stream, closed when
// the test ends, and returns it with the options for an exporter writing to it: short
// flush interval and backoffs, so that tests run fast. O is the option type of the
// exporter (trace.Option, metric.Option, log.Option), which the shared options implement.
func Kinesis[O any](t testing.TB, stream string) (*kinesistest.Server, []O) {
	t.Helper()
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream(stream, 4); err != nil {
		t.Fatal(err)
	}
	shared := []otelkinesis.Option{
		otelkinesis.WithStreamName(stream), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig()),
		otelkinesis.WithFlushInterval(10 * time.Millisecond), otelkinesis.WithMaxBackoff(20 * time.Millisecond),
	}
	opts := make([]O, len(shared))
	for i, o := range shared {
		var ok bool
		if opts[i], ok = any(o).(O); !ok {
			t.Fatalf("exportertest.Kinesis: %T is not an option type of the shared options", opts[i])
		}
	}
	return srv, opts
}

// Sink is a loopback OTLP/HTTP server that keeps every request it receives, decoded.
type Sink[M proto.Message] struct {
	// URL is the server's base URL.
	URL  string
	mu   sync.Mutex
	reqs []M
}

// NewSink starts a sink, closed when the test ends, decoding each request body (OTLP
// protobuf, uncompressed) into a message newMsg returns.
func NewSink[M proto.Message](t testing.TB, newMsg func() M) *Sink[M] {
	t.Helper()
	s := &Sink[M]{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := newMsg()
		if err := proto.Unmarshal(body, m); err != nil {
			t.Errorf("sink: %v", err)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, m)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Requests returns the requests received so far.
func (s *Sink[M]) Requests() []M {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]M(nil), s.reqs...)
}

// ConcurrentSafe calls export (20 times each), flush and shutdown from many goroutines at
// once. Errors that wrap one of accepted (the exporter's "shut down" errors) are fine;
// any other fails the test. Run it with -race -count=20 to shake out ordering bugs.
func ConcurrentSafe(t *testing.T, export, flush, shutdown func(context.Context) error, accepted ...error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ok := func(err error) bool {
		if err == nil {
			return true
		}
		for _, a := range accepted {
			if errors.Is(err, a) {
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if err := export(ctx); !ok(err) {
					t.Errorf("export: %v", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			if err := flush(ctx); !ok(err) {
				t.Errorf("flush: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if i%4 == 3 {
				if err := shutdown(ctx); !ok(err) {
					t.Errorf("shutdown: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}
