//go:build unix

package consumer_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system, all threads, so garbage collection
// included) the process has used so far. On a shared machine it moves far less with
// the load of other processes than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
