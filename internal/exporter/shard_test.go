package exporter

import (
	"context"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestTraceConfig checks the trace encoders' configuration for each partitioning: the
// producer's shard map with partition_by=shard, uncompressed records cut so that two fit
// an aggregate, and nothing of the sort otherwise.
func TestTraceConfig(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("s", 4); err != nil {
		t.Fatal(err)
	}
	core := func(t *testing.T, mod func(*config.Config)) *Core {
		cfg := config.Default(config.Traces)
		cfg.Producer.StreamName = "s"
		cfg.Endpoint = srv.URL()
		aws := srv.AWSConfig()
		cfg.AWSConfig = &aws
		mod(&cfg)
		c, err := New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
		return c
	}

	byTrace := core(t, func(*config.Config) {}).TraceConfig()
	if byTrace.Partitioning != otlpwire.PartitionByTraceID || byTrace.Shards != nil {
		t.Errorf("trace_id: %+v", byTrace)
	}

	c := core(t, func(c *config.Config) { c.PartitionBy = config.PartitionByShard })
	got := c.TraceConfig()
	if got.Partitioning != otlpwire.PartitionByShard || got.Shards == nil {
		t.Fatalf("shard: %+v", got)
	}
	if got.Shards.ShardMap() == nil || c.ShardMap().Len() != 4 {
		t.Errorf("no shard map: %d shards", c.ShardMap().Len())
	}
	// Two records of the limit under trace-ID keys, with the tags, fill an aggregate.
	var a aggregation.Aggregator
	a.Add(traceIDKey, "", make([]byte, got.MaxRecordSize), c.tags)
	a.Add("10000000000000000000000000000000", "", make([]byte, got.MaxRecordSize), c.tags)
	if n := a.Size() + len(traceIDKey); n > kpl.DefaultConfig().AggregateBatchSize || got.MaxRecordSize < 20000 {
		t.Errorf("uncompressed limit %d: two such records make an aggregate of %d", got.MaxRecordSize, n)
	}

	for name, mod := range map[string]func(*config.Config){
		"gzip":             func(c *config.Config) { c.Compression = config.CompressionGzip },
		"aggregation off":  func(c *config.Config) { c.Producer.DisableAggregation = true },
		"small aggregates": func(c *config.Config) { c.Producer.AggregateBatchSize = 5000 },
	} {
		c := core(t, func(c *config.Config) { c.PartitionBy = config.PartitionByShard; mod(c) })
		if got := c.TraceConfig(); got.Partitioning != otlpwire.PartitionByShard || got.MaxRecordSize != c.MaxRecordData() {
			t.Errorf("%s: limit %d, want the whole %d", name, got.MaxRecordSize, c.MaxRecordData())
		}
	}
}
