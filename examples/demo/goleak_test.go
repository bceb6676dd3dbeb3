package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine they started is still running
// when they end, but for the idle keep-alive connections of run's Kinesis client: an
// awshttp.BuildableClient has no way to close them, and they end with its transport's
// idle timeout (or, in the demo, with the process).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}
