package putrecords_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// A Kinesis client whose PutRecords bodies are written by this package: the call and its
// result are the SDK's as ever.
func ExampleWithPutRecords() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, _ := srv.CreateStream("telemetry", 1)

	client := kinesis.NewFromConfig(srv.AWSConfig(), putrecords.WithPutRecords)
	out, err := client.PutRecords(context.Background(), &kinesis.PutRecordsInput{
		StreamName: aws.String("telemetry"),
		Records: []types.PutRecordsRequestEntry{
			{Data: []byte("first"), PartitionKey: aws.String("a")},
			{Data: []byte("second"), PartitionKey: aws.String("b")},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("failed:", aws.ToInt32(out.FailedRecordCount))
	for _, r := range stream.AllRecords() {
		fmt.Printf("%s %s\n", r.PartitionKey, r.Data)
	}
	// Output:
	// failed: 0
	// a first
	// b second
}
