package benchendpoint

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PerItem measures a benchmark whose op exports items telemetry items (spans, data
// points, log records) named unit: call it after ResetTimer, and call the function it
// returns after StopTimer. It reports wall ns/<unit>, the process's CPU ns/<unit> (all
// goroutines; waiting costs no CPU, so a rate limiter's pauses do not count) and
// allocs/<unit>.
func PerItem(b *testing.B, items int, unit string) func() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu0, mallocs0 := cpuTime(), ms.Mallocs
	return func() {
		cpu := cpuTime() - cpu0
		runtime.ReadMemStats(&ms)
		n := float64(b.N * items)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/"+unit)
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/"+unit)
		b.ReportMetric(float64(ms.Mallocs-mallocs0)/n, "allocs/"+unit)
	}
}
