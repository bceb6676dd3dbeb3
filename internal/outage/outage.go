package outage

import (
	"net"
	"sync"
	"time"
)

// Controller serializes the changes of an owner's outage and ends a window begun by
// [Controller.Timed] by itself. Create it with [New]. It is safe for concurrent use.
type Controller[M comparable] struct {
	change    func(mode M) error
	errClosed error

	mu     sync.Mutex // serializes changes; held while change runs
	closed bool       // Close has begun: no more changes
	window uint64     // numbers changes, so that a timer ends only its own window
	timer  *time.Timer
	timers sync.WaitGroup // timer functions scheduled or running
}

// New returns a controller that changes the outage in progress by calling change, with
// the zero M for no outage. change is called with the controller's lock held, one call
// at a time, and must not call the controller. errClosed is what [Controller.Start] and
// [Controller.Timed] return once [Controller.Close] has begun.
func New[M comparable](change func(mode M) error, errClosed error) *Controller[M] {
	return &Controller[M]{change: change, errClosed: errClosed}
}

// Start cancels the end of a window, if any, and calls change(mode); it returns
// change's error. Once Close has begun it returns the errClosed given to [New] and
// calls nothing.
func (c *Controller[M]) Start(mode M) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.errClosed
	}
	c.cancelWindowLocked()
	return c.change(mode)
}

// Timed does what [Controller.Start] does and, if change(mode) succeeds, schedules the
// end of the window: after d a timer calls change with the zero M, unless a later
// Start, Timed, End or Close comes first. An error of that call is dropped: the outage
// goes on, and a later End calls change again and returns its error. The caller checks
// d.
func (c *Controller[M]) Timed(mode M, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.errClosed
	}
	c.cancelWindowLocked()
	if err := c.change(mode); err != nil {
		return err
	}
	window := c.window
	c.timers.Add(1)
	c.timer = time.AfterFunc(d, func() {
		defer c.timers.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed || c.window != window {
			return
		}
		c.timer = nil
		var none M
		_ = c.change(none) // on failure the outage goes on, as documented
	})
	return nil
}

// End cancels the end of a window, if any, and calls change with the zero M; it
// returns change's error. Once Close has begun it does nothing and returns nil.
func (c *Controller[M]) End() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.cancelWindowLocked()
	var none M
	return c.change(none)
}

// Close ends the controller's changes: it stops the timer of a window and waits for a
// timer function already running, so that change is not called after it returns. It
// does not end the outage in progress; that is for the owner's own closing. It is safe
// to call more than once.
func (c *Controller[M]) Close() {
	c.mu.Lock()
	c.closed = true
	c.cancelWindowLocked()
	c.mu.Unlock()
	c.timers.Wait()
}

// cancelWindowLocked stops the timer of a window, if any, and makes a timer already
// running do nothing.
func (c *Controller[M]) cancelWindowLocked() {
	c.window++
	if c.timer != nil && c.timer.Stop() {
		c.timers.Done() // its function will not run
	}
	c.timer = nil
}

// retryEvery is how long Relisten waits between attempts.
const retryEvery = 20 * time.Millisecond

// Relisten listens on addr ("host:port") over TCP again, as the end of a refuse outage
// does, retrying every 20 ms for up to within while listening fails (the port taken
// for a moment by another socket, say), and hands the new listener to keep. keep takes
// it and returns true, or returns false when its owner has closed meanwhile; Relisten
// then closes the listener. Relisten returns the last error of net.Listen, unwrapped,
// once within has passed. It gives up early when stop is closed, and then returns nil
// without calling keep.
func Relisten(addr string, within time.Duration, stop <-chan struct{}, keep func(net.Listener) bool) error {
	deadline := time.Now().Add(within)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			if !keep(ln) {
				_ = ln.Close()
			}
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-time.After(retryEvery):
		}
	}
}
