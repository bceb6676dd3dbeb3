package consumer_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func aggregateOf(t *testing.T) []byte {
	t.Helper()
	var a aggregation.Aggregator
	a.Add("k1", "", []byte("one"), []aggregation.Tag{{Key: "signal", Value: "traces"}})
	a.Add("k2", "7", []byte("two"), nil)
	return a.AppendTo(nil)
}

func wantFromAggregate(seq string) []consumer.UserRecord {
	return []consumer.UserRecord{
		{PartitionKey: "k1", Data: []byte("one"), Tags: []consumer.Tag{{Key: "signal", Value: "traces"}},
			SequenceNumber: seq, Aggregated: true},
		{PartitionKey: "k2", ExplicitHashKey: "7", Data: []byte("two"), SubSequenceNumber: 1,
			SequenceNumber: seq, Aggregated: true},
	}
}

func TestDeaggregateRecord(t *testing.T) {
	var d consumer.Deaggregator
	const seq = "49590338271490256608559692538361571095921575989136588898"
	got, err := d.DeaggregateRecord(types.Record{Data: aggregateOf(t), PartitionKey: aws.String("outer"),
		SequenceNumber: aws.String(seq)})
	if err != nil {
		t.Fatal(err)
	}
	if want := wantFromAggregate(seq); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got, err = d.AppendRecord(got[:0], types.Record{Data: []byte("plain"), PartitionKey: aws.String("pk"),
		SequenceNumber: aws.String("5")})
	want := []consumer.UserRecord{{PartitionKey: "pk", Data: []byte("plain"), SequenceNumber: "5"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("plain: %+v, %v", got, err)
	}
}

func TestDeaggregateLambdaRecord(t *testing.T) {
	// A Lambda event as the service delivers it: data in base64.
	const seq = "49545115243490985018280067714973144582180062593244200961"
	event := `{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"outer",` +
		`"sequenceNumber":"` + seq + `","data":"` + base64.StdEncoding.EncodeToString(aggregateOf(t)) + `",` +
		`"approximateArrivalTimestamp":1545084650.987},"eventSource":"aws:kinesis","eventVersion":"1.0",` +
		`"eventID":"shardId-000000000006:` + seq + `","eventName":"aws:kinesis:record",` +
		`"awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/s"}]}`
	var ev events.KinesisEvent
	if err := json.Unmarshal([]byte(event), &ev); err != nil {
		t.Fatal(err)
	}
	d := newDeaggregator(t)
	got, err := d.DeaggregateLambdaRecord(ev.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := wantFromAggregate(seq); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got, err = d.AppendLambdaRecord(got, ev.Records[0])
	if err != nil || len(got) != 4 || got[3].SubSequenceNumber != 1 {
		t.Fatalf("append: %d records, %v", len(got), err)
	}
}
