// Command demo is what `make demo` runs: it talks to a local Kinesis (kinesalite, started by
// the Makefile on 127.0.0.1), creates a 2-shard stream, writes a few records keyed by
// partition key, reads every shard back and prints what landed where. No AWS account is
// needed.
//
//	go run ./examples/demo -endpoint http://127.0.0.1:4567
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv("OTELKINESIS_KINESALITE_ENDPOINT"), "Kinesis endpoint URL (a local emulator)")
	stream := flag.String("stream", "otelkinesis-demo", "stream to create and write")
	shards := flag.Int("shards", 2, "shards of the stream")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "demo: -endpoint is required (make demo starts kinesalite and passes it)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *endpoint, *stream, int32(*shards)); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, endpoint, stream string, shards int32) error {
	client := kinesis.NewFromConfig(aws.Config{
		Region:                "us-east-1",
		Credentials:           credentials.NewStaticCredentialsProvider("demo", "demo", ""),
		HTTPClient:            awshttp.NewBuildableClient(),
		BaseEndpoint:          aws.String(endpoint),
		AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
	})

	fmt.Fprintf(w, "Creating stream %q with %d shards at %s\n", stream, shards, endpoint)
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return fmt.Errorf("create stream %s: %w", stream, err)
		}
	}
	if err := kinesis.NewStreamExistsWaiter(client, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for stream %s: %w", stream, err)
	}

	var entries []types.PutRecordsRequestEntry
	for i := 0; i < 12; i++ {
		key := fmt.Sprintf("order-%d", i%4)
		entries = append(entries, types.PutRecordsRequestEntry{
			PartitionKey: aws.String(key),
			Data:         []byte(fmt.Sprintf("event %d of %s", i/4+1, key)),
		})
	}
	out, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		return fmt.Errorf("put records: %w", err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
		return fmt.Errorf("put records: %d of %d entries failed", n, len(entries))
	}
	fmt.Fprintf(w, "Put %d records under 4 partition keys\n\n", len(entries))

	list, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("list shards: %w", err)
	}
	for _, s := range list.Shards {
		id := aws.ToString(s.ShardId)
		fmt.Fprintf(w, "%s (hash keys %s to %s)\n", id, aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return fmt.Errorf("shard %s: %w", id, err)
		}
		recs, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			return fmt.Errorf("shard %s: %w", id, err)
		}
		for _, r := range recs.Records {
			fmt.Fprintf(w, "  %-8s %s\n", aws.ToString(r.PartitionKey), r.Data)
		}
		if len(recs.Records) == 0 {
			fmt.Fprintln(w, "  (empty)")
		}
	}
	return nil
}
