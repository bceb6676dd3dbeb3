package otelkinesis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// closedEndpoint returns the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	return url
}

// flakyCredentials works for its first `good` calls, fails the next `bad`, then works
// again; the credentials it hands out expire at once, so every request asks it.
type flakyCredentials struct {
	good, bad int64
	calls     atomic.Int64
}

func (c *flakyCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	n := c.calls.Add(1)
	if n > c.good && n <= c.good+c.bad {
		return aws.Credentials{}, fmt.Errorf("no instance role yet (call %d)", n)
	}
	return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", CanExpire: true, Expires: time.Now()}, nil
}

// readOnce reads stream back and checks that every record of want arrived exactly once.
func readOnce(t *testing.T, stream *kinesistest.Stream, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range stream.AllRecords() {
		urs, err := consumer.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, ur := range urs {
			seen[string(ur.Data)]++
		}
	}
	for d := range want {
		if seen[d] != 1 {
			t.Errorf("record %s read %d times, want once", d, seen[d])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d distinct records, want %d", len(seen), len(want))
	}
}

// putAll puts n records and returns what it put.
func putAll(t *testing.T, p *otelkinesis.Producer, n int) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	for i := range n {
		d := fmt.Sprintf("record-%d", i)
		if err := p.Put(context.Background(), fmt.Sprint("key-", i%17), "", []byte(d), nil); err != nil {
			t.Fatal(err)
		}
		want[d] = true
	}
	return want
}

// A credentials provider that fails for a while (an instance role not attached yet, STS
// hiccups) loses nothing: the requests it could not sign are retried within the delivery
// budget, at boot with WithoutStartupCheck and after it.
func TestCredentialsFailingThenWorkingLoseNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds *flakyCredentials
		opts  []otelkinesis.Option
	}{
		{"after the startup check", &flakyCredentials{good: 1, bad: 5}, nil},
		{"at boot", &flakyCredentials{good: 0, bad: 5}, []otelkinesis.Option{otelkinesis.WithoutStartupCheck()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := kinesistest.NewServer()
			t.Cleanup(srv.Close)
			stream, err := srv.CreateStream("events", 2)
			if err != nil {
				t.Fatal(err)
			}
			awsCfg := srv.AWSConfig()
			awsCfg.Credentials = tc.creds
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := append([]otelkinesis.Option{otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(srv.URL()),
				otelkinesis.WithAWSConfig(awsCfg), otelkinesis.WithFlushInterval(10 * time.Millisecond)}, tc.opts...)
			p, err := otelkinesis.NewProducer(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			want := putAll(t, p, 300)
			if err := p.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if n := tc.creds.calls.Load(); n <= tc.creds.good+tc.creds.bad {
				t.Fatalf("credentials asked %d times: the failures were not met", n)
			}
			readOnce(t, stream, want)
		})
	}
}

// An endpoint that answers ExpiredTokenException (credentials that expired on the way)
// has the records retried, and delivered once.
func TestExpiredTokenAnswerIsRetried(t *testing.T) {
	srv, stream, p := newTestProducer(t, 2, otelkinesis.WithFlushInterval(10*time.Millisecond))
	srv.InjectRequests(3, kinesistest.ErrorFault(400, "ExpiredTokenException", "The security token included in the request is expired"), "PutRecords")
	want := putAll(t, p, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(srv.RequestsFor("PutRecords")); n < 4 {
		t.Errorf("%d PutRecords requests: the expired token was not met", n)
	}
	readOnce(t, stream, want)
}

// The startup check fails New with an error that names the stream, the endpoint, the
// region and the real cause, at once; throttling and server errors are tried again.
func TestStartupCheckNamesTheCause(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("events", 1); err != nil {
		t.Fatal(err)
	}
	noCreds := srv.AWSConfig()
	noCreds.Credentials = &flakyCredentials{bad: 1 << 30}
	closed := closedEndpoint(t)
	for _, tc := range []struct {
		name     string
		opts     []otelkinesis.Option
		contains []string
	}{
		{"connection refused", []otelkinesis.Option{otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(closed), otelkinesis.WithAWSConfig(srv.AWSConfig())},
			[]string{`stream "events"`, closed, "region " + srv.Region(), "connection refused", "WithoutStartupCheck"}},
		{"no credentials", []otelkinesis.Option{otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(noCreds)},
			[]string{`stream "events"`, srv.URL(), "no AWS credentials", "no instance role yet"}},
		{"stream missing", []otelkinesis.Option{otelkinesis.WithStreamName("nope"), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig())},
			[]string{`stream "nope"`, "ResourceNotFoundException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			p, err := otelkinesis.NewProducer(ctx, tc.opts...)
			if err == nil {
				_ = p.Shutdown(ctx)
				t.Fatal("NewProducer succeeded")
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "deadline") {
				t.Errorf("error %q reports a timeout, not the cause", err)
			}
			if strings.Count(err.Error(), "otelkinesis:") != 1 {
				t.Errorf("error %q: want the library's name once", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}

	// Two 503s, then an answer: New succeeds.
	srv.InjectRequests(2, kinesistest.ServiceUnavailable(), "DescribeStreamSummary")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig()))
	if err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// WithoutStartupCheck starts while the endpoint cannot be reached, says so once, and holds
// the records; Shutdown still ends by its context and counts what it dropped.
func TestWithoutStartupCheckStartsWhileUnreachable(t *testing.T) {
	var mu sync.Mutex
	var handled []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	srv := kinesistest.NewServer() // only for its AWS configuration
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(closedEndpoint(t)),
		otelkinesis.WithAWSConfig(srv.AWSConfig()), otelkinesis.WithoutStartupCheck(), otelkinesis.WithFlushInterval(10*time.Millisecond))
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	want := putAll(t, p, 50)
	time.Sleep(time.Second) // a few failed shard map reads and sends
	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer scancel()
	err = p.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("dropped %d user records", len(want))) {
		t.Errorf("Shutdown: %v, want the %d records dropped", err, len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	listShards := 0
	for _, e := range handled {
		if strings.Contains(e.Error(), "ListShards") {
			listShards++
		}
	}
	if listShards != 1 {
		t.Errorf("%d reports of failing ListShards, want 1: %v", listShards, handled)
	}
}

// WithoutStartupCheck while Kinesis refuses connections: the producer starts, holds what
// it is given, and delivers all of it, once, when the endpoint answers.
func TestWithoutStartupCheckDeliversWhenTheStreamAnswers(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	stream, err := srv.CreateStream("events", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartOutage(kinesistest.OutageRefuse); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()), otelkinesis.WithoutStartupCheck(),
		otelkinesis.WithFlushInterval(10*time.Millisecond), otelkinesis.WithMaxBackoff(200*time.Millisecond))
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	want := putAll(t, p, 200)
	time.Sleep(500 * time.Millisecond)
	if n := len(stream.AllRecords()); n != 0 {
		t.Fatalf("%d records stored during the outage", n)
	}
	if err := srv.EndOutage(); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	readOnce(t, stream, want)
}
