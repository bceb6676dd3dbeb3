package outage_test

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/outage"
)

// TestMain fails the package's tests if any goroutine they started, a window's timer
// among them, is still running when they end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errClosed = errors.New("test: closed")

// recorder is the owner of a controller in the tests: it records every change it is
// asked for, and fails those fail returns an error for.
type recorder struct {
	mu    sync.Mutex
	calls []int
	fail  func(mode int) error // nil: every change succeeds
}

func (r *recorder) change(mode int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, mode)
	if r.fail == nil {
		return nil
	}
	return r.fail(mode)
}

func (r *recorder) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) setFail(fail func(mode int) error) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func newController(t *testing.T) (*outage.Controller[int], *recorder) {
	t.Helper()
	r := &recorder{}
	c := outage.New(r.change, errClosed)
	t.Cleanup(c.Close)
	return c, r
}

// waitFor waits up to 5 s for the recorder to have been asked for want.
func waitFor(t *testing.T, r *recorder, want []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(r.got(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("changes = %v, want %v", r.got(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartAndEnd(t *testing.T) {
	c, r := newController(t)
	if err := c.Start(2); err != nil {
		t.Fatal(err)
	}
	if err := c.End(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.got(), []int{2, 0}; !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

func TestStartReturnsChangeError(t *testing.T) {
	c, r := newController(t)
	boom := errors.New("boom")
	r.setFail(func(int) error { return boom })
	if err := c.Start(1); !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want %v", err, boom)
	}
	if err := c.Timed(1, time.Millisecond); !errors.Is(err, boom) {
		t.Fatalf("Timed = %v, want %v", err, boom)
	}
	if err := c.End(); !errors.Is(err, boom) {
		t.Fatalf("End = %v, want %v", err, boom)
	}
	// A Timed whose change failed schedules no end.
	time.Sleep(50 * time.Millisecond)
	if got, want := r.got(), []int{1, 1, 0}; !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

func TestTimedWindowEndsByItself(t *testing.T) {
	c, r := newController(t)
	start := time.Now()
	if err := c.Timed(3, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, []int{3, 0})
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("the window ended after %v, before its 30ms", took)
	}
}

// overridden begins a window of d with Timed, overrides it with override and reports
// whether the override came before the window's end was due; when it did not (a busy
// machine), the caller tries again with a longer window.
func overridden(t *testing.T, c *outage.Controller[int], d time.Duration, override func() error) bool {
	t.Helper()
	start := time.Now()
	if err := c.Timed(1, d); err != nil {
		t.Fatal(err)
	}
	if err := override(); err != nil {
		t.Fatal(err)
	}
	return time.Since(start) < d/2
}

// checkOverride checks that override, run just after a Timed window began, cancels
// the window's end: after the window would have ended, the changes are the window's
// and want.
func checkOverride(t *testing.T, override func(*outage.Controller[int]) error, want ...int) {
	t.Helper()
	for d := 40 * time.Millisecond; ; d *= 2 {
		if d > 5*time.Second {
			t.Fatal("the machine is too busy to override a window before it ends")
		}
		c, r := newController(t)
		if !overridden(t, c, d, func() error { return override(c) }) {
			c.Close()
			continue
		}
		time.Sleep(2 * d)
		if got, want := r.got(), append([]int{1}, want...); !slices.Equal(got, want) {
			t.Fatalf("changes = %v, want %v", got, want)
		}
		return
	}
}

func TestLaterStartCancelsWindowEnd(t *testing.T) {
	checkOverride(t, func(c *outage.Controller[int]) error { return c.Start(1) }, 1)
}

func TestLaterTimedReplacesWindowEnd(t *testing.T) {
	checkOverride(t, func(c *outage.Controller[int]) error { return c.Timed(2, time.Hour) }, 2)
}

func TestEndCancelsWindowEnd(t *testing.T) {
	checkOverride(t, func(c *outage.Controller[int]) error { return c.End() }, 0)
}

func TestCloseStopsTimer(t *testing.T) {
	checkOverride(t, func(c *outage.Controller[int]) error { c.Close(); return nil })
}

func TestClosed(t *testing.T) {
	c, r := newController(t)
	c.Close()
	c.Close() // a second Close is harmless
	if err := c.Start(1); !errors.Is(err, errClosed) {
		t.Fatalf("Start after Close = %v, want %v", err, errClosed)
	}
	if err := c.Timed(1, time.Millisecond); !errors.Is(err, errClosed) {
		t.Fatalf("Timed after Close = %v, want %v", err, errClosed)
	}
	if err := c.End(); err != nil {
		t.Fatalf("End after Close = %v, want nil", err)
	}
	time.Sleep(20 * time.Millisecond)
	if got := r.got(); len(got) != 0 {
		t.Fatalf("changes after Close = %v, want none", got)
	}
}

// TestCloseWaitsForRunningTimer checks that Close returns only once a window's end,
// already running, has returned, and that nothing is changed after.
func TestCloseWaitsForRunningTimer(t *testing.T) {
	r := &recorder{}
	running, release := make(chan struct{}), make(chan struct{})
	c := outage.New(func(mode int) error {
		err := r.change(mode)
		if mode == 0 {
			close(running)
			<-release
		}
		return err
	}, errClosed)
	if err := c.Timed(1, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	<-running // the timer's change(0) runs and waits for release
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while the window's end was running")
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the window's end returned")
	}
	if got, want := r.got(), []int{1, 0}; !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

// TestFailedWindowEndGoesOn checks that when the change ending a window fails, the
// outage goes on and a later End calls change again and returns its result.
func TestFailedWindowEndGoesOn(t *testing.T) {
	c, r := newController(t)
	boom := errors.New("boom")
	r.setFail(func(mode int) error {
		if mode == 0 {
			return boom
		}
		return nil
	})
	if err := c.Timed(1, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, []int{1, 0})
	if err := c.End(); !errors.Is(err, boom) {
		t.Fatalf("End = %v, want %v", err, boom)
	}
	r.setFail(nil)
	if err := c.End(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.got(), []int{1, 0, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

// takePort listens on a loopback port the system picks; the test closes it when it
// ends, or before.
func takePort(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// keeper is a keep function for Relisten that records the listener it is handed.
type keeper struct {
	take bool
	got  net.Listener
}

func (k *keeper) keep(ln net.Listener) bool {
	k.got = ln
	return k.take
}

// relistenFreed frees a port and listens on it again with Relisten and a keeper that
// takes the listener or not.
func relistenFreed(t *testing.T, take bool) (addr string, k *keeper) {
	t.Helper()
	taken := takePort(t)
	addr = taken.Addr().String()
	taken.Close()
	k = &keeper{take: take}
	if err := outage.Relisten(addr, time.Second, nil, k.keep); err != nil {
		t.Fatal(err)
	}
	if k.got == nil {
		t.Fatal("Relisten did not hand the listener to keep")
	}
	return addr, k
}

func TestRelisten(t *testing.T) {
	addr, k := relistenFreed(t, true)
	defer k.got.Close()
	if got := k.got.Addr().String(); got != addr {
		t.Fatalf("listening on %s, want %s", got, addr)
	}
}

// TestRelistenDeclined checks that a listener keep does not take is closed.
func TestRelistenDeclined(t *testing.T) {
	_, k := relistenFreed(t, false)
	if _, err := k.got.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on the declined listener = %v, want net.ErrClosed", err)
	}
}

// TestRelistenRetries takes the port away for a moment: Relisten waits for it.
func TestRelistenRetries(t *testing.T) {
	taken := takePort(t)
	freed := make(chan struct{})
	go func() {
		defer close(freed)
		time.Sleep(60 * time.Millisecond)
		taken.Close()
	}()
	k := &keeper{take: true}
	err := outage.Relisten(taken.Addr().String(), 5*time.Second, nil, k.keep)
	<-freed
	if err != nil {
		t.Fatal(err)
	}
	k.got.Close()
}

func TestRelistenGivesUp(t *testing.T) {
	taken := takePort(t)
	k := &keeper{take: true}
	start := time.Now()
	err := outage.Relisten(taken.Addr().String(), 50*time.Millisecond, nil, k.keep)
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "listen" {
		t.Fatalf("Relisten on a taken port = %v, want net.Listen's error", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before 50ms", took)
	}
	if k.got != nil {
		t.Fatal("keep was called on failure")
	}
}

func TestRelistenStops(t *testing.T) {
	taken := takePort(t)
	stop := make(chan struct{})
	close(stop)
	k := &keeper{take: true}
	if err := outage.Relisten(taken.Addr().String(), time.Hour, stop, k.keep); err != nil || k.got != nil {
		t.Fatalf("Relisten after stop = %v, keep called: %v; want nil, false", err, k.got != nil)
	}
}
