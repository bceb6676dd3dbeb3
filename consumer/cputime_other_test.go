//go:build !unix

package consumer_test

import "time"

var processStart = time.Now()

// processCPU falls back to wall-clock time.
func processCPU() time.Duration { return time.Since(processStart) }
