//go:build !linux

package cputime

import "time"

// Thread returns 0: a thread's CPU time is not measured on this platform.
func Thread() time.Duration { return 0 }
