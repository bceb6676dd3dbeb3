// Package faultproxy is a TCP proxy for tests that puts an outage between a client and a
// real endpoint, such as the Kinesis emulators the Makefile starts: a window during which
// the endpoint cannot be reached, in the middle of a run.
//
//	p, err := faultproxy.Start(os.Getenv(testpeers.EnvKinesalite))
//	...
//	defer p.Close()
//	client := testpeers.Client(t, p.URL())
//	...
//	p.Outage(faultproxy.Refuse, 30*time.Second)
//
// The proxy listens on 127.0.0.1 at a port the system picks and forwards each
// connection to the target, which must be a loopback address, copying bytes both ways
// unchanged (a half-close is passed on). It knows nothing of HTTP.
//
// # Outages
//
// [Proxy.StartOutage] and [Proxy.EndOutage], or [Proxy.Outage] for a window that ends by
// itself, make the target unreachable in one of three ways:
//
//   - [HangUp]: each new connection is accepted and closed at once, without a byte
//     read or written. The client sees EOF or a connection reset.
//   - [Refuse]: the proxy stops listening, so connecting fails with "connection
//     refused"; when the outage ends it listens on the same port again.
//   - [Unanswered]: each new connection is accepted and whatever the client sends is
//     read and thrown away, with no answer, until the client gives up and closes it,
//     the outage ends or the proxy closes; then the connection is closed. The client
//     sees its own deadline, or EOF if it waits longer than the outage.
//
// Whatever the mode, every connection open when an outage begins is closed, on both
// sides, so that a kept-alive HTTP connection cannot carry requests through it; nothing
// that crosses the proxy during an outage reaches the target. [Proxy.Stats] counts the
// connections of each fate, so a test can assert that the outage was hit.
//
// # Limits
//
// At most [MaxConns] connections are handled at a time; one more is closed at once and
// counted as rejected. Each proxied connection takes two goroutines, as does each held
// one, and [Proxy.Close] waits for all of them: a test using goleak sees none left.
package faultproxy
