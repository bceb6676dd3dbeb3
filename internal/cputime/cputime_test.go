package cputime

import (
	"runtime"
	"testing"
)

// TestGrows: the clocks do not go back, and move with work where they are
// measured.
func TestGrows(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, t0 := Process(), Thread()
	x := 0
	for i := range 50_000_000 {
		x ^= i * i
	}
	_ = x
	p1, t1 := Process(), Thread()
	if p1 < p0 || t1 < t0 {
		t.Errorf("went back: process %v to %v, thread %v to %v", p0, p1, t0, t1)
	}
	if runtime.GOOS == "linux" && (p1 == p0 || t1 == t0) {
		t.Errorf("did not move on linux: process %v, thread %v", p1-p0, t1-t0)
	}
}
