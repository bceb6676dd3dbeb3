//go:build unix

package propagation

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system.
// Benchmarks report it per operation next to the wall-clock ns/op, which a
// busy machine inflates: run them with GOMAXPROCS=1 (-cpu 1) so that it counts
// the benchmark's own work and its garbage collection only.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
