package faultproxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/faultproxy"
)

var modes = []faultproxy.Mode{faultproxy.HangUp, faultproxy.Refuse, faultproxy.Unanswered}

// backend is an HTTP server that answers "echo: " and the request body, and counts
// the requests it served.
type backend struct {
	*httptest.Server
	served atomic.Int64
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.served.Add(1)
		fmt.Fprintf(w, "echo: %s", body)
	}))
	t.Cleanup(b.Close)
	return b
}

// startProxy starts a proxy to target and closes it at cleanup, checking that Close
// succeeds.
func startProxy(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// newClient returns an HTTP client with a transport of its own, kept-alive connections
// on, closed at cleanup.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// post sends body to url and returns the answer's body. It records in *reused, if not
// nil, whether the request went over a kept-alive connection.
func post(ctx context.Context, c *http.Client, url, body string, reused *bool) (string, error) {
	if reused != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { *reused = info.Reused },
		})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantEcho fails the test unless a request through the proxy is answered by the backend.
func wantEcho(t *testing.T, ctx context.Context, c *http.Client, p *faultproxy.Proxy, body string) {
	t.Helper()
	got, err := post(ctx, c, p.URL(), body, nil)
	if err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if got != "echo: "+body {
		t.Fatalf("through the proxy: answer %q, want %q", got, "echo: "+body)
	}
}

// isHangUp reports whether err is what a client sees when the connection is closed
// without an answer: EOF, a reset or a broken pipe; net/http's "server closed idle
// connection", which it reports when the close arrives before it has written the
// request (an error with nothing to unwrap, hence the string); or, when the close
// arrives while it writes the request, "use of closed network connection" from its
// writer, as its reader has closed the connection on seeing the close.
func isHangUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		err != nil && strings.HasSuffix(err.Error(), "http: server closed idle connection")
}

// wantRefused wants a dial error with ECONNREFUSED from call, a request through the
// proxy. The first call may still go over a connection kept alive from before the
// outage that the client has not yet seen closed: that one must fail as a hang-up, and
// the next one, which dials, must be refused.
func wantRefused(t *testing.T, ctx context.Context, call func(context.Context) error) {
	t.Helper()
	for first := true; ; first = false {
		var reused bool
		err := call(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		if reused && first {
			if !isHangUp(err) {
				t.Fatalf("over a connection kept alive from before the outage: %v, want EOF or a reset", err)
			}
			t.Logf("the first request went over a stale kept-alive connection: %v", err)
			continue
		}
		var op *net.OpError
		if reused || !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
			t.Fatalf("during a refuse outage: %v (over a kept-alive connection: %v), want a dial error with ECONNREFUSED", err, reused)
		}
		return
	}
}

// postCall is a request for wantRefused.
func postCall(c *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := post(ctx, c, url, "during", nil)
		return err
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestForwards: requests go through to the target and back, over one kept-alive
// connection, with either form of target.
func TestForwards(t *testing.T) {
	b := newBackend(t)
	for _, target := range []string{b.URL, strings.TrimPrefix(b.URL, "http://"), b.URL + "/"} {
		t.Run(target, func(t *testing.T) {
			p := startProxy(t, target)
			if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") || p.URL() != "http://"+p.Addr() || p.Target() != strings.TrimSuffix(strings.TrimPrefix(target, "http://"), "/") {
				t.Fatalf("URL %q, Addr %q, Target %q", p.URL(), p.Addr(), p.Target())
			}
			c := newClient(t)
			ctx := testCtx(t)
			before := b.served.Load()
			for i := range 3 {
				wantEcho(t, ctx, c, p, fmt.Sprint("request ", i))
			}
			if n := b.served.Load() - before; n != 3 {
				t.Errorf("the backend served %d requests, want 3", n)
			}
			if s := p.Stats(); s.Accepted != 1 || s.Proxied != 1 || s.Met() != 0 || s.Outages != 0 {
				t.Errorf("stats %+v, want one connection proxied", s)
			}
		})
	}
}

// TestBytesBothWays: bytes cross unchanged in both directions, and a half-close is
// passed on: an echo target sees the client's end of data and answers everything.
func TestBytesBothWays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
				_ = c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	defer wg.Wait()
	defer ln.Close()

	p := startProxy(t, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	mustNil(t, err)
	defer c.Close()
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	writeErr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		writeErr <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	mustNil(t, err)
	mustNil(t, <-writeErr)
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, not the %d sent", len(got), len(data))
	}
}

// TestOutageHangUp: during a hang-up outage each connection is closed at once, even one
// kept alive from before, so requests fail with EOF or a reset and never reach the
// target; afterwards they go through again.
func TestOutageHangUp(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	c := newClient(t)
	ctx := testCtx(t)
	wantEcho(t, ctx, c, p, "before")

	mustNil(t, p.StartOutage(faultproxy.HangUp))
	if !p.InOutage() {
		t.Fatal("InOutage is false during an outage")
	}
	for range 3 {
		var reused bool
		if _, err := post(ctx, c, p.URL(), "during", &reused); !isHangUp(err) {
			t.Fatalf("during a hang-up outage: %v, want EOF or a reset", err)
		}
		if reused {
			t.Fatal("a request went over a connection kept alive from before the outage")
		}
	}
	if n := b.served.Load(); n != 1 {
		t.Fatalf("the backend served %d requests, want only the one before the outage", n)
	}
	mustNil(t, p.EndOutage())
	if p.InOutage() {
		t.Fatal("InOutage is true after EndOutage")
	}
	wantEcho(t, ctx, c, p, "after")
	s := p.Stats()
	if s.Cut != 1 || s.HungUp != 3 || s.Proxied != 2 || s.Outages != 1 || s.Met() != 4 {
		t.Errorf("stats %+v, want the kept-alive connection cut and 3 hung up", s)
	}
}

// TestOutageRefuse: during a refuse outage nothing listens, so requests get a dial
// error with ECONNREFUSED, even with a kept-alive connection from before; afterwards the
// proxy listens on the same port and requests go through again.
func TestOutageRefuse(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	c := newClient(t)
	ctx := testCtx(t)
	wantEcho(t, ctx, c, p, "before")

	mustNil(t, p.StartOutage(faultproxy.Refuse))
	wantRefused(t, ctx, postCall(c, p.URL()))
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialing during a refuse outage: %v, want ECONNREFUSED", err)
	}
	if n := b.served.Load(); n != 1 {
		t.Fatalf("the backend served %d requests, want only the one before the outage", n)
	}
	mustNil(t, p.EndOutage())
	wantEcho(t, ctx, c, p, "after")
	if s := p.Stats(); s.Cut != 1 || s.HungUp != 0 || s.Proxied != 2 || s.Accepted != 2 {
		t.Errorf("stats %+v, want the kept-alive connection cut and nothing accepted during the outage", s)
	}
}

// TestOutageUnanswered: during an unanswered outage a request is held until its client
// gives up; one still waiting when the outage ends gets its connection closed without an
// answer; neither reaches the target.
func TestOutageUnanswered(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	c := newClient(t)
	ctx := testCtx(t)
	wantEcho(t, ctx, c, p, "before")

	mustNil(t, p.StartOutage(faultproxy.Unanswered))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	_, err := post(short, c, p.URL(), "impatient", nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("during an unanswered outage: %v, want the client's deadline", err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("the client gave up after %v, before its deadline", el)
	}

	errs := make(chan error, 1)
	go func() {
		_, err := post(ctx, c, p.URL(), "patient", nil)
		errs <- err
	}()
	waitFor(t, "the patient request held", func() bool { return p.Stats().Held == 2 })
	select {
	case err := <-errs:
		t.Fatalf("a held request returned during the outage: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	mustNil(t, p.EndOutage())
	if err := <-errs; !isHangUp(err) {
		t.Fatalf("a request held when the outage ended: %v, want EOF or a reset", err)
	}
	if n := b.served.Load(); n != 1 {
		t.Fatalf("the backend served %d requests, want only the one before the outage", n)
	}
	wantEcho(t, ctx, c, p, "after")
	if s := p.Stats(); s.Cut != 1 || s.Held != 2 || s.Proxied != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestOutageWindowEndsByItself: an Outage window of each mode fails requests while it
// lasts and ends by itself.
func TestOutageWindowEndsByItself(t *testing.T) {
	b := newBackend(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			p := startProxy(t, b.URL)
			c := newClient(t)
			ctx := testCtx(t)
			wantEcho(t, ctx, c, p, "before")
			const window = 400 * time.Millisecond
			start := time.Now()
			mustNil(t, p.Outage(mode, window))
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			switch mode {
			case faultproxy.Refuse:
				wantRefused(t, short, postCall(c, p.URL()))
			case faultproxy.HangUp:
				if _, err := post(short, c, p.URL(), "during", nil); !isHangUp(err) {
					t.Fatalf("during the window: %v, want EOF or a reset", err)
				}
			case faultproxy.Unanswered:
				if _, err := post(short, c, p.URL(), "during", nil); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("during the window: %v, want the client's deadline", err)
				}
			}
			waitFor(t, "the window's end", func() bool { return !p.InOutage() })
			if el := time.Since(start); el < window {
				t.Fatalf("the window ended after %v, before its %v", el, window)
			}
			wantEcho(t, ctx, c, p, "after")
		})
	}
}

// TestOutageChanges: StartOutage cancels the end of a window and can change the mode of
// an outage in progress; a later window replaces an earlier one.
func TestOutageChanges(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	c := newClient(t)
	ctx := testCtx(t)
	mustNil(t, p.EndOutage()) // no outage: nothing to do
	mustNil(t, p.Outage(faultproxy.Refuse, 100*time.Millisecond))
	mustNil(t, p.StartOutage(faultproxy.HangUp)) // listens again, and cancels the window's end
	time.Sleep(300 * time.Millisecond)
	if !p.InOutage() {
		t.Fatal("the cancelled window's timer ended the outage")
	}
	if _, err := post(ctx, c, p.URL(), "during", nil); !isHangUp(err) {
		t.Fatalf("after refuse turned into hang-up: %v, want EOF or a reset", err)
	}
	mustNil(t, p.Outage(faultproxy.HangUp, time.Hour))
	mustNil(t, p.Outage(faultproxy.Unanswered, 50*time.Millisecond))
	waitFor(t, "the later window's end", func() bool { return !p.InOutage() })
	wantEcho(t, ctx, c, p, "after")
	if s := p.Stats(); s.Outages != 3 {
		t.Errorf("%d outages counted, want 3 (refuse, hang-up, unanswered; hang-up again is no change)", s.Outages)
	}
}

// TestRelistenRetries: when the port is taken at the end of a refuse outage, EndOutage
// keeps trying and listens once it is free again.
func TestRelistenRetries(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	mustNil(t, p.StartOutage(faultproxy.Refuse))
	squatter, err := net.Listen("tcp", p.Addr())
	if err != nil {
		t.Fatalf("taking the port during the outage: %v", err)
	}
	time.AfterFunc(200*time.Millisecond, func() { squatter.Close() })
	start := time.Now()
	mustNil(t, p.EndOutage())
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("EndOutage returned after %v, before the port was free", el)
	}
	wantEcho(t, testCtx(t), newClient(t), p, "after")
}

// TestConnectionLimit: held connections stop at MaxConns, the rest are closed at once,
// and the proxy's goroutines stay bounded and go away when the outage ends.
func TestConnectionLimit(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.URL)
	base := runtime.NumGoroutine()
	mustNil(t, p.StartOutage(faultproxy.Unanswered))
	const extra = 20
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range faultproxy.MaxConns + extra {
		c, err := net.Dial("tcp", p.Addr())
		mustNil(t, err)
		conns = append(conns, c)
	}
	waitFor(t, "every connection handled", func() bool { return p.Stats().Accepted == faultproxy.MaxConns+extra })
	if s := p.Stats(); s.Held != faultproxy.MaxConns || s.Rejected != extra {
		t.Fatalf("stats %+v, want %d held and %d rejected", s, faultproxy.MaxConns, extra)
	}
	if g := runtime.NumGoroutine(); g > base+2*faultproxy.MaxConns+5 {
		t.Errorf("%d goroutines for %d connections (%d before)", g, len(conns), base)
	}
	mustNil(t, p.EndOutage())
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || !isHangUp(err) {
			t.Fatalf("after the outage a held or rejected connection read %d bytes, %v; want it closed", n, err)
		}
	}
	waitFor(t, "the held connections' goroutines gone", func() bool { return runtime.NumGoroutine() <= base })
}

// TestClose: Close during an outage of each mode, with a connection held or proxied and a
// window pending, returns, closes the connections and leaves no goroutine (TestMain's
// goleak check); calls after Close change nothing.
func TestClose(t *testing.T) {
	b := newBackend(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			p, err := faultproxy.Start(b.URL)
			mustNil(t, err)
			held, err := net.Dial("tcp", p.Addr())
			mustNil(t, err)
			defer held.Close()
			if mode == faultproxy.Unanswered {
				mustNil(t, p.StartOutage(mode))
				held.Close()
				held, err = net.Dial("tcp", p.Addr())
				mustNil(t, err)
				waitFor(t, "the connection held", func() bool { return p.Stats().Held == 1 })
			} else {
				waitFor(t, "the connection proxied", func() bool { return p.Stats().Proxied == 1 })
			}
			mustNil(t, p.Outage(mode, time.Hour))
			done := make(chan error, 1)
			go func() { done <- p.Close() }()
			select {
			case err := <-done:
				mustNil(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return during an outage")
			}
			_ = held.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := held.Read(make([]byte, 1)); n != 0 || !isHangUp(err) {
				t.Errorf("after Close a connection read %d bytes, %v; want it closed", n, err)
			}
			mustNil(t, p.Close())
			if err := p.StartOutage(faultproxy.HangUp); err == nil {
				t.Error("StartOutage on a closed proxy did not fail")
			}
			if err := p.Outage(faultproxy.HangUp, time.Second); err == nil {
				t.Error("Outage on a closed proxy did not fail")
			}
			mustNil(t, p.EndOutage())
			if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
				t.Error("a closed proxy accepts connections")
			}
		})
	}
}

// TestBadInput: targets that are not loopback host:port or http:// URLs, unknown modes
// and empty windows are refused with an error.
func TestBadInput(t *testing.T) {
	for _, target := range []string{
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:0", "127.0.0.1:70000",
		"10.0.0.1:80", "example.com:80", "http://192.168.1.1:80",
		"https://127.0.0.1:443", "http://127.0.0.1:80/path", "http://127.0.0.1:80?q=1", "http://u:p@127.0.0.1:80",
	} {
		if p, err := faultproxy.Start(target); err == nil || !strings.HasPrefix(err.Error(), "faultproxy: ") {
			t.Errorf("Start(%q): %v, want an error from faultproxy", target, err)
			if p != nil {
				p.Close()
			}
		}
	}
	b := newBackend(t)
	p := startProxy(t, b.URL)
	for _, err := range []error{
		p.StartOutage(0),
		p.StartOutage(faultproxy.Mode(9)),
		p.Outage(faultproxy.Mode(-1), time.Second),
		p.Outage(faultproxy.HangUp, 0),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "faultproxy: ") {
			t.Errorf("error %v, want one from faultproxy", err)
		}
	}
	if p.InOutage() {
		t.Error("bad input started an outage")
	}
	if got := faultproxy.Mode(9).String(); got != "Mode(9)" {
		t.Errorf("String of an unknown mode: %q", got)
	}
}

// TestDialFailed: a target that does not listen makes the proxy close the client's
// connection, counted as a failed dial.
func TestDialFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	addr := ln.Addr().String()
	ln.Close()
	p := startProxy(t, addr)
	if _, err := post(testCtx(t), newClient(t), p.URL(), "x", nil); !isHangUp(err) {
		t.Fatalf("to a target that does not listen: %v, want EOF or a reset", err)
	}
	if s := p.Stats(); s.DialFailed != 1 || s.Proxied != 0 {
		t.Errorf("stats %+v", s)
	}
}
