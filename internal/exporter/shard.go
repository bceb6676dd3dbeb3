package exporter

import (
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// TraceConfig is the trace encoders' configuration: the encoding, the record size limit
// and the partitioning (a caller's key function is set by the trace exporter).
//
// With partition_by=shard the encoders group traces by the producer's shard map, one
// snapshot per batch. Without compression their user records are then cut at what two
// user records of an aggregate may hold, about one PUT payload unit with the default
// aggregate_batch_size: a whole shard's traces in one large record would be sent alone
// and pay for its last, part-filled unit, where records of one unit each pack two to an
// aggregate, and the last pieces of consecutive export calls to a shard can share one. Compressed
// records keep the whole limit: they are far smaller, and compress better the larger they
// are.
func (c *Core) TraceConfig() otlpwire.TraceConfig {
	cfg := otlpwire.TraceConfig{Encoding: c.WireEncoding(), MaxRecordSize: c.maxData, Partitioning: c.WirePartitioning()}
	if c.cfg.PartitionBy != config.PartitionByShard {
		return cfg
	}
	cfg.Partitioning, cfg.Shards = otlpwire.PartitionByShard, producerShards{c.producer}
	if c.comp == nil {
		if n := c.producer.AggregateDataSize(traceIDKey, c.tags, 2); n >= minShardRecord {
			cfg.MaxRecordSize = min(n, c.maxData)
		}
	}
	return cfg
}

// traceIDKey is as long as a trace-ID partition key: 32 hex digits.
const traceIDKey = "00000000000000000000000000000000"

// minShardRecord is the smallest record size limit partition_by=shard cuts uncompressed
// records at: with a smaller aggregate_batch_size, records go up to the record limit and
// are sent alone.
const minShardRecord = 4096

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

func (v shardView) Shard(hi, lo uint64) int { return v.m.Shard(aggregation.HashKey{Hi: hi, Lo: lo}) }
