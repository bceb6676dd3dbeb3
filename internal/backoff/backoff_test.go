package backoff

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		attempt    int
		minD, maxD time.Duration
		growth     int
		want       time.Duration
	}{
		{0, 100 * ms, 60 * time.Second, 3, 100 * ms},
		{1, 100 * ms, 60 * time.Second, 3, 100 * ms},
		{2, 100 * ms, 60 * time.Second, 3, 300 * ms},
		{7, 100 * ms, 60 * time.Second, 3, 60 * time.Second}, // 72.9s capped
		{6, 100 * ms, 60 * time.Second, 3, 24300 * ms},
		{3, 200 * ms, 5 * time.Second, 2, 800 * ms},
		{10, 200 * ms, 5 * time.Second, 2, 5 * time.Second},
		{1, 5 * ms, 5 * ms, 2, 5 * ms},
		{1000, time.Nanosecond, math.MaxInt64, 3, math.MaxInt64}, // no overflow on the way
		{5, time.Second, time.Second, 1, time.Second},
	} {
		if got := Ceiling(c.attempt, c.minD, c.maxD, c.growth); got != c.want {
			t.Errorf("Ceiling(%d, %v, %v, %d) = %v, want %v", c.attempt, c.minD, c.maxD, c.growth, got, c.want)
		}
	}
}

func TestJitter(t *testing.T) {
	top := func(n int64) int64 { return n }
	bottom := func(int64) int64 { return 0 }
	c := 900 * time.Millisecond
	if got := Equal(c, top); got != c {
		t.Errorf("Equal at the top: %v", got)
	}
	if got := Equal(c, bottom); got != c/2 {
		t.Errorf("Equal at the bottom: %v", got)
	}
	if got := Full(c, top); got != c {
		t.Errorf("Full at the top: %v", got)
	}
	if got := Full(c, bottom); got != 0 {
		t.Errorf("Full at the bottom: %v", got)
	}
	for range 1000 {
		if d := Equal(c, nil); d < c/2 || d > c {
			t.Fatalf("Equal: %v outside [%v, %v]", d, c/2, c)
		}
		if d := Full(c, nil); d < 0 || d > c {
			t.Fatalf("Full: %v outside [0, %v]", d, c)
		}
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with an ended context: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Error("Sleep waited past the end of its context")
	}
}
