package faultproxy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine they started is still running
// when they end: the proxy's accept loops, copies, held connections and timers, and the
// tests' own clients and servers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
