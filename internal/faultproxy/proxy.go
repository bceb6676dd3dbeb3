package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/outage"
)

// Mode is how the target is unreachable during an outage (see the package doc). The
// zero value means no outage.
type Mode int

const (
	// HangUp accepts each connection and closes it at once.
	HangUp Mode = iota + 1
	// Refuse stops listening, so connecting is refused, and listens on the same port
	// again when the outage ends.
	Refuse
	// Unanswered accepts each connection and reads and discards what the client sends,
	// without an answer, until the client gives up, the outage ends or the proxy closes.
	Unanswered
)

// String returns "hang-up", "refuse" or "unanswered", "none" for the zero value.
func (m Mode) String() string {
	switch m {
	case 0:
		return "none"
	case HangUp:
		return "hang-up"
	case Refuse:
		return "refuse"
	case Unanswered:
		return "unanswered"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

func (m Mode) valid() bool { return m >= HangUp && m <= Unanswered }

// MaxConns is the number of connections a proxy handles at a time, forwarded or held;
// a connection accepted beyond it is closed at once and counted in [Stats] Rejected.
const MaxConns = 256

const (
	// dialTimeout bounds the connection to the target.
	dialTimeout = 5 * time.Second
	// relistenFor is how long the end of a refuse outage keeps trying to listen on the
	// proxy's port again, should the port be taken for a moment.
	relistenFor = 5 * time.Second
	// settleConns is how long starting an outage waits after closing open connections,
	// so that clients of this process see them closed before their next request.
	settleConns = 20 * time.Millisecond
)

// errClosed is what starting an outage on a closed proxy returns.
var errClosed = errors.New("faultproxy: the proxy is closed")

// Stats counts what a proxy did with the connections it accepted (see [Proxy.Stats]).
// Connections refused by a [Refuse] outage never reach the proxy and are not counted.
type Stats struct {
	// Accepted is the number of connections accepted, in outages or not.
	Accepted int64
	// Proxied is the number of connections forwarded to the target.
	Proxied int64
	// DialFailed is the number of connections closed because the target could not be
	// reached.
	DialFailed int64
	// HungUp is the number of connections closed at once by a [HangUp] outage, or
	// accepted just as a [Refuse] outage began.
	HungUp int64
	// Held is the number of connections held unanswered by an [Unanswered] outage.
	Held int64
	// Cut is the number of connections, forwarded or being connected to the target,
	// closed because an outage began.
	Cut int64
	// Rejected is the number of connections closed at once because [MaxConns] were
	// being handled.
	Rejected int64
	// Outages is the number of outages begun; a change of mode begins another.
	Outages int64
}

// Met returns the number of connections an outage took: HungUp + Held + Cut.
func (s Stats) Met() int64 { return s.HungUp + s.Held + s.Cut }

type counters struct {
	accepted, proxied, dialFailed, hungUp, held, cut, rejected, outages atomic.Int64
}

// link is one forwarded connection: the client's side and the target's.
type link struct {
	client, target net.Conn
	once           sync.Once
}

func (l *link) close() {
	l.once.Do(func() {
		_ = l.client.Close()
		_ = l.target.Close()
	})
}

// Proxy is a running fault-injecting TCP proxy. Create it with [Start] and [Proxy.Close]
// it when done. It is safe for concurrent use.
type Proxy struct {
	target string // host:port
	addr   string // 127.0.0.1:PORT, the same across refuse outages

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection's handler

	mu     sync.Mutex // guards the fields below
	ln     net.Listener
	closed bool
	mode   Mode
	end    chan struct{} // closed when the outage in progress ends; nil when none
	links  map[*link]struct{}
	active int // connections being handled

	change *outage.Controller[Mode] // serializes outage changes; ends Outage windows

	stats counters
}

// Start starts a proxy to target, given as "host:port" or as an http:// URL such as an
// emulator's endpoint ("http://127.0.0.1:4567"). The target's host must be a loopback
// address or "localhost". The proxy listens on 127.0.0.1 at a port the system picks.
func Start(target string) (*Proxy, error) {
	hostport, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening on a loopback port: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		target: hostport,
		addr:   ln.Addr().String(),
		ctx:    ctx,
		cancel: cancel,
		ln:     ln,
		links:  make(map[*link]struct{}),
	}
	p.change = outage.New(p.switchLocked, errClosed)
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// parseTarget checks target and returns it as host:port.
func parseTarget(target string) (string, error) {
	hostport := target
	if u, err := url.Parse(target); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme != "http" {
			return "", fmt.Errorf("faultproxy: target %q: scheme %q, want http or host:port", target, u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", fmt.Errorf("faultproxy: target %q: want only scheme, host and port", target)
		}
		hostport = u.Host
		if u.Port() == "" {
			hostport = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("faultproxy: target %q: want host:port or an http:// URL: %w", target, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("faultproxy: target %q: port %q is not a number from 1 to 65535", target, port)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("faultproxy: target %q: host %q is not a loopback address", target, host)
	}
	return net.JoinHostPort(host, port), nil
}

// URL returns "http://127.0.0.1:PORT", the endpoint to give a client of the target (a
// Kinesis client's BaseEndpoint). It stays the same across refuse outages.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Addr returns the address the proxy listens on, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.addr }

// Target returns the address connections are forwarded to, as host:port.
func (p *Proxy) Target() string { return p.target }

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	c := &p.stats
	return Stats{
		Accepted:   c.accepted.Load(),
		Proxied:    c.proxied.Load(),
		DialFailed: c.dialFailed.Load(),
		HungUp:     c.hungUp.Load(),
		Held:       c.held.Load(),
		Cut:        c.cut.Load(),
		Rejected:   c.rejected.Load(),
		Outages:    c.outages.Load(),
	}
}

// InOutage reports whether an outage is in progress.
func (p *Proxy) InOutage() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode != 0
}

// StartOutage begins an outage of the given mode now; it lasts until [Proxy.EndOutage],
// another StartOutage or [Proxy.Outage] changes it, or the proxy closes. Every
// connection open now is closed. Starting the mode in progress changes nothing, but
// cancels the end of an Outage window. It fails for a mode that is not one of the
// constants, on a closed proxy, or when changing from [Refuse] to another mode fails to
// listen again (see [Proxy.EndOutage]).
func (p *Proxy) StartOutage(mode Mode) error {
	if !mode.valid() {
		return fmt.Errorf("faultproxy: StartOutage: unknown mode %d", int(mode))
	}
	return p.change.Start(mode)
}

// Outage begins an outage of the given mode now that ends by itself after d, by a timer.
// It replaces an outage in progress and the end of an earlier window; a later
// StartOutage, EndOutage or Outage call overrides it, and Close stops the timer. It
// fails as [Proxy.StartOutage] does, and for a d that is not positive. Should the proxy
// fail to listen again when a refuse window ends, the outage goes on: [Proxy.InOutage]
// reports true and [Proxy.EndOutage] tries again and returns the error.
func (p *Proxy) Outage(mode Mode, d time.Duration) error {
	if !mode.valid() {
		return fmt.Errorf("faultproxy: Outage: unknown mode %d", int(mode))
	}
	if d <= 0 {
		return fmt.Errorf("faultproxy: Outage: the window must be positive, got %v", d)
	}
	return p.change.Timed(mode, d)
}

// EndOutage ends the outage in progress, if any, and cancels the end of an Outage
// window. Connections held by [Unanswered] are closed without an answer. After
// [Refuse] the proxy listens on its port again; if the port is taken it retries for a
// few seconds, and then fails with the outage still in progress (a later EndOutage
// tries again). On a closed proxy it does nothing.
func (p *Proxy) EndOutage() error { return p.change.End() }

// switchLocked changes the outage in progress to mode, 0 for none. The caller, p.change,
// holds its lock.
func (p *Proxy) switchLocked(mode Mode) error {
	p.mu.Lock()
	old := p.mode
	p.mu.Unlock()
	if mode == old {
		return nil
	}
	if old == Refuse {
		if err := p.relisten(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.mode = mode
	if p.end != nil {
		close(p.end)
		p.end = nil
	}
	var ln net.Listener
	var cut []*link
	if mode != 0 {
		p.end = make(chan struct{})
		p.stats.outages.Add(1)
		for l := range p.links {
			cut = append(cut, l)
			delete(p.links, l)
		}
		if mode == Refuse {
			ln, p.ln = p.ln, nil
		}
	}
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close() // the accept loop returns
	}
	for _, l := range cut {
		l.close()
		p.stats.cut.Add(1)
	}
	if len(cut) > 0 {
		time.Sleep(settleConns)
	}
	return nil
}

// relisten listens on the proxy's address again and starts an accept loop, retrying for
// relistenFor if the port is taken. It gives up early, with no error, when the proxy
// closes.
func (p *Proxy) relisten() error {
	err := outage.Relisten(p.addr, relistenFor, p.ctx.Done(), p.listenOn)
	if err != nil {
		return fmt.Errorf("faultproxy: listening on %s again after the outage: %w", p.addr, err)
	}
	return nil
}

// listenOn makes ln the proxy's listener and starts its accept loop, unless the proxy
// has closed meanwhile; it reports whether it took ln.
func (p *Proxy) listenOn(ln net.Listener) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return true
}

// serve accepts connections from ln until it is closed.
func (p *Proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or the like: wait a moment and try again.
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		p.accept(c)
	}
}

// accept decides the fate of a new connection.
func (p *Proxy) accept(c net.Conn) {
	p.stats.accepted.Add(1)
	p.mu.Lock()
	mode, end := p.mode, p.end
	switch {
	case p.closed:
		p.mu.Unlock()
		_ = c.Close()
		return
	case mode == HangUp || mode == Refuse:
		p.mu.Unlock()
		_ = c.Close()
		p.stats.hungUp.Add(1)
		return
	case p.active >= MaxConns:
		p.mu.Unlock()
		_ = c.Close()
		p.stats.rejected.Add(1)
		return
	}
	p.active++
	p.wg.Add(1)
	p.mu.Unlock()
	if mode == Unanswered {
		p.stats.held.Add(1)
		go p.hold(c, end)
	} else {
		go p.forward(c)
	}
}

// done ends a connection's handler.
func (p *Proxy) done() {
	p.mu.Lock()
	p.active--
	p.mu.Unlock()
	p.wg.Done()
}

// hold reads and discards what c sends until the client closes it, end is closed or the
// proxy closes; then it closes c.
func (p *Proxy) hold(c net.Conn, end <-chan struct{}) {
	defer p.done()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = io.Copy(io.Discard, c)
	}()
	select {
	case <-gone:
	case <-end:
	case <-p.ctx.Done():
	}
	_ = c.Close()
	<-gone
}

// forward connects c to the target and copies bytes both ways until both directions
// end, an outage begins or the proxy closes.
func (p *Proxy) forward(c net.Conn) {
	defer p.done()
	d := net.Dialer{Timeout: dialTimeout}
	t, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		p.stats.dialFailed.Add(1)
		_ = c.Close()
		return
	}
	l := &link{client: c, target: t}
	p.mu.Lock()
	if p.closed || p.mode != 0 {
		// An outage began, or Close, while connecting.
		p.mu.Unlock()
		l.close()
		p.stats.cut.Add(1)
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	p.stats.proxied.Add(1)

	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		pipe(l, t, c)
	}()
	pipe(l, c, t)
	<-upDone
	l.close()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// pipe copies src to dst. At src's end it passes the half-close on to dst; on an error
// it closes the whole link, which ends the other direction too.
func pipe(l *link, dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return
		}
	}
	l.close()
}

// Close stops the proxy: it stops listening, stops the timer of an Outage window,
// closes every connection and waits until every goroutine of the proxy has returned.
// It is safe to call more than once; later calls return nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ln := p.ln
	p.ln = nil
	var links []*link
	for l := range p.links {
		links = append(links, l)
		delete(p.links, l)
	}
	p.mu.Unlock()
	p.cancel() // ends held connections, dials and a relisten in progress

	p.change.Close() // no window's timer runs after it returns

	var err error
	if ln != nil {
		if cerr := ln.Close(); cerr != nil {
			err = fmt.Errorf("faultproxy: closing the listener on %s: %w", p.addr, cerr)
		}
	}
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	return err
}
