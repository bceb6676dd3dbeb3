package kpl

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
)

// resourceInUse is Kinesis's answer while the stream is UPDATING (a reshard).
func resourceInUse(stream string) error {
	return apiError("ResourceInUseException",
		"Stream "+stream+" under account 123456789012 not ACTIVE, instead in state UPDATING", smithy.FaultClient)
}

func TestReshardingCode(t *testing.T) {
	for code, want := range map[string]bool{
		"ResourceInUseException":                 true,
		"ProvisionedThroughputExceededException": false,
		"InternalFailure":                        false,
		"AccessDeniedException":                  false,
		"":                                       false,
	} {
		if got := reshardingCode(code); got != want {
			t.Errorf("reshardingCode(%q) = %v, want %v", code, got, want)
		}
	}
	// It is retried as well: the stream comes back ACTIVE.
	if c, code := classifyError(opErr(httpErr(400, resourceInUse("s")))); c != classRetry || code != "ResourceInUseException" {
		t.Errorf("classifyError: %v %q", c, code)
	}
}

// TestProducerResourceInUseRefreshesShardMap: the stream was split after New read its
// map, and the first PutRecords meets ResourceInUseException. The producer reads the map
// at once, before the retry, so the retried aggregates go out re-aggregated for the new
// shards: none lands on an unexpected shard, and a KCL reader gets every user record once.
func TestProducerResourceInUseRefreshesShardMap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 2)
		var puts, lists []time.Time // the hooks run under f.mu
		f.putErr = func(call int) error {
			puts = append(puts, time.Now())
			if call == 1 {
				return resourceInUse("s")
			}
			return nil
		}
		f.listErr = func(int) error { lists = append(lists, time.Now()); return nil }
		cfg := testConfig("s")
		cfg.ShardMapRefresh = time.Hour // no periodic read
		cfg.FlushInterval = time.Hour
		cfg.MinBackoff = 100 * time.Millisecond
		cfg.MaxBackoff = time.Second
		p := newKnobProducer(t, f, cfg, ceilingKnobs)
		f.mu.Lock()
		atStart := len(lists)
		f.mu.Unlock()
		f.split(f.shards[0].rng.Start)

		want := map[string]string{}
		for i := range 3000 {
			d := fmt.Sprintf("r%d", i)
			want[d] = fmt.Sprintf("k%d", i%700)
			mustPut(t, p, want[d], "", []byte(d), nil)
		}
		mustFlush(t, p)
		checkExactlyOnce(t, f, readKCL(t, f), want, nil)

		f.mu.Lock()
		defer f.mu.Unlock()
		if len(puts) < 2 {
			t.Fatalf("%d PutRecords calls", len(puts))
		}
		// A read (of two pages: four shards now) right when the first request failed,
		// and before its retry, a backoff later.
		after := lists[atStart:]
		if len(after) != 2 || !after[0].Equal(puts[0]) || !after[0].Before(puts[1]) {
			t.Errorf("ListShards at %v, PutRecords at %v: no read between the failure and its retry", after, puts)
		}
		if st := p.statsLocked(); st.WrongShard != 0 || st.Shards != 3 || st.Splits == 0 || st.Retries == 0 {
			t.Errorf("stats %+v, want retries re-aggregated for 3 shards and no record on a wrong shard", st)
		}
	})
}

// TestProducerPacesShardMapReads: while every PutRecords meets ResourceInUseException for
// ten seconds, each failed request asks for the map, yet the producer reads it at
// min_backoff, twice that, four times, ... up to max_backoff (here the ceiling of each
// backoff), not once per request. After a quiet spell, a record on an unexpected shard
// has the map read at once again.
func TestProducerPacesShardMapReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 2) // one ListShards page a read
		start := time.Now()
		const storm = 10 * time.Second
		failed := 0
		f.putErr = func(int) error {
			if time.Since(start) < storm {
				failed++
				return resourceInUse("s")
			}
			return nil
		}
		var reads []time.Duration
		f.listErr = func(int) error { reads = append(reads, time.Since(start)); return nil }
		cfg := testConfig("s")
		cfg.ShardMapRefresh = time.Hour
		cfg.FlushInterval = 10 * time.Millisecond
		cfg.MinBackoff = 100 * time.Millisecond
		cfg.MaxBackoff = time.Second
		cfg.MaxRetries = 100
		p := newKnobProducer(t, f, cfg, ceilingKnobs)

		want := map[string]string{}
		for i := 0; time.Since(start) < storm; i++ { // a record every 10 ms
			d := fmt.Sprintf("r%d", i)
			want[d] = fmt.Sprintf("k%d", i)
			mustPut(t, p, want[d], "", []byte(d), nil)
			time.Sleep(10 * time.Millisecond)
		}
		mustFlush(t, p)
		checkExactlyOnce(t, f, readKCL(t, f), want, nil)

		ms := func(d ...int) []time.Duration {
			out := make([]time.Duration, len(d))
			for i, v := range d {
				out[i] = time.Duration(v) * time.Millisecond
			}
			return out
		}
		// New's read; the first failure (the first flush tick, at 10 ms) is read at once;
		// then 100, 300 and 900 ms later, then every second while asks keep coming,
		// and once more for the asks of the last second.
		wantReads := ms(0, 10, 110, 410, 1310, 2310, 3310, 4310, 5310, 6310, 7310, 8310, 9310, 10310)
		f.mu.Lock()
		got := slices.Clone(reads)
		n := failed
		f.mu.Unlock()
		if !slices.Equal(got, wantReads) {
			t.Errorf("ListShards at %v,\nwant %v", got, wantReads)
		}
		if n < 500 {
			t.Errorf("only %d requests failed in the storm", n)
		}
		t.Logf("%d requests refused with ResourceInUseException, %d map reads", n, len(got)-1)

		// A quiet spell, then a split: the first record on an unexpected shard has the
		// map read at once, not a second after the last read.
		time.Sleep(5 * time.Second)
		f.split(f.shards[0].rng.Start)
		for i := range 200 {
			mustPut(t, p, fmt.Sprintf("k%d", i), "", []byte("after"), nil)
		}
		sent := time.Since(start)
		mustFlush(t, p)
		f.mu.Lock()
		last := reads[len(reads)-1]
		f.mu.Unlock()
		if last != sent {
			t.Errorf("after the split the map was read at %v, the records were sent at %v", last, sent)
		}
		if st := p.Stats(); st.WrongShard == 0 || st.Shards != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}
