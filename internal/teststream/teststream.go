// Package teststream reads a whole Kinesis stream back for tests: every shard, every
// Kinesis record deaggregated into user records, each decoded into its OTLP request.
package teststream

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// Record is one user record read back, with where it was found.
type Record struct {
	consumer.UserRecord
	// Shard is the shard the Kinesis record was read from.
	Shard string
	// OuterPartitionKey and OuterSequence identify the Kinesis record that carried it.
	OuterPartitionKey string
	// Telemetry is the decoded OTLP request.
	Telemetry consumer.Telemetry
}

// Read reads every shard of stream and returns every user record, in shard order and
// then stream order. Each aggregated record is checked against its shard's hash key range
// (the KCL rule): a user record outside it is an error. Decode options apply to
// untagged records.
func Read(ctx context.Context, c *kinesis.Client, stream string, opts ...consumer.DecodeOption) ([]Record, error) {
	byShard, err := testpeers.ReadStream(ctx, c, stream)
	if err != nil {
		return nil, err
	}
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		return nil, err
	}
	dec, err := consumer.NewDecoder(opts...)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	var out []Record
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		deagg, err := consumer.NewDeaggregator(consumer.WithShardHashKeyRange(
			aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)))
		if err != nil {
			return nil, err
		}
		for _, kr := range byShard[id] {
			urs, err := deagg.DeaggregateRecord(kr)
			if err != nil {
				return nil, fmt.Errorf("shard %s record %s: %w", id, aws.ToString(kr.SequenceNumber), err)
			}
			for _, ur := range urs {
				tel, err := dec.Decode(ur)
				if err != nil {
					return nil, fmt.Errorf("shard %s: %w", id, err)
				}
				out = append(out, Record{UserRecord: ur, Shard: id, OuterPartitionKey: aws.ToString(kr.PartitionKey), Telemetry: tel})
			}
		}
	}
	return out, nil
}
