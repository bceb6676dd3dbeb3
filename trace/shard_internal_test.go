package trace

// ShardCount returns how many open shards the exporter's producer knows of: the map its
// encoders group traces by with partition_by=shard.
func ShardCount(e *Exporter) int { return e.core.ShardMap().Len() }
