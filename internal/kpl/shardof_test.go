package kpl

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// TestShardMapSnapshot checks that the snapshot predicts the shard the
// producer routes each key to, stays as it was when the producer reads a
// new map, and is empty without a map.
func TestShardMapSnapshot(t *testing.T) {
	f := newFakeKinesis("s", 4)
	p := newTestProducer(t, f, testConfig("s"))
	m := p.ShardMap()
	if m.Len() != 4 {
		t.Fatalf("Len %d, want 4", m.Len())
	}
	for i := range 200 {
		h := aggregation.HashPartitionKey(fmt.Sprint("key-", i))
		s := m.Shard(h)
		if s < 0 || s >= m.Len() || !m.Range(s).Contains(h) {
			t.Fatalf("key %d: shard %d does not hold its hash key", i, s)
		}
		p.mu.Lock()
		want := p.shardForLocked(h).id
		p.mu.Unlock()
		if m.ShardID(s) != want {
			t.Fatalf("key %d: snapshot says %s, the producer routes to %s", i, m.ShardID(s), want)
		}
	}

	f.split(f.shards[0].rng.Start)
	p.askRefresh()
	for p.ShardMap().Len() != 5 {
		time.Sleep(time.Millisecond)
	}
	if m.Len() != 4 || m.ShardID(0) != "shardId-000000000000" {
		t.Errorf("the old snapshot changed: %d shards, first %s", m.Len(), m.ShardID(0))
	}

	var zero ShardMap
	if zero.Len() != 0 || zero.Shard(aggregation.MaxHashKey) != -1 {
		t.Errorf("zero ShardMap: Len %d, Shard %d", zero.Len(), zero.Shard(aggregation.MaxHashKey))
	}
}

func TestShardMapFallback(t *testing.T) {
	f := newFakeKinesis("s", 2)
	f.listErr = func(int) error {
		return apiError("AccessDeniedException", "no kinesis:ListShards", smithy.FaultClient)
	}
	restore := setErrorHandler(func(error) {})
	defer restore()
	cfg := testConfig("s")
	cfg.ShardMapRefresh = time.Hour
	p := newTestProducer(t, f, cfg)
	if m := p.ShardMap(); m.Len() != 0 || m.Shard(aggregation.HashKey{}) != -1 {
		t.Fatalf("without a map: Len %d, Shard %d", m.Len(), m.Shard(aggregation.HashKey{}))
	}
}

func TestAggregateDataSize(t *testing.T) {
	f := newFakeKinesis("s", 1)
	cfg := testConfig("s")
	cfg.AggregateBatchSize = 51200
	p := newTestProducer(t, f, cfg)
	tags := []aggregation.Tag{{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/x-protobuf"}}
	size := func(n, d int) int { // n records of d bytes under distinct 32-byte keys
		var a aggregation.Aggregator
		for i := range n {
			a.Add(fmt.Sprintf("%032d", i), "", make([]byte, d), tags)
		}
		return a.Size() + 32
	}
	for _, n := range []int{1, 2, 3, 4} {
		d := p.AggregateDataSize("0123456789abcdef0123456789abcdef", tags, n)
		if got := size(n, d); got > 51200 {
			t.Fatalf("%d records of %d bytes make an aggregate of %d, over 51200", n, d, got)
		}
		if got := size(n, d+1); got <= 51200 {
			t.Fatalf("%d records of %d bytes would still fit (%d)", n, d+1, got)
		}
	}
	if d := p.AggregateDataSize("k", nil, 0); d != 0 {
		t.Fatalf("no records: %d", d)
	}
	cfg.DisableAggregation = true
	if d := newTestProducer(t, newFakeKinesis("s", 1), cfg).AggregateDataSize("k", tags, 1); d != 0 {
		t.Fatalf("aggregation off: %d", d)
	}
}
