package kpl

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestTokenBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		b := newTokenBucket(1000, 1000, now)
		if w := b.wait(1000, now); w != 0 {
			t.Fatalf("full bucket: wait %v", w)
		}
		b.take(1000)
		if w := b.wait(1, now); w != time.Millisecond {
			t.Errorf("empty bucket: wait %v for 1 token at 1000/s", w)
		}
		if w := b.wait(500, now); w != 500*time.Millisecond {
			t.Errorf("wait %v for 500 tokens", w)
		}
		time.Sleep(250 * time.Millisecond)
		if w := b.wait(500, time.Now()); w != 250*time.Millisecond {
			t.Errorf("after 250ms: wait %v for 500 tokens", w)
		}
		// Never more than the burst, however long idle.
		time.Sleep(time.Hour)
		b.refill(time.Now())
		if b.tokens != 1000 {
			t.Errorf("tokens %v after an idle hour", b.tokens)
		}
		// A take above the burst waits for a full bucket and leaves a debt.
		if w := b.wait(3000, time.Now()); w != 0 {
			t.Errorf("oversize take waits %v on a full bucket", w)
		}
		b.take(3000)
		if w := b.wait(1, time.Now()); w != 2001*time.Millisecond {
			t.Errorf("after a 3000 take: wait %v", w)
		}
	})
}

func TestShardLimiterHoldsCapacity(t *testing.T) {
	// Sending 50 KiB records as fast as allowed for 10 s moves at most one
	// burst plus 10 s of capacity.
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		l := newShardLimiter(100, start)
		sent := 0
		for time.Since(start) < 10*time.Second {
			if w := l.wait(50<<10, time.Now()); w > 0 {
				time.Sleep(w)
				continue
			}
			l.take(50 << 10)
			sent += 50 << 10
		}
		if lo, hi := 10*ShardBytesPerSecond, 11*ShardBytesPerSecond+50<<10; sent < lo || sent > hi {
			t.Errorf("sent %d bytes in 10s, want %d to %d", sent, lo, hi)
		}
		l.throttled(time.Now())
		if w := l.wait(1, time.Now()); w == 0 {
			t.Error("no wait after a throttle")
		}
	})
}

func TestShardLimiterRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		l := newShardLimiter(50, start) // 500 records/s
		n := 0
		for time.Since(start) < 4*time.Second {
			if w := l.wait(10, time.Now()); w > 0 {
				time.Sleep(w)
				continue
			}
			l.take(10)
			n++
		}
		if n < 2000 || n > 2501 {
			t.Errorf("%d records in 4s at 500/s with a 500 burst", n)
		}
	})
}
