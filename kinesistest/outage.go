package kinesistest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/outage"
)

// OutageMode is how the server is unreachable during an outage (see [Server.StartOutage]
// and [Server.Outage]). The zero value means no outage.
type OutageMode int

const (
	// OutageHangUp accepts connections and reads each request, then closes the
	// connection without an answer: no request is served. Keep-alive connections opened
	// before the outage are hung up on at their next request. The client sees EOF or a
	// connection reset.
	OutageHangUp OutageMode = iota + 1
	// OutageRefuse stops listening: connecting fails with "connection refused"
	// (ECONNREFUSED). Every connection open when the outage begins is closed, so that a
	// keep-alive connection cannot go on working; StartOutage then pauses 20 ms, so that
	// clients in the test's process notice before their next request. A client that
	// has not noticed sends its first request over the closed connection and fails with
	// EOF, a reset or a broken pipe instead. When the outage ends the server listens
	// again on the same port (see [Server.EndOutage]). Refused connections never reach
	// the server and are not counted.
	OutageRefuse
	// OutageUnanswered accepts connections and reads each request, then holds it without
	// an answer until the client gives up, the outage ends or the server closes. A
	// request held when the outage ends is not served: its connection is closed without
	// an answer. It is [Stall] for every request and operation, with nothing released.
	OutageUnanswered
)

// String returns "hang-up", "refuse" or "unanswered", "none" for the zero value.
func (m OutageMode) String() string {
	switch m {
	case 0:
		return "none"
	case OutageHangUp:
		return "hang-up"
	case OutageRefuse:
		return "refuse"
	case OutageUnanswered:
		return "unanswered"
	}
	return fmt.Sprintf("OutageMode(%d)", int(m))
}

func (m OutageMode) valid() bool { return m >= OutageHangUp && m <= OutageUnanswered }

// relistenFor is how long the end of a refuse outage keeps trying to listen on the
// server's port again, should the port be taken for a moment (by a client's outgoing
// connection, say).
const relistenFor = 5 * time.Second

// errServerClosed is what starting an outage on a closed server returns.
var errServerClosed = errors.New("kinesistest: the server is closed")

// outageState is an outage in progress; end is closed when it ends or gives way to
// another mode.
type outageState struct {
	mode OutageMode
	end  chan struct{}
}

// StartOutage begins an outage of the given mode now; it lasts until [Server.EndOutage],
// another StartOutage or [Server.Outage] changes it, or the server closes. Starting the
// mode in progress changes nothing, but cancels the end of an [Server.Outage] window.
// Requests being served when the outage begins go on. A request that meets the outage is
// counted in [Stats] OutageRequests and recorded with its [RecordedRequest] Outage set.
// It fails for a mode that is not one of the constants, on a closed server, or when
// changing from [OutageRefuse] to another mode fails to listen again (see
// [Server.EndOutage]).
//
//	if err := srv.StartOutage(kinesistest.OutageRefuse); err != nil {
//		t.Fatal(err)
//	}
//	defer srv.EndOutage()
func (s *Server) StartOutage(mode OutageMode) error {
	if !mode.valid() {
		return fmt.Errorf("kinesistest: StartOutage: unknown outage mode %d", int(mode))
	}
	return s.out.Start(mode)
}

// Outage begins an outage of the given mode now that ends by itself after d, by a timer.
// It replaces an outage in progress and the end of an earlier window; a later
// StartOutage, EndOutage or Outage call overrides it, and Close stops the timer. It
// fails as [Server.StartOutage] does, and for a d that is not positive. Should the
// server fail to listen again when a refuse window ends, the outage goes on:
// [Server.InOutage] reports true and [Server.EndOutage] tries again and returns the
// error.
func (s *Server) Outage(mode OutageMode, d time.Duration) error {
	if !mode.valid() {
		return fmt.Errorf("kinesistest: Outage: unknown outage mode %d", int(mode))
	}
	if d <= 0 {
		return fmt.Errorf("kinesistest: Outage: the window must be positive, got %v", d)
	}
	return s.out.Timed(mode, d)
}

// EndOutage ends the outage in progress, if any, and cancels the end of an
// [Server.Outage] window. Requests held by [OutageUnanswered] are closed without an
// answer. After [OutageRefuse] the server listens on its port again; if the port is
// taken it retries for a few seconds, and then fails with the outage still in progress
// (a later EndOutage tries again). On a closed server it does nothing.
func (s *Server) EndOutage() error { return s.out.End() }

// InOutage reports whether an outage is in progress.
func (s *Server) InOutage() bool { return s.outage.Load() != nil }

// switchOutageLocked changes the outage in progress to mode, 0 for none. The caller,
// s.out, holds its lock.
func (s *Server) switchOutageLocked(mode OutageMode) error {
	old := s.outage.Load()
	var oldMode OutageMode
	if old != nil {
		oldMode = old.mode
	}
	if mode == oldMode {
		return nil
	}
	if oldMode == OutageRefuse {
		if err := s.ln.resume(s.closing); err != nil {
			return err
		}
	}
	var next *outageState
	if mode != 0 {
		next = &outageState{mode: mode, end: make(chan struct{})}
	}
	// The new state is visible before the connections are closed, so that a connection
	// accepted meanwhile is closed by connState.
	s.outage.Store(next)
	if old != nil {
		close(old.end)
	}
	if mode == OutageRefuse {
		s.ln.pause()
		if s.closeConns() > 0 {
			// Give the clients of this process a moment to see their connections closed,
			// so that their next request dials (and is refused) rather than going over a
			// connection they have not yet noticed is gone.
			time.Sleep(settleConns)
		}
	}
	return nil
}

// settleConns is how long a refuse outage waits after closing open connections.
const settleConns = 20 * time.Millisecond

// meetOutage answers a request that arrived during outage o: by no answer at all.
func (s *Server) meetOutage(w http.ResponseWriter, r *http.Request, c *call, o *outageState) {
	s.counters.outage.Add(1)
	c.rec.Outage = o.mode
	s.logUnserved(c)
	if o.mode == OutageUnanswered {
		select {
		case <-o.end:
		case <-r.Context().Done():
			s.hangUp(w, c, &s.counters.abandoned)
			return
		case <-s.closing:
			s.hangUp(w, c, &s.counters.abandoned)
			return
		}
	}
	s.hangUp(w, c, &s.counters.dropped)
}

// connState tracks the server's connections, so that a refuse outage can close them,
// and closes one accepted while a refuse outage is in progress.
func (s *Server) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.connMu.Lock()
		if o := s.outage.Load(); o != nil && o.mode == OutageRefuse {
			s.connMu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
	case http.StateHijacked, http.StateClosed:
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
	}
}

// closeConns closes every connection of the server and returns how many it closed.
// Their handlers, if any, go on and find the connection closed when they answer.
func (s *Server) closeConns() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	n := len(s.conns)
	for c := range s.conns {
		_ = c.Close()
		delete(s.conns, c)
	}
	return n
}

// pausableListener is the server's listener: a refuse outage closes the listening socket
// (pause) and opens a new one on the same address when it ends (resume), while the
// http.Server's Accept loop waits.
type pausableListener struct {
	addr net.Addr

	mu      sync.Mutex
	ln      net.Listener  // nil while paused or closed
	resumed chan struct{} // while paused: closed by resume or Close
	closed  bool
}

func newPausableListener(ln net.Listener) *pausableListener {
	return &pausableListener{addr: ln.Addr(), ln: ln}
}

// Accept waits for a connection, across pauses; it fails with net.ErrClosed once the
// listener is closed.
func (l *pausableListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		ln, resumed, closed := l.ln, l.resumed, l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if ln == nil {
			<-resumed
			continue
		}
		c, err := ln.Accept()
		if err == nil {
			return c, nil
		}
		l.mu.Lock()
		replaced := l.ln != ln || l.closed
		l.mu.Unlock()
		if !replaced {
			return nil, err
		}
		// Closed by pause or Close: look again.
	}
}

// pause closes the listening socket; connecting gets "connection refused" until resume.
func (l *pausableListener) pause() {
	l.mu.Lock()
	ln := l.ln
	if ln == nil {
		l.mu.Unlock()
		return
	}
	l.ln = nil
	l.resumed = make(chan struct{})
	l.mu.Unlock()
	_ = ln.Close()
}

// resume listens on the same address again, retrying for relistenFor if the port is
// taken. It gives up early, with no error, when closing is closed.
func (l *pausableListener) resume(closing <-chan struct{}) error {
	l.mu.Lock()
	paused := l.ln == nil && !l.closed
	l.mu.Unlock()
	if !paused {
		return nil
	}
	err := outage.Relisten(l.addr.String(), relistenFor, closing, l.resumeWith)
	if err != nil {
		return fmt.Errorf("kinesistest: listening on %s again after the outage: %w", l.addr, err)
	}
	return nil
}

// resumeWith makes ln the listening socket and ends the pause, unless the listener has
// closed meanwhile; it reports whether it took ln.
func (l *pausableListener) resumeWith(ln net.Listener) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.ln = ln
	close(l.resumed)
	return true
}

// Close closes the listening socket, if any, and ends a waiting Accept.
func (l *pausableListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	ln := l.ln
	l.ln = nil
	if ln == nil {
		close(l.resumed)
	}
	l.mu.Unlock()
	if ln != nil {
		return ln.Close()
	}
	return nil
}

// Addr returns the address the listener listens on, paused or not.
func (l *pausableListener) Addr() net.Addr { return l.addr }
