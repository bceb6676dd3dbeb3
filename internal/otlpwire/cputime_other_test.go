//go:build !unix

package otlpwire

import "time"

// cpuTime is not measured on this platform: benchmarks then report no
// cpu-ns/span.
func cpuTime() time.Duration { return 0 }
