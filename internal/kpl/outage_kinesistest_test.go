package kpl_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// outageConfig is a producer configuration scaled down so that a real-time outage test
// takes seconds: a delivery budget of ttl, backoff from 20 to 300 ms, requests cut after
// half a second.
func outageConfig(ttl time.Duration) kpl.Config {
	cfg := config("telemetry")
	cfg.RecordTTL = ttl
	cfg.MinBackoff = 20 * time.Millisecond
	cfg.MaxBackoff = 300 * time.Millisecond
	cfg.RequestTimeout = 500 * time.Millisecond
	return cfg
}

// TestKinesistestOutageWithinBudgetLosesNothing: kinesistest hangs up, refuses
// connections or leaves requests unanswered for two seconds in the middle of a run;
// with a budget of eight seconds every record arrives exactly once, none is dropped, and
// the producer holds no more than its byte budget meanwhile.
func TestKinesistestOutageWithinBudgetLosesNothing(t *testing.T) {
	for _, mode := range []kinesistest.OutageMode{kinesistest.OutageHangUp, kinesistest.OutageRefuse, kinesistest.OutageUnanswered} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			srv, st, client := startServer(t, 4)
			cfg := outageConfig(8 * time.Second)
			p := newProducer(t, client, cfg)
			want := map[string]string{}
			var peak int64
			for i := range 600 { // three seconds of records
				if i == 100 {
					if err := srv.Outage(mode, 2*time.Second); err != nil {
						t.Fatal(err)
					}
				}
				d := fmt.Sprintf("r%d", i)
				want[d] = fmt.Sprint("k", i%50)
				if err := p.Put(t.Context(), want[d], "", []byte(d), nil); err != nil {
					t.Fatal(err)
				}
				peak = max(peak, p.Stats().MemoryBytes)
				time.Sleep(5 * time.Millisecond)
			}
			flush(t, p)
			checkExactlyOnce(t, readKCL(t, serverRecords(st)), want)
			s := p.Stats()
			if s.UserRecordsDropped != 0 || s.Retries == 0 {
				t.Errorf("%d dropped, %d retries: want none dropped after retries", s.UserRecordsDropped, s.Retries)
			}
			if mode != kinesistest.OutageRefuse && srv.Stats().OutageRequests == 0 {
				t.Error("no request met the outage")
			}
			if peak > cfg.BacklogBytes {
				t.Errorf("held %d bytes, over backlog_bytes %d", peak, cfg.BacklogBytes)
			}
		})
	}
}

// TestKinesistestOutageLongerThanBudgetDropsExactly: records put at the start of an
// outage longer than their budget are all dropped as expired, and Flush says how many;
// records put once it is over are delivered once.
func TestKinesistestOutageLongerThanBudgetDropsExactly(t *testing.T) {
	for _, mode := range []kinesistest.OutageMode{kinesistest.OutageHangUp, kinesistest.OutageRefuse} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			srv, st, client := startServer(t, 2)
			var mu sync.Mutex
			var dropped int64
			cfg := outageConfig(time.Second)
			cfg.Hooks = []kpl.Hook{kpl.HookDroppedFunc(func(d *kpl.DropError) {
				if errors.Is(d, kpl.ErrExpired) {
					mu.Lock()
					dropped += int64(d.Records)
					mu.Unlock()
				}
			})}
			p := newProducer(t, client, cfg)
			if err := srv.StartOutage(mode); err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				if err := p.Put(t.Context(), fmt.Sprint("early", i), "", []byte(fmt.Sprint("early", i)), nil); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := p.Flush(ctx)
			var de *kpl.DropError
			if !errors.As(err, &de) || de.Reason != kpl.DropExpired || de.Records != 200 {
				t.Fatalf("Flush: %v, want the 200 records expired", err)
			}
			if err := srv.EndOutage(); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for i := range 100 {
				d := fmt.Sprint("late", i)
				want[d] = d
				if err := p.Put(t.Context(), d, "", []byte(d), nil); err != nil {
					t.Fatal(err)
				}
			}
			flush(t, p)
			checkExactlyOnce(t, readKCL(t, serverRecords(st)), want)
			mu.Lock()
			defer mu.Unlock()
			if s := p.Stats(); dropped != 200 || s.UserRecordsDropped != 200 || s.UserRecordsDelivered != 100 {
				t.Errorf("the hook saw %d expired; stats %d dropped, %d delivered; want 200, 200, 100", dropped, s.UserRecordsDropped, s.UserRecordsDelivered)
			}
		})
	}
}
