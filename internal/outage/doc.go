// Package outage holds what the two outage makers of the module's tests share: the
// in-process Kinesis server of package kinesistest and the TCP proxy of package
// faultproxy. Both make an endpoint unreachable in one of three modes, for as long as
// a test says or for a window that ends by itself, and both stop listening during a
// refuse outage and listen on the same port again when it ends.
//
// A [Controller] serializes the changes of an outage. Its owner gives it the function
// that changes the outage in progress to a mode (the zero mode for none); Start, Timed
// and End call it with the controller's lock held, so that no two changes overlap, and
// a window begun by Timed ends by a timer that calls it with the zero mode. A later
// change cancels the end of an earlier window, and Close stops the timer and waits for
// one that is running: no goroutine of the controller is left after it returns.
//
// [Relisten] listens on an address again after a refuse outage, retrying for a while
// should the port be taken for a moment.
//
// The owners keep their own modes, checks, documentation and error messages; this
// package's errors are the owners' (the one given to [New]) or the system's, unwrapped.
package outage
