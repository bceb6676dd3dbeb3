package kpl

import "github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"

// When a shard splits or merges under an aggregated record that waits for a
// retry, the producer takes its user records back out and aggregates them
// again for the new shards. It reads them with the reader package consumer
// uses, aggregation.Reader, without the MD5 check: the bytes are the
// producer's own.

// walkAggregate calls fn with each user record of the aggregated record b, in
// order. data aliases b; the strings and tags are fresh and may be kept.
func walkAggregate(b []byte, fn func(partitionKey, explicitHashKey string, data []byte, tags []aggregation.Tag)) error {
	recs, err := aggregation.Reader{SkipChecksum: true}.Append(nil, b)
	if err != nil {
		return err // a *aggregation.FormatError, which says what and where
	}
	for _, r := range recs {
		fn(r.PartitionKey, r.ExplicitHashKey, r.Data, r.Tags)
	}
	return nil
}
