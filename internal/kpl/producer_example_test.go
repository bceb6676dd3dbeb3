package kpl_test

import (
	"context"
	"fmt"

	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// A producer aggregates user records per shard and sends them with
// PutRecords; Flush waits until they are stored.
func ExampleProducer() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, _ := srv.CreateStream("telemetry", 2)
	client := kinesisClient(srv.URL())

	cfg := kpl.DefaultConfig()
	cfg.StreamName = "telemetry"
	cfg.Hooks = []kpl.Hook{kpl.HookDroppedFunc(func(d *kpl.DropError) {
		fmt.Println("dropped:", d)
	})}
	ctx := context.Background()
	p, err := kpl.New(ctx, client, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Shutdown(ctx)

	tags := []aggregation.Tag{{Key: "signal", Value: "logs"}}
	for i := range 100 {
		key := fmt.Sprintf("trace-%d", i%10)
		if err := p.Put(ctx, key, "", []byte(fmt.Sprintf("log record %d", i)), tags); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := p.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}

	users := 0
	for _, r := range stream.AllRecords() {
		rs, _ := consumer.Deaggregate(r.Data, r.PartitionKey)
		users += len(rs)
	}
	s := p.Stats()
	fmt.Printf("%d user records delivered, %d read back from %d Kinesis records\n",
		s.UserRecordsDelivered, users, len(stream.AllRecords()))
	// Output:
	// 100 user records delivered, 100 read back from 2 Kinesis records
}

// kinesisClient returns a client for a local endpoint with the SDK's
// retries off, as the producer wants it.
func kinesisClient(endpoint string) kpl.Client {
	return awskinesis.NewFromConfig(testpeers.Config(endpoint))
}
