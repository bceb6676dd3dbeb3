package consumer_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// A GetRecords consumer reads each batch into telemetry; a bad record does not stop it.
func ExampleReader_ReadRecords() {
	// What an otelkinesis producer writes: an aggregated record whose user records
	// carry tags saying signal, content type and compression.
	var a aggregation.Aggregator
	a.Add("4bf92f3577b34da6a3ce929d0e0e4736", "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"GET /cart"}]}]}]}`),
		[]aggregation.Tag{{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/json"}})
	records := []types.Record{
		{SequenceNumber: aws.String("49590338271490256608559692538361571095921575989136588898"), PartitionKey: aws.String("k"), Data: a.AppendTo(nil)},
		{SequenceNumber: aws.String("49590338271490256608559692538361571095921575989136588899"), PartitionKey: aws.String("k"), Data: []byte("junk")},
	}

	dec, err := consumer.NewDecoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dec.Close()
	reader, err := consumer.NewReader(dec)
	if err != nil {
		fmt.Println(err)
		return
	}
	batch := reader.ReadRecords("shardId-000000000000", records)
	for _, r := range batch.Records {
		fmt.Println(r.Telemetry.Format.Signal, r.Telemetry.Traces.ResourceSpans[0].ScopeSpans[0].Spans[0].Name)
	}
	for _, e := range batch.Errors {
		fmt.Println(e)
	}
	// Output:
	// traces GET /cart
	// consumer: shard shardId-000000000000, sequence number 49590338271490256608559692538361571095921575989136588899, sub-sequence 0, partition key "k": consumer: user record has no otelkinesis tags and no format was given (WithFormat)
}

// Records the Collector's Kinesis exporter wrote carry no tags: say what they hold.
func ExampleWithFormat() {
	dec, err := consumer.NewDecoder(consumer.WithFormat(consumer.Format{
		Signal:          consumer.Logs,
		ContentType:     consumer.ContentTypeJSON, // encoding: otlp_json
		ContentEncoding: "",                       // compression: none
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dec.Close()
	reader, _ := consumer.NewReader(dec)
	batch := reader.ReadRecords("shardId-000000000000", []types.Record{{
		SequenceNumber: aws.String("1"), PartitionKey: aws.String("k"),
		Data: []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"INFO","body":{"stringValue":"hello"}}]}]}]}`),
	}})
	lr := batch.Records[0].Telemetry.Logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0]
	fmt.Println(lr.SeverityText, lr.Body.GetStringValue())
	// Output: INFO hello
}
