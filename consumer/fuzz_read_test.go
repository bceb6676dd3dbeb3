package consumer_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

// FuzzReader reads any bytes as a Kinesis record, tagged or not, in every format: it
// never panics, and every user record comes out either decoded or as an error naming it.
// Each batch is released, so that the next decodes into reused memory.
func FuzzReader(f *testing.F) {
	for i, fm := range otlpsample.Formats() {
		data, err := otlpsample.Encode(fm, otlpsample.Request(fm.Signal, i))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(i))
		var a aggregation.Aggregator
		a.Add("k", "", data, otlpsample.Tags(fm))
		f.Add(a.AppendTo(nil), uint8(i))
	}
	formats := otlpsample.Formats()
	readers := make([]*consumer.Reader, len(formats))
	for i, fm := range formats {
		dec, err := consumer.NewDecoder(consumer.WithFormat(fm), consumer.WithMaxDecodedSize(1<<20))
		if err != nil {
			f.Fatal(err)
		}
		defer dec.Close()
		if readers[i], err = consumer.NewReader(dec); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		r := readers[int(format)%len(readers)]
		b := r.ReadRecords("shardId-000000000000", []types.Record{kinesisRecord("1", "k", data)})
		users, err := consumer.Deaggregate(data, "k")
		switch {
		case err != nil:
			if len(b.Records) != 0 || len(b.Errors) != 1 || b.Errors[0].SubSequenceNumber != -1 {
				t.Fatalf("deaggregation failed (%v) but the batch holds %d records, errors %v", err, len(b.Records), b.Err())
			}
		case len(b.Records)+len(b.Errors) != len(users):
			t.Fatalf("%d user records, but %d decoded and %d errors", len(users), len(b.Records), len(b.Errors))
		}
		for _, rec := range b.Records {
			if rec.Telemetry.Message() == nil {
				t.Fatal("a decoded record without telemetry")
			}
		}
		b.Release() // the next input decodes into the same memory
	})
}
