package consumer_test

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// exampleAggregate stands in for a record an otelkinesis producer wrote.
func exampleAggregate() []byte {
	var a aggregation.Aggregator
	a.Add("order-1", "", []byte(`{"order":1}`), []aggregation.Tag{{Key: "otelkinesis.signal", Value: "traces"}})
	a.Add("order-2", "", []byte(`{"order":2}`), nil)
	return a.AppendTo(nil)
}

func ExampleDeaggregate() {
	records, err := consumer.Deaggregate(exampleAggregate(), "outer-partition-key")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range records {
		fmt.Printf("%d %s %s %v\n", r.SubSequenceNumber, r.PartitionKey, r.Data, r.Tags)
	}
	// Output:
	// 0 order-1 {"order":1} [{otelkinesis.signal traces}]
	// 1 order-2 {"order":2} []
}

// A GetRecords consumer reading one shard applies the KCL's shard-range rule.
func ExampleDeaggregator_DeaggregateRecord() {
	shard := types.Shard{
		ShardId: aws.String("shardId-000000000000"),
		HashKeyRange: &types.HashKeyRange{
			StartingHashKey: aws.String("0"),
			EndingHashKey:   aws.String("340282366920938463463374607431768211455"),
		},
	}
	d, err := consumer.NewDeaggregator(consumer.WithShard(shard))
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := types.Record{Data: exampleAggregate(), PartitionKey: aws.String("outer"), SequenceNumber: aws.String("42")}
	records, err := d.DeaggregateRecord(rec)
	var outside *consumer.ShardRangeError
	if errors.As(err, &outside) {
		fmt.Println("the producer mixed shards:", len(outside.Outside), "user records elsewhere")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(records), "user records from sequence number", records[0].SequenceNumber)
	// Output: 2 user records from sequence number 42
}

// A Lambda handler reads each record of the event.
func ExampleDeaggregator_DeaggregateLambdaRecord() {
	handler := func(ev events.KinesisEvent) error {
		var d consumer.Deaggregator
		for _, r := range ev.Records {
			records, err := d.DeaggregateLambdaRecord(r)
			if err != nil {
				return fmt.Errorf("record %s: %w", r.Kinesis.SequenceNumber, err)
			}
			for _, u := range records {
				fmt.Printf("%s/%d %s\n", u.SequenceNumber, u.SubSequenceNumber, u.PartitionKey)
			}
		}
		return nil
	}
	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{{Kinesis: events.KinesisRecord{
		Data: exampleAggregate(), PartitionKey: "outer", SequenceNumber: "7"}}}}
	if err := handler(ev); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 7/0 order-1
	// 7/1 order-2
}
