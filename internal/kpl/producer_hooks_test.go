package kpl

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
)

// hookRecorder implements every Hook interface and keeps what it is told.
// Each call reads the producer's Stats, which takes the producer's lock: a
// hook called with the lock held would deadlock.
type hookRecorder struct {
	p       atomic.Pointer[Producer]
	mu      sync.Mutex
	drops   []*DropError
	batches []BatchWritten
	maps    []ShardMapChange
}

func (h *hookRecorder) stats() {
	if p := h.p.Load(); p != nil {
		_ = p.Stats()
	}
}

func (h *hookRecorder) OnDropped(d *DropError) {
	h.stats()
	h.mu.Lock()
	h.drops = append(h.drops, d)
	h.mu.Unlock()
}

func (h *hookRecorder) OnBatchWritten(b BatchWritten) {
	h.stats()
	h.mu.Lock()
	h.batches = append(h.batches, b)
	h.mu.Unlock()
}

func (h *hookRecorder) OnShardMapChanged(c ShardMapChange) {
	h.stats()
	h.mu.Lock()
	h.maps = append(h.maps, c)
	h.mu.Unlock()
}

// dropErrors returns every *DropError in err's tree.
func dropErrors(err error) []*DropError {
	var out []*DropError
	var walk func(error)
	walk = func(e error) {
		if d, ok := e.(*DropError); ok {
			out = append(out, d)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// TestHooksSeeScriptedRun: a hook implementing HookDropped, HookBatchWritten and
// HookShardMapChanged sees exactly the drops, requests and shard map changes of
// a scripted run: the startup map, a request stored whole, one with an entry
// refused (dropped: no retries), one refused whole (dropped: permanent), a split
// read on request, and a request over the two new shards.
func TestHooksSeeScriptedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		f.entryErr = func(call, i int) string {
			if call == 2 && i == 1 {
				return "InternalFailure"
			}
			return ""
		}
		f.putErr = func(call int) error {
			if call == 3 {
				return apiError("AccessDeniedException", "not authorized", smithy.FaultClient)
			}
			return nil
		}
		h := &hookRecorder{}
		cfg := testConfig("s")
		cfg.DisableAggregation = true // one Kinesis record per user record
		cfg.MaxRetries = 0
		cfg.FlushInterval = time.Hour
		cfg.ShardMapRefresh = time.Hour
		cfg.Hooks = []Hook{h, struct{}{}, nil} // hooks implementing nothing are ignored
		restore := setErrorHandler(func(error) {})
		defer restore()
		p := newTestProducer(t, f, cfg)
		h.p.Store(p)

		var flushDrops []*DropError
		round := func(keys ...string) {
			t.Helper()
			for _, k := range keys {
				mustPut(t, p, k, "", []byte("x"), nil)
			}
			flushDrops = append(flushDrops, dropErrors(p.Flush(t.Context()))...)
		}
		round("a", "b", "c") // stored
		round("d", "e", "f") // e refused
		round("g", "h")      // refused whole
		f.split(f.shards[0].rng.Start)
		p.askRefresh()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		keys := make([]string, 20)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
		}
		round(keys...)
		f.mu.Lock()
		lastShards := f.log[len(f.log)-1].shards
		f.mu.Unlock()
		if lastShards != 2 {
			t.Fatalf("the last request went to %d shards, want 2", lastShards)
		}

		h.mu.Lock()
		defer h.mu.Unlock()
		if want := []ShardMapChange{{0, 1}, {1, 2}}; !slices.Equal(h.maps, want) {
			t.Errorf("map changes %v, want %v", h.maps, want)
		}

		if len(h.batches) != 4 {
			t.Fatalf("%d batches: %+v", len(h.batches), h.batches)
		}
		for i := range h.batches {
			if h.batches[i].Latency < 0 {
				t.Errorf("batch %d: latency %v", i, h.batches[i].Latency)
			}
			h.batches[i].Latency = 0 // no time passes in the bubble's fake calls
		}
		if b := h.batches[2]; b.Err == nil || !strings.Contains(b.Err.Error(), "AccessDeniedException") {
			t.Errorf("batch 3: error %v", b.Err)
		}
		h.batches[2].Err = nil
		want := []BatchWritten{
			{Records: 3, UserRecords: 3, Bytes: 6, Shards: 1, Outcome: BatchSucceeded},
			{Records: 3, UserRecords: 3, Bytes: 6, Shards: 1, Outcome: BatchPartial, Failed: 1, ErrorCode: "InternalFailure"},
			{Records: 2, UserRecords: 2, Bytes: 4, Shards: 1, Outcome: BatchFailed, Failed: 2, ErrorCode: "AccessDeniedException"},
			{Records: 20, UserRecords: 20, Shards: 2, Outcome: BatchSucceeded},
		}
		for _, k := range keys {
			want[3].Bytes += int64(len(k) + 1)
		}
		if !slices.Equal(h.batches, want) {
			t.Errorf("batches\n%+v\nwant\n%+v", h.batches, want)
		}

		// The drops: exactly those the Flush calls returned.
		same := func(a, b *DropError) bool {
			return a.Reason == b.Reason && a.Records == b.Records && a.Bytes == b.Bytes && a.Items == b.Items && a.Error() == b.Error()
		}
		if len(h.drops) == 0 || !slices.EqualFunc(h.drops, flushDrops, same) {
			t.Errorf("the hook saw drops %v, Flush returned %v", h.drops, flushDrops)
		}
		var records int
		reasons := map[DropReason]int{}
		for _, d := range h.drops {
			records += d.Records
			reasons[d.Reason] += d.Records
		}
		if s := p.Stats(); records != 3 || int64(records) != s.UserRecordsDropped ||
			reasons[DropRetriesExhausted] != 1 || reasons[DropPermanent] != 2 {
			t.Errorf("dropped %d user records by reason %v; stats %d", records, reasons, s.UserRecordsDropped)
		}
	})
}
