package kpl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// These tests hold the producer to its delivery budget (RecordTTL) with the default
// retry settings, in a synctest bubble: minutes of outage take milliseconds, timers are
// exact, and the bubble fails if a goroutine is left.

// refused is the error aws-sdk-go-v2 returns when the endpoint refuses the connection.
func refused() error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: &smithyhttp.RequestSendError{
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}
}

// outage makes f fail every PutRecords from start for d, the way mode says: "refuse"
// answers with a refused connection, "hang" never answers (the request hangs until its
// context ends), "503" answers 503 ServiceUnavailable.
func outage(f *fakeKinesis, mode string, start time.Time, d time.Duration) {
	in := func() bool { now := time.Now(); return !now.Before(start) && now.Before(start.Add(d)) }
	f.mu.Lock()
	defer f.mu.Unlock()
	switch mode {
	case "refuse":
		f.putErr = func(int) error {
			if in() {
				return refused()
			}
			return nil
		}
	case "503":
		f.putErr = func(int) error {
			if in() {
				return opErr(httpErr(503, apiError("ServiceUnavailable", "", smithy.FaultServer)))
			}
			return nil
		}
	case "hang":
		f.hang = in
	default:
		panic(mode)
	}
}

// budgetConfig is the default configuration with a test's meter provider.
func budgetConfig() Config {
	cfg := DefaultConfig()
	cfg.StreamName = "s"
	cfg.MeterProvider = testConfig("s").MeterProvider
	return cfg
}

// putSpread puts n user records keyed prefix0..prefixN-1 over the given time, and returns
// what it put.
func putSpread(t *testing.T, p *Producer, prefix string, n int, over time.Duration, want map[string]string) {
	t.Helper()
	for i := range n {
		d := fmt.Sprintf("%s%d", prefix, i)
		want[d] = "k-" + d
		mustPut(t, p, want[d], "", []byte(d), nil)
		time.Sleep(over / time.Duration(n))
	}
}

// TestBudgetOutageShorterThanTTLLosesNothing: with the defaults, an outage of the
// endpoint as long as the delivery budget less a margin loses nothing put before or
// during it, whether the endpoint refuses connections, never answers or answers 503,
// and each record is stored once; memory stays within the byte budget throughout.
func TestBudgetOutageShorterThanTTLLosesNothing(t *testing.T) {
	for _, mode := range []string{"refuse", "hang", "503"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeKinesis("s", 4)
				cfg := budgetConfig()
				d := DefaultRecordTTL - time.Minute // the margin: the backoff's 60 s cap
				if mode == "503" {
					// Answered failures also count against max_retries: its ten retries
					// take at least 138 s, so two minutes are what the defaults cover.
					d = 2 * time.Minute
				}
				p := newTestProducer(t, f, cfg)
				start := time.Now()
				outage(f, mode, start.Add(time.Second), d)
				want := map[string]string{}
				var peak int64
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(100 * time.Millisecond):
							peak = max(peak, p.Stats().MemoryBytes)
						}
					}
				})
				putSpread(t, p, "r", 1500, d, want) // before and all through the outage
				ctx, cancel := context.WithTimeout(t.Context(), DefaultRecordTTL)
				defer cancel()
				if err := p.Flush(ctx); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				close(stop)
				wg.Wait()
				checkExactlyOnce(t, f, readKCL(t, f), want, nil)
				st := p.Stats()
				if st.UserRecordsDropped != 0 || st.UserRecordsDelivered != int64(len(want)) {
					t.Errorf("%d delivered, %d dropped of %d", st.UserRecordsDelivered, st.UserRecordsDropped, len(want))
				}
				if st.Retries == 0 {
					t.Error("no retry: the outage was not met")
				}
				if peak > cfg.BacklogBytes {
					t.Errorf("held %d bytes, over backlog_bytes %d", peak, cfg.BacklogBytes)
				}
			})
		})
	}
}

// TestBudgetOutageLongerThanTTLDropsExactly: records that wait out their whole budget
// are dropped, all of them and only them, with the reason expired, reported to the HookDropped hook,
// otel.Handle and Flush; records put late in the outage still have budget left and are
// delivered when it ends.
func TestBudgetOutageLongerThanTTLDropsExactly(t *testing.T) {
	for _, mode := range []string{"refuse", "hang"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeKinesis("s", 4)
				cfg := budgetConfig()
				var mu sync.Mutex
				dropped := map[DropReason]int64{}
				cfg.Hooks = []Hook{HookDroppedFunc(func(de *DropError) {
					mu.Lock()
					dropped[de.Reason] += int64(de.Records)
					mu.Unlock()
				})}
				var handled []error
				restore := setErrorHandler(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() })
				defer restore()
				p := newTestProducer(t, f, cfg)
				start := time.Now()
				outage(f, mode, start, DefaultRecordTTL+2*time.Minute)
				early := map[string]string{}
				putSpread(t, p, "early", 300, 10*time.Second, early)
				time.Sleep(DefaultRecordTTL + time.Minute - time.Since(start)) // the early ones expired
				late := map[string]string{}
				putSpread(t, p, "late", 300, 10*time.Second, late)
				ctx, cancel := context.WithTimeout(t.Context(), 2*DefaultRecordTTL)
				defer cancel()
				err := p.Flush(ctx)
				var de *DropError
				if !errors.As(err, &de) || de.Reason != DropExpired || de.Records != len(early) || !errors.Is(err, ErrExpired) {
					t.Fatalf("Flush: %v, want the %d early records expired", err, len(early))
				}
				if !strings.Contains(err.Error(), "record_ttl") {
					t.Errorf("Flush: %v does not name record_ttl", err)
				}
				checkExactlyOnce(t, f, readKCL(t, f), late, nil)
				mu.Lock()
				defer mu.Unlock()
				if len(dropped) != 1 || dropped[DropExpired] != int64(len(early)) {
					t.Errorf("the hook saw %v, want %d expired", dropped, len(early))
				}
				n := 0
				for _, err := range handled {
					if errors.Is(err, ErrExpired) {
						n++
					}
				}
				if n == 0 {
					t.Error("no expired drop reached otel.Handle")
				}
				if s := p.Stats(); s.UserRecordsDropped != int64(len(early)) || s.UserRecordsDelivered != int64(len(late)) {
					t.Errorf("stats: %d dropped, %d delivered; want %d and %d", s.UserRecordsDropped, s.UserRecordsDelivered, len(early), len(late))
				}
			})
		})
	}
}

// TestBudgetShutdownUnreachableEndsWithinTTL: with the defaults and an endpoint that
// never answers or refuses, Shutdown(context.Background()) returns within the delivery
// budget of the last record put, and says exactly what it dropped.
func TestBudgetShutdownUnreachableEndsWithinTTL(t *testing.T) {
	for _, mode := range []string{"refuse", "hang"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeKinesis("s", 4)
				p, err := New(t.Context(), f, budgetConfig())
				if err != nil {
					t.Fatal(err)
				}
				outage(f, mode, time.Now(), 24*time.Hour)
				want := map[string]string{}
				putSpread(t, p, "r", 500, 20*time.Second, want)
				last := time.Now()
				err = p.Shutdown(context.Background())
				took := time.Since(last)
				if took > DefaultRecordTTL {
					t.Errorf("Shutdown took %v, over the delivery budget %v", took, DefaultRecordTTL)
				}
				var de *DropError
				if !errors.As(err, &de) || de.Reason != DropExpired || de.Records != len(want) {
					t.Errorf("Shutdown: %v, want all %d records expired", err, len(want))
				}
				if s := p.Stats(); s.UserRecordsDropped != int64(len(want)) || s.UserRecordsDelivered != 0 || s.MemoryBytes != p.Stats().MemoryBytes {
					t.Errorf("stats %+v", s)
				}
				checkReleased(t, p)
			})
		})
	}
}

// TestBudgetRetriesCountOnlyAnswers: attempts that never reached Kinesis do not use up
// max_retries; those Kinesis answered do.
func TestBudgetRetriesCountOnlyAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		cfg := budgetConfig()
		cfg.MaxRetries = 2
		cfg.MaxBackoff = time.Second
		p := newTestProducer(t, f, cfg)
		outage(f, "refuse", time.Now(), time.Minute) // dozens of attempts
		mustPut(t, p, "a", "", []byte("a"), nil)
		ctx, cancel := context.WithTimeout(t.Context(), DefaultRecordTTL)
		defer cancel()
		if err := p.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if s := p.Stats(); s.UserRecordsDelivered != 1 || s.Retries < 10 {
			t.Fatalf("refused for a minute: %+v, want delivered after many retries", s)
		}
		outage(f, "503", time.Now(), time.Minute)
		mustPut(t, p, "b", "", []byte("b"), nil)
		err := p.Flush(ctx)
		var de *DropError
		if !errors.As(err, &de) || de.Reason != DropRetriesExhausted || de.Attempts != 3 {
			t.Fatalf("answered with 503: %v, want retries exhausted after 3 attempts", err)
		}
		if !strings.Contains(err.Error(), "1 user record (") || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("message %q: counts in the wrong grammar", err)
		}
	})
}
