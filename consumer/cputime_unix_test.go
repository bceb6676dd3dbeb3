//go:build unix

package consumer_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used,
// GC workers included: a benchmark divided by it is not skewed by other
// processes on a busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
