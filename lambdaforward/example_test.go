package lambdaforward_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/otelkinesis/otelkinesis/lambdaforward"
)

// In a Lambda function: lambda.Start(f.Handle). Here a stand-in OTLP receiver takes the
// request, and the event holds one record that is not telemetry, which Handle reports as
// a batch item failure for Lambda to retry (or, once retries are spent, to send to the
// event source mapping's on-failure destination).
func ExampleForwarder_Handle() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer receiver.Close()

	f, err := lambdaforward.New(lambdaforward.WithEndpoint(receiver.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{{
		EventID: "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
		Kinesis: events.KinesisRecord{SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
			PartitionKey: "k", Data: []byte("not telemetry")},
	}}}
	resp, _ := f.Handle(context.Background(), ev)
	for _, failure := range resp.BatchItemFailures {
		fmt.Println("retry from", failure.ItemIdentifier)
	}
	// Output:
	// retry from 49590338271490256608559692538361571095921575989136588898
}
