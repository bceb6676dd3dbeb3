package kinesistest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// Start a server, point an aws-sdk-go-v2 Kinesis client at it with BaseEndpoint, write
// records and read them back from each shard.
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("events", 2); err != nil {
		log.Fatal(err)
	}

	client := kinesis.NewFromConfig(aws.Config{
		Region:                "us-east-1",
		Credentials:           credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:            kinesistest.HTTPClient(),
		Retryer:               func() aws.Retryer { return aws.NopRetryer{} },
		AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
	}, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(srv.URL())
	})
	ctx := context.Background()

	put, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{
		StreamName: aws.String("events"),
		Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("alpha"), Data: []byte("first")},
			{PartitionKey: aws.String("beta"), Data: []byte("second")},
			{PartitionKey: aws.String("gamma"), Data: []byte("third")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("failed:", aws.ToInt32(put.FailedRecordCount))

	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName:        aws.String("events"),
			ShardId:           aws.String(shard),
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			log.Fatal(err)
		}
		got, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range got.Records {
			fmt.Printf("%s: %s %s\n", shard, aws.ToString(r.PartitionKey), r.Data)
		}
	}
	// Output:
	// failed: 0
	// shardId-000000000000: alpha first
	// shardId-000000000000: gamma third
	// shardId-000000000001: beta second
}

// Script request faults: the next PutRecords answers 503 ServiceUnavailable, the one
// after it succeeds. The server's log shows both attempts.
func ExampleServer_InjectRequests() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, err := srv.CreateStream("events", 1)
	if err != nil {
		log.Fatal(err)
	}
	client := kinesis.NewFromConfig(srv.AWSConfig())

	srv.InjectRequests(1, kinesistest.ServiceUnavailable(), "PutRecords")
	for i := 0; i < 2; i++ {
		_, err := client.PutRecords(context.Background(), &kinesis.PutRecordsInput{
			StreamName: aws.String("events"),
			Records:    []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("v")}},
		})
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae):
			fmt.Println("error:", ae.ErrorCode())
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println("ok")
		}
	}
	for _, r := range srv.RequestsFor("PutRecords") {
		fmt.Printf("request %d: %d %q\n", r.Seq, r.StatusCode, r.ErrorType)
	}
	fmt.Println("stored:", len(stream.AllRecords()))
	// Output:
	// error: ServiceUnavailable
	// ok
	// request 1: 503 "ServiceUnavailable"
	// request 2: 200 ""
	// stored: 1
}

// Refuse every record routed to one shard, as a hot shard would; the PutRecords answer
// reports each entry's outcome.
func ExampleServer_InjectEntryShards() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("events", 2); err != nil {
		log.Fatal(err)
	}
	client := kinesis.NewFromConfig(srv.AWSConfig())

	srv.InjectEntryShards(kinesistest.EntryThrottled, "shardId-000000000001")
	out, err := client.PutRecords(context.Background(), &kinesis.PutRecordsInput{
		StreamName: aws.String("events"),
		Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("alpha"), Data: []byte("first")},
			{PartitionKey: aws.String("beta"), Data: []byte("second")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range out.Records {
		if r.ErrorCode != nil {
			fmt.Println(aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		} else {
			fmt.Println("stored on", aws.ToString(r.ShardId))
		}
	}
	fmt.Println("throttled:", srv.Stats().RecordsThrottled)
	// Output:
	// stored on shardId-000000000000
	// ProvisionedThroughputExceededException Rate exceeded for shard shardId-000000000001 in stream events under account 123456789012.
	// throttled: 1
}

// Make the endpoint unreachable for a window that ends by itself: during it every
// request is hung up on; afterwards requests are served again, and the server's
// counters show how many met the outage.
func ExampleServer_Outage() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, err := srv.CreateStream("events", 1)
	if err != nil {
		log.Fatal(err)
	}
	client := kinesis.NewFromConfig(srv.AWSConfig())
	put := func() error {
		_, err := client.PutRecord(context.Background(), &kinesis.PutRecordInput{
			StreamName: aws.String("events"), PartitionKey: aws.String("k"), Data: []byte("v"),
		})
		return err
	}

	if err := srv.Outage(kinesistest.OutageHangUp, 200*time.Millisecond); err != nil {
		log.Fatal(err)
	}
	fmt.Println("during the outage, failed:", put() != nil)
	for srv.InOutage() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("after it:", put())
	fmt.Println("stored:", len(stream.AllRecords()), "outage requests:", srv.Stats().OutageRequests)
	// Output:
	// during the outage, failed: true
	// after it: <nil>
	// stored: 1 outage requests: 1
}
