package kpl

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
func (s ShardMap) Shard(h HashKey) int {
	if s.m == nil {
		return -1
	}
	return s.m.find(h)
}

// ShardID returns the ID of the open shard at position i (0 <= i < Len()).
func (s ShardMap) ShardID(i int) string { return s.m.open[i].id }

// Range returns the hash key range of the open shard at position i
// (0 <= i < Len()).
func (s ShardMap) Range(i int) HashRange { return s.m.open[i].rng }
