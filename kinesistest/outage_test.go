package kinesistest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// storedKeys returns the partition keys of the records stored in st, sorted.
func storedKeys(st *kinesistest.Stream) []string {
	var out []string
	for _, r := range st.AllRecords() {
		out = append(out, r.PartitionKey)
	}
	slices.Sort(out)
	return out
}

// wantKeys fails the test unless st holds exactly the records of the batches named by
// prefixes, each of n records, as putBatch writes them.
func wantKeys(t *testing.T, st *kinesistest.Stream, n int, prefixes ...string) {
	t.Helper()
	var want []string
	for _, p := range prefixes {
		for i := range n {
			want = append(want, fmt.Sprintf("%s-%d", p, i))
		}
	}
	slices.Sort(want)
	if got := storedKeys(st); !slices.Equal(got, want) {
		t.Fatalf("stored keys %v, want %v", got, want)
	}
}

// reusedConn returns a context whose requests record in *reused whether they went over a
// kept-alive connection.
func reusedConn(ctx context.Context, reused *bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { *reused = info.Reused },
	})
}

// isHangUp reports whether err is what a client sees when the server closes the
// connection without an answer: EOF or a connection reset, and no AWS error code.
func isHangUp(err error) bool {
	return err != nil && apiCode(err) == "" &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET))
}

// wantRefused calls fn and wants a dial error with ECONNREFUSED. The first call may
// still go over a connection kept alive from before the outage that the client has not
// yet seen closed: that call must fail with a transport error, and the next one, which
// dials, must be refused.
func wantRefused(t *testing.T, ctx context.Context, fn func(context.Context) error) {
	t.Helper()
	for first := true; ; first = false {
		var reused bool
		err := fn(reusedConn(ctx, &reused))
		if reused && first {
			if err == nil || apiCode(err) != "" {
				t.Fatalf("over a connection kept alive from before the outage: %v, want a transport error", err)
			}
			t.Logf("the first call went over a stale kept-alive connection: %v", err)
			continue
		}
		var op *net.OpError
		if reused || !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
			t.Fatalf("during a refuse outage: %v (over a kept-alive connection: %v), want a dial error with ECONNREFUSED", err, reused)
		}
		return
	}
}

// hostOf returns the host:port of srv's URL.
func hostOf(t *testing.T, srv *kinesistest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutageRefuse: nothing listens during a refuse outage, so a client gets a dial
// error with ECONNREFUSED, even though it had a keep-alive connection; a connection
// open when the outage began is closed; afterwards the server listens on the same port
// and the records written before are still there.
func TestOutageRefuse(t *testing.T) {
	srv, c, st := setup(t, "refuse", 2)
	ctx := testCtx(t)
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "before", 3)))
	raw, err := net.Dial("tcp", hostOf(t, srv))
	mustNil(t, err)
	defer raw.Close()

	mustNil(t, srv.StartOutage(kinesistest.OutageRefuse))
	if !srv.InOutage() {
		t.Fatal("InOutage is false during an outage")
	}
	// The connection opened before the outage is closed by the server.
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := raw.Read(make([]byte, 1)); n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("a connection open when the outage began: read %d bytes, %v; want it closed", n, err)
	}
	wantRefused(t, ctx, func(ctx context.Context) error {
		return ignoreOutput(putBatch(ctx, c, st.Name(), "during", 3))
	})
	wantRefused(t, ctx, func(ctx context.Context) error {
		return ignoreOutput(c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.Name())}))
	})
	if _, err := net.DialTimeout("tcp", hostOf(t, srv), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialing during a refuse outage: %v, want ECONNREFUSED", err)
	}

	mustNil(t, srv.EndOutage())
	if srv.InOutage() {
		t.Fatal("InOutage is true after EndOutage")
	}
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "after", 3)))
	wantKeys(t, st, 3, "before", "after")
	if s := srv.Stats(); s.OutageRequests != 0 || s.Requests != 2 {
		t.Errorf("stats %+v: refused requests must not reach the server", s)
	}
}

// TestOutageHangUp: every request of a hang-up outage, of any operation, is read and
// hung up on, including the next one over a connection kept alive from before; the
// client sees EOF or a reset; nothing is written; the requests are counted and recorded.
func TestOutageHangUp(t *testing.T) {
	srv, c, st := setup(t, "hangup", 2)
	ctx := testCtx(t)
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "before", 3)))

	mustNil(t, srv.StartOutage(kinesistest.OutageHangUp))
	var reused bool
	_, err := putBatch(reusedConn(ctx, &reused), c, st.Name(), "during", 3)
	if !isHangUp(err) {
		t.Fatalf("during a hang-up outage: %v, want EOF or a connection reset", err)
	}
	if !reused {
		t.Error("the first request of the outage did not go over the kept-alive connection; the test proves less than it claims")
	}
	if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}); !isHangUp(err) {
		t.Fatalf("ListStreams during a hang-up outage: %v, want EOF or a connection reset", err)
	}
	wantKeys(t, st, 3, "before")

	mustNil(t, srv.EndOutage())
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "after", 3)))
	wantKeys(t, st, 3, "before", "after")

	if s := srv.Stats(); s.OutageRequests != 2 || s.DroppedConnections != 2 || s.Requests != 4 {
		t.Errorf("stats %+v, want 2 outage requests, both dropped, of 4", s)
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests recorded, want 4", len(reqs))
	}
	during := reqs[1]
	if during.Outage != kinesistest.OutageHangUp || during.StatusCode != 0 || during.Operation != "PutRecords" ||
		len(during.Entries) != 3 || during.Entries[0].PartitionKey != "during-0" || during.Entries[0].SequenceNumber != "" {
		t.Errorf("request during the outage recorded as %+v", during)
	}
	if reqs[2].Outage != kinesistest.OutageHangUp || reqs[2].Operation != "ListStreams" || reqs[0].Outage != 0 || reqs[3].Outage != 0 {
		t.Errorf("outage marks: %v %v %v %v", reqs[0].Outage, reqs[1].Outage, reqs[2].Outage, reqs[3].Outage)
	}
}

// TestOutageUnanswered: a request of an unanswered outage is held until its client's
// deadline; one still held when the outage ends is closed without an answer, not served.
func TestOutageUnanswered(t *testing.T) {
	srv, c, st := setup(t, "unanswered", 1)
	ctx := testCtx(t)
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "before", 2)))

	mustNil(t, srv.StartOutage(kinesistest.OutageUnanswered))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	_, err := putBatch(short, c, st.Name(), "impatient", 2)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("during an unanswered outage: %v, want the client's deadline", err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("the client gave up after %v, before its deadline", el)
	}
	waitFor(t, func() bool { return srv.Stats().Abandoned == 1 })

	// A patient client is held until the outage ends, and then gets no answer.
	errs := make(chan error, 1)
	go func() { errs <- ignoreOutput(putBatch(ctx, c, st.Name(), "patient", 2)) }()
	waitFor(t, func() bool { return srv.Stats().OutageRequests == 2 })
	select {
	case err := <-errs:
		t.Fatalf("a held request returned during the outage: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	mustNil(t, srv.EndOutage())
	if err := <-errs; !isHangUp(err) {
		t.Fatalf("a request held when the outage ended: %v, want EOF or a connection reset", err)
	}
	wantKeys(t, st, 2, "before")

	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "after", 2)))
	wantKeys(t, st, 2, "before", "after")
	if s := srv.Stats(); s.OutageRequests != 2 || s.Abandoned != 1 || s.DroppedConnections != 1 {
		t.Errorf("stats %+v", s)
	}
	for _, r := range srv.RequestsFor("PutRecords")[1:3] {
		if r.Outage != kinesistest.OutageUnanswered || r.StatusCode != 0 || len(r.Entries) != 2 {
			t.Errorf("held request recorded as %+v", r)
		}
	}
}

// TestOutageWindowEndsByItself: an Outage window of each mode fails requests while it
// lasts and ends by itself; requests after it succeed on the same endpoint.
func TestOutageWindowEndsByItself(t *testing.T) {
	for _, mode := range []kinesistest.OutageMode{kinesistest.OutageHangUp, kinesistest.OutageRefuse, kinesistest.OutageUnanswered} {
		t.Run(mode.String(), func(t *testing.T) {
			srv, c, st := setup(t, "window", 1)
			ctx := testCtx(t)
			mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "before", 1)))
			const window = 400 * time.Millisecond
			start := time.Now()
			mustNil(t, srv.Outage(mode, window))
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			put := func(ctx context.Context) error { return ignoreOutput(putBatch(ctx, c, st.Name(), "during", 1)) }
			switch mode {
			case kinesistest.OutageRefuse:
				wantRefused(t, short, put)
			case kinesistest.OutageHangUp:
				if err := put(short); !isHangUp(err) {
					t.Fatalf("during the window: %v, want EOF or a reset", err)
				}
			case kinesistest.OutageUnanswered:
				if err := put(short); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("during the window: %v, want the client's deadline", err)
				}
			}
			waitFor(t, func() bool { return !srv.InOutage() })
			if el := time.Since(start); el < window {
				t.Fatalf("the window ended after %v, before its %v", el, window)
			}
			mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "after", 1)))
			wantKeys(t, st, 1, "before", "after")
		})
	}
}

// TestOutageChanges: StartOutage changes the mode of an outage in progress (a refuse
// outage turned into a hang-up one listens again), and cancels the end of an Outage
// window; EndOutage outside an outage does nothing.
func TestOutageChanges(t *testing.T) {
	srv, c, st := setup(t, "changes", 1)
	ctx := testCtx(t)
	mustNil(t, srv.EndOutage())
	mustNil(t, srv.Outage(kinesistest.OutageRefuse, 100*time.Millisecond))
	mustNil(t, srv.StartOutage(kinesistest.OutageHangUp))
	time.Sleep(300 * time.Millisecond) // past the window's end, which StartOutage cancelled
	if !srv.InOutage() {
		t.Fatal("the cancelled window's timer ended the outage")
	}
	if _, err := putBatch(ctx, c, st.Name(), "during", 1); !isHangUp(err) {
		t.Fatalf("after refuse turned into hang-up: %v, want EOF or a reset", err)
	}
	// A later window replaces an earlier one.
	mustNil(t, srv.Outage(kinesistest.OutageHangUp, time.Hour))
	mustNil(t, srv.Outage(kinesistest.OutageRefuse, 50*time.Millisecond))
	waitFor(t, func() bool { return !srv.InOutage() })
	mustNil(t, ignoreOutput(putBatch(ctx, c, st.Name(), "after", 1)))
	wantKeys(t, st, 1, "after")
}

// TestOutageRelistenRetries: when the port is taken at the end of a refuse outage,
// EndOutage keeps trying and listens once it is free again.
func TestOutageRelistenRetries(t *testing.T) {
	srv, c, st := setup(t, "relisten", 1)
	mustNil(t, srv.StartOutage(kinesistest.OutageRefuse))
	squatter, err := net.Listen("tcp", hostOf(t, srv))
	if err != nil {
		t.Fatalf("taking the port during the outage: %v", err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		squatter.Close()
	}()
	start := time.Now()
	mustNil(t, srv.EndOutage())
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("EndOutage returned after %v, before the port was free", el)
	}
	mustNil(t, ignoreOutput(putBatch(testCtx(t), c, st.Name(), "after", 1)))
	wantKeys(t, st, 1, "after")
}

// TestOutageBadInput: unknown modes and empty windows are refused with an error, and
// change nothing.
func TestOutageBadInput(t *testing.T) {
	srv := start(t)
	for _, err := range []error{
		srv.StartOutage(0),
		srv.StartOutage(kinesistest.OutageMode(42)),
		srv.Outage(kinesistest.OutageMode(-1), time.Second),
		srv.Outage(kinesistest.OutageHangUp, 0),
		srv.Outage(kinesistest.OutageHangUp, -time.Second),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "kinesistest: ") {
			t.Errorf("error %v, want one from kinesistest", err)
		}
	}
	if srv.InOutage() {
		t.Error("bad input started an outage")
	}
	if got := kinesistest.OutageMode(42).String(); got != "OutageMode(42)" {
		t.Errorf("String of an unknown mode: %q", got)
	}
}

// TestOutageClose: Close during an outage of each mode, with a request held and a window
// pending, returns and ends the request; the goleak check of TestMain proves that no
// timer, handler or Accept loop is left. Outage calls on a closed server change nothing.
func TestOutageClose(t *testing.T) {
	for _, mode := range []kinesistest.OutageMode{kinesistest.OutageHangUp, kinesistest.OutageRefuse, kinesistest.OutageUnanswered} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := kinesistest.NewServer()
			c := client(t, srv)
			mustStream(t, srv, "s", 1)
			ctx := testCtx(t)
			errs := make(chan error, 1)
			if mode == kinesistest.OutageUnanswered {
				mustNil(t, srv.StartOutage(mode))
				go func() { errs <- ignoreOutput(putBatch(ctx, c, "s", "k", 1)) }()
				waitFor(t, func() bool { return srv.Stats().OutageRequests == 1 })
			}
			mustNil(t, srv.Outage(mode, time.Hour))
			done := make(chan struct{})
			go func() { srv.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return during an outage")
			}
			if mode == kinesistest.OutageUnanswered {
				if err := <-errs; err == nil {
					t.Error("a request held until Close succeeded")
				}
				if s := srv.Stats(); s.Abandoned != 1 {
					t.Errorf("stats %+v", s)
				}
			}
			if err := srv.StartOutage(kinesistest.OutageHangUp); err == nil {
				t.Error("StartOutage on a closed server did not fail")
			}
			if err := srv.Outage(kinesistest.OutageHangUp, time.Second); err == nil {
				t.Error("Outage on a closed server did not fail")
			}
			mustNil(t, srv.EndOutage())
			if _, err := net.DialTimeout("tcp", hostOf(t, srv), time.Second); err == nil {
				t.Error("a closed server accepts connections")
			}
		})
	}
}

// ignoreOutput keeps the error of a call that returns an output too.
func ignoreOutput[T any](_ T, err error) error { return err }
