package kpl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// These tests run the producer's goroutines in a synctest bubble, where
// time only moves when every goroutine is blocked: timers are exact.

func TestProducerFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 2)
		cfg := testConfig("s")
		cfg.FlushInterval = 5 * time.Second
		p := newTestProducer(t, f, cfg)
		start := time.Now()
		for i := range 10 {
			mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
		}
		time.Sleep(5*time.Second - time.Millisecond)
		synctest.Wait()
		if put, _ := f.calls(); put != 0 {
			t.Fatalf("%d requests before the flush interval", put)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if put, _ := f.calls(); put != 1 {
			t.Fatalf("%d requests at the flush interval, want 1", put)
		}
		if got := f.log[0].at.Sub(start); got != 5*time.Second {
			t.Errorf("sent after %v", got)
		}
		if st := p.Stats(); st.UserRecordsDelivered != 10 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestProducerFullBatchGoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		cfg := testConfig("s")
		cfg.FlushInterval = time.Hour
		cfg.BatchCount = 5
		cfg.AggregateBatchCount = 10
		cfg.BacklogCount = 1000
		p := newTestProducer(t, f, cfg)
		for i := range 50 { // 5 aggregates of 10: one full batch
			mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
		}
		synctest.Wait()
		if len(f.log) != 1 || f.log[0].entries != 5 {
			t.Fatalf("requests %+v, want one of 5 entries", f.log)
		}
	})
}

func TestProducerBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		f.entryErr = func(call, _ int) string {
			if call <= 4 {
				return "InternalFailure"
			}
			return ""
		}
		cfg := testConfig("s")
		cfg.MinBackoff = 100 * time.Millisecond
		cfg.MaxBackoff = 500 * time.Millisecond
		p, err := newWithKnobs(t.Context(), f, cfg, ceilingKnobs) // backoff always the ceiling
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, p, "k", "", []byte("x"), nil)
		mustFlush(t, p)
		var gaps []time.Duration
		for i := 1; i < len(f.log); i++ {
			gaps = append(gaps, f.log[i].at.Sub(f.log[i-1].at))
		}
		want := []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}
		if fmt.Sprint(gaps) != fmt.Sprint(want) {
			t.Errorf("gaps between attempts %v, want %v", gaps, want)
		}
		if err := p.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProducerRateLimitsPerShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 2)
		cfg := testConfig("s")
		cfg.RateLimit = 100
		cfg.BacklogCount = 100000
		p := newTestProducer(t, f, cfg)
		start := time.Now()
		data := make([]byte, 1000)
		n := 0
		for i := 0; n < 6<<20; i++ { // 6 MiB of 1 KB records, all on shard 0
			pk := fmt.Sprint(i)
			if p.shardForLockedTest(pk) != 0 {
				continue
			}
			mustPut(t, p, pk, "", data, nil)
			n += len(data)
		}
		mustFlush(t, p)
		elapsed := time.Since(start)
		// One second of burst, then 1 MiB/s: at least 5 s for 6 MiB.
		if elapsed < 5*time.Second || elapsed > 7*time.Second {
			t.Errorf("6 MiB into one shard took %v, want 5s to 7s", elapsed)
		}
		// In no one-second window beyond the first did more than 1 MiB go.
		for i, a := range f.log {
			sum := 0
			for _, b := range f.log[i:] {
				if b.at.Sub(a.at) >= time.Second {
					break
				}
				sum += b.bytes
			}
			if a.at.Sub(start) >= time.Second && sum > ShardBytesPerSecond+DefaultAggregateBatchSize {
				t.Errorf("%d bytes in the second from %v", sum, a.at.Sub(start))
			}
		}
	})
}

// shardForLockedTest returns the index of the shard a partition key maps to.
func (p *Producer) shardForLockedTest(pk string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.smap.find(aggregation.HashPartitionKey(pk))
}

// putExporter is a metric exporter that writes each export through a
// producer, as otelkinesis's metric exporter does.
type putExporter struct {
	p       atomic.Pointer[Producer] // set after the provider exists
	exports atomic.Int64
}

func (e *putExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (e *putExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *putExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	e.exports.Add(1)
	n := 0
	for _, sm := range rm.ScopeMetrics {
		n += len(sm.Metrics)
	}
	return e.p.Load().Put(ctx, "metrics", "", []byte(fmt.Sprintf("%d metrics", n)), nil)
}

func (e *putExporter) ForceFlush(ctx context.Context) error { return e.p.Load().Flush(ctx) }
func (e *putExporter) Shutdown(context.Context) error       { return nil }

func TestProducerOwnMetricsThroughItselfDoNotFeedBack(t *testing.T) {
	// The producer's metrics go to a MeterProvider whose exporter writes
	// through the same producer: each collection reads the counters and adds
	// one record; nothing loops.
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 2)
		exp := &putExporter{}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Second))))
		cfg := testConfig("s")
		cfg.MeterProvider = mp
		p, err := New(t.Context(), f, cfg)
		if err != nil {
			t.Fatal(err)
		}
		exp.p.Store(p)
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if n := exp.exports.Load(); n != 10 {
			t.Errorf("%d exports in 10 intervals", n)
		}
		if s := p.Stats(); s.UserRecordsPut != 10 {
			t.Errorf("%d records put by 10 exports: %+v", s.UserRecordsPut, s)
		}
		if err := mp.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
		if err := p.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	})
}

func TestProducerErrorHandlerMayPut(t *testing.T) {
	// A global error handler that logs through the producer (a log exporter
	// on the same stream) receives the producer's drops without deadlock.
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		var fail atomic.Bool
		fail.Store(true)
		f.entryErr = func(int, int) string {
			if fail.Load() {
				return "AccessDeniedException"
			}
			return ""
		}
		cfg := testConfig("s")
		var p *Producer
		var handled atomic.Int64
		restore := setErrorHandler(func(err error) {
			if handled.Add(1) == 1 {
				fail.Store(false)
				_ = p.Put(context.Background(), "log", "", []byte(err.Error()), nil)
			}
		})
		defer restore()
		var err error
		p, err = New(t.Context(), f, cfg)
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, p, "k", "", []byte("x"), nil)
		if err := p.Flush(t.Context()); !errors.Is(err, ErrPermanent) {
			t.Errorf("Flush: %v", err)
		}
		mustFlush(t, p)
		if s := p.Stats(); s.UserRecordsDelivered != 1 || s.UserRecordsDropped != 1 {
			t.Errorf("stats %+v", s)
		}
		if err := p.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	})
}

func TestProducerRetriesShardMapWithBackoff(t *testing.T) {
	// ListShards fails at start with a transient error: the producer starts
	// in the fallback mode and reads the map again after a backoff, not
	// after a whole shard_map_refresh period.
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 4)
		f.listErr = func(call int) error {
			if call <= 2 {
				return apiError("LimitExceededException", "slow down", smithy.FaultClient)
			}
			return nil
		}
		cfg := testConfig("s")
		cfg.MinBackoff = time.Second
		cfg.MaxBackoff = 4 * time.Second
		cfg.ShardMapRefresh = time.Hour
		restore := setErrorHandler(func(error) {})
		defer restore()
		p := newKnobProducer(t, f, cfg, ceilingKnobs)
		if !p.Stats().Fallback {
			t.Fatal("not in fallback mode")
		}
		start := time.Now()
		for p.Stats().Fallback {
			time.Sleep(100 * time.Millisecond)
		}
		if waited := time.Since(start); waited > 10*time.Second {
			t.Errorf("shard map read after %v", waited)
		}
		if _, list := f.calls(); list != 4 { // 2 failures, then 2 pages
			t.Errorf("%d ListShards calls", list)
		}
	})
}

// TestProducerBusyShardsDoNotFragmentBatches: with rate limiting on, a shard takes one
// request at a time, so the records of a shard whose request is in flight wait. When
// requests end at different times, each frees only its own shards; sending their records
// at once, on their own, would split the stream into ever smaller requests. With two or
// more requests in flight, a batch under half a batch waits for one of them
// (smallBatchInflight).
func TestProducerBusyShardsDoNotFragmentBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const shards = 32
		f := newFakeKinesis("s", shards)
		// Answers take 5 to 25 ms, varied, so that requests end apart.
		f.latency = func(call int) time.Duration { return time.Duration(5+call*7%21) * time.Millisecond }
		cfg := testConfig("s")
		cfg.RateLimit = 1000 // limited, so one request a shard, but never short of tokens here
		cfg.AggregateBatchSize = 4 << 10
		cfg.BatchSize = 256 << 10
		cfg.FlushInterval = time.Hour
		cfg.BacklogCount = 1 << 20
		p := newTestProducer(t, f, cfg)
		start := time.Now()
		data := make([]byte, 1000)
		// 40 MB a second for half a second, spread over every shard: more than requests
		// one after the other carry, so several are in flight.
		puts := 0
		for range 500 {
			for range 40 {
				mustPut(t, p, fmt.Sprint(puts), "", data, nil)
				puts++
			}
			time.Sleep(time.Millisecond)
		}
		mustFlush(t, p)
		elapsed := time.Since(start)
		if got := p.Stats().UserRecordsDelivered; got != int64(puts) {
			t.Fatalf("%d of %d user records delivered", got, puts)
		}
		entries, spanned := 0, 0
		for _, l := range f.log {
			entries += l.entries
			spanned += l.shards
		}
		n := len(f.log)
		t.Logf("%d requests, %.1f records and %.1f shards a request, all delivered after %v", n,
			float64(entries)/float64(n), float64(spanned)/float64(n), elapsed)
		if perReq := float64(spanned) / float64(n); perReq < shards/4 {
			t.Errorf("requests span %.1f shards on average, want at least %d: batches fragmented", perReq, shards/4)
		}
	})
}

// TestProducerStalledRequestsHoldSmallBatchesOnlyBriefly: two requests that hang keep a
// small batch waiting only until they are shardBusyGrace old, not until they end.
func TestProducerStalledRequestsHoldSmallBatchesOnlyBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 4)
		f.latency = func(call int) time.Duration {
			if call <= 2 {
				return 10 * time.Second
			}
			return 0
		}
		cfg := testConfig("s")
		cfg.FlushInterval = time.Hour
		p := newTestProducer(t, f, cfg)
		start := time.Now()
		var keys []string // one key on each of three shards
		for i, seen := 0, map[int]bool{}; len(keys) < 3; i++ {
			pk := fmt.Sprint(i)
			if s := p.shardForLockedTest(pk); !seen[s] {
				seen[s] = true
				keys = append(keys, pk)
			}
		}
		var wg sync.WaitGroup
		for _, pk := range keys { // three flushes, each of one record: three requests
			mustPut(t, p, pk, "", []byte("x"), nil)
			wg.Go(func() { mustFlush(t, p) })
			synctest.Wait()
		}
		if put, _ := f.calls(); put != 2 {
			t.Fatalf("%d requests sent at once, want 2 (the third waits)", put)
		}
		wg.Wait()
		if len(f.log) != 3 {
			t.Fatalf("%d requests answered, want 3", len(f.log))
		}
		// f.log is in the order of the answers: the third request, answered at once,
		// went when the first two were shardBusyGrace old.
		if got := f.log[0].at.Sub(start); got != shardBusyGrace {
			t.Errorf("the third request went after %v, want %v", got, shardBusyGrace)
		}
	})
}
