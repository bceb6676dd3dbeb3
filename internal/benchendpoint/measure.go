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

// Loop runs op b.N times, timed, and reports the figures of PerItem for items telemetry
// items named unit per op. It stops the benchmark at op's first error.
func Loop(b *testing.B, items int, unit string, op func() error) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	done := PerItem(b, items, unit)
	for i := 0; i < b.N; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	done()
}
