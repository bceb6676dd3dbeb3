package kpl

import "github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"

// ShardMap is a read-only snapshot of the shard map a Producer routes user
// records by: the stream's open shards in hash key order, as the producer
// last read them with ListShards. A snapshot never changes; a later map is a
// new snapshot. The zero ShardMap has no shards: the producer has no usable
// map yet (and then aggregates only user records of one hash key).
//
// It lets an encoder predict where the producer will send a partition key,
// for example to put the telemetry of several keys bound for one shard in one
// user record, keyed by one of them.
type ShardMap struct{ m *shardMap }

// ShardMap returns the producer's current shard map. It takes the producer's
// lock for a moment: take one snapshot per batch, not one per record.
func (p *Producer) ShardMap() ShardMap {
	p.mu.Lock()
	m := p.st.smap
	p.mu.Unlock()
	return ShardMap{m}
}

// Len returns the number of open shards; 0 for the zero ShardMap.
func (s ShardMap) Len() int {
	if s.m == nil {
		return 0
	}
	return len(s.m.open)
}

// Shard returns the position, in hash key order from 0, of the open shard
// whose hash key range holds h; -1 for the zero ShardMap. It does not
// allocate.
func (s ShardMap) Shard(h aggregation.HashKey) int {
	if s.m == nil {
		return -1
	}
	return s.m.find(h)
}

// ShardID returns the ID of the open shard at position i (0 <= i < Len()).
func (s ShardMap) ShardID(i int) string { return s.m.open[i].id }

// Range returns the hash key range of the open shard at position i
// (0 <= i < Len()).
func (s ShardMap) Range(i int) aggregation.HashRange { return s.m.open[i].rng }

// AggregateDataSize returns the most data bytes each of n user records can hold so that
// all n fit one aggregated record of aggregate_batch_size (within the stream's record
// limit), each under a partition key of its own as long as partitionKey, with no explicit
// hash key, and tagged with tags. It is 0 with aggregation off, when n is below 1, or when
// n empty records do not fit.
func (p *Producer) AggregateDataSize(partitionKey string, tags []aggregation.Tag, n int) int {
	if p.cfg.DisableAggregation || n < 1 {
		return 0
	}
	var empty aggregation.Aggregator
	base := empty.Size()
	size := func(d int) int { // n records of d bytes, and the Kinesis record's own key
		return base + n*(empty.SizeWith(partitionKey, "", d, tags)-base) + len(partitionKey)
	}
	d := (p.aggMax - size(0)) / n // an upper bound: the data's length prefix grows with d
	for d > 0 && size(d) > p.aggMax {
		d--
	}
	return max(d, 0)
}
