// Package backoff holds the waits between attempts that the producer, the
// OTLP/HTTP client and the otelkinesis command share: a ceiling that grows by
// a factor from one attempt to the next up to a bound, a random wait under it
// ("equal" or "full" jitter), and a sleep that ends early with its context.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Ceiling returns min(maxD, minD * growth^(attempt-1)): the ceiling of the
// wait before attempt number attempt (1 for the first retry) when each ceiling
// is growth times the one before, from minD up to maxD. It does not overflow,
// whatever the bounds. growth is at least 1 and minD at most maxD.
func Ceiling(attempt int, minD, maxD time.Duration, growth int) time.Duration {
	c := minD
	for i := 1; i < attempt && c < maxD; i++ {
		if c > maxD/time.Duration(growth) {
			return maxD // c * growth > maxD
		}
		c *= time.Duration(growth)
	}
	return min(c, maxD)
}

// Equal returns a random wait in [c/2, c] ("equal jitter"): random enough
// that many waiting callers do not retry together, and never shorter than
// half the ceiling, so that retries cannot run through their number in a
// moment. rnd returns a value in [0, n]; nil means math/rand/v2.
func Equal(c time.Duration, rnd func(n int64) int64) time.Duration {
	half := c / 2
	return half + random(c-half, rnd)
}

// Full returns a random wait in [0, c] ("full jitter"). rnd returns a value
// in [0, n]; nil means math/rand/v2.
func Full(c time.Duration, rnd func(n int64) int64) time.Duration {
	return random(c, rnd)
}

// random returns a duration in [0, n] drawn by rnd, or by math/rand/v2 if
// rnd is nil.
func random(n time.Duration, rnd func(n int64) int64) time.Duration {
	if rnd == nil {
		return time.Duration(rand.Int64N(int64(n) + 1))
	}
	return time.Duration(rnd(int64(n)))
}

// Sleep waits for d or until ctx ends, and then returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
