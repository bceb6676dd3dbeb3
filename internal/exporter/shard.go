package exporter

import (
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// TracePartitioning is the trace encoders' partitioning and, with partition_by=shard, the
// producer's shard map they group traces by (nil otherwise).
func (c *Core) TracePartitioning() (otlpwire.Partitioning, otlpwire.ShardMapper) {
	if c.cfg.PartitionBy == config.PartitionByShard {
		return otlpwire.PartitionByShard, producerShards{c.producer}
	}
	return c.WirePartitioning(), nil
}

// ShardMap returns the producer's current shard map: the one the trace encoders group by.
func (c *Core) ShardMap() kpl.ShardMap { return c.producer.ShardMap() }

// producerShards hands the encoders the producer's shard map, one snapshot per batch.
type producerShards struct{ p *kpl.Producer }

func (s producerShards) ShardMap() otlpwire.ShardMap {
	m := s.p.ShardMap()
	if m.Len() == 0 {
		return nil // no usable map: the producer aggregates one hash key at a time
	}
	return shardView{m}
}

// shardView is one snapshot; it holds only a pointer, so it goes into an interface without
// allocating.
type shardView struct{ m kpl.ShardMap }

func (v shardView) Shard(hi, lo uint64) int { return v.m.Shard(kpl.HashKey{Hi: hi, Lo: lo}) }
