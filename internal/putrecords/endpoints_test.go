package putrecords_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// This test is outside the package because kinesistest depends on it (through the
// producer).

// TestKinesisEndpoints writes records through the serializer to kinesistest and to the
// emulators (when they run) and reads them back.
func TestKinesisEndpoints(t *testing.T) {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("s", 2); err != nil {
		t.Fatal(err)
	}
	kc := kinesis.NewFromConfig(srv.AWSConfig(), putrecords.WithPutRecords)
	recs := putrecords.SampleRecords()
	out, err := kc.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
		t.Fatalf("%d records failed", n)
	}
	got := srv.Stream("s").AllRecords()
	if len(got) != len(recs) {
		t.Fatalf("%d records stored, want %d", len(got), len(recs))
	}
	byKey := map[string][]byte{}
	for _, r := range got {
		byKey[r.PartitionKey] = r.Data
	}
	for _, e := range recs {
		if d, ok := byKey[*e.PartitionKey]; !ok || !bytes.Equal(d, e.Data) {
			t.Errorf("record %q: stored %x, sent %x", *e.PartitionKey, d, e.Data)
		}
	}

	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			c := testpeers.Client(t, peer.Endpoint)
			name := testpeers.UniqueStreamName(t)
			testpeers.CreateStream(t, c, name, 1)
			ours := kinesis.NewFromConfig(testpeers.Config(peer.Endpoint), putrecords.WithPutRecords)
			out, err := ours.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: recs})
			if err != nil {
				t.Fatal(err)
			}
			if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
				t.Fatalf("%d records failed", n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stored, err := testpeers.ReadStream(ctx, c, name)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, rs := range stored {
				for _, r := range rs {
					n++
					want, ok := byKey[aws.ToString(r.PartitionKey)]
					if !ok || !bytes.Equal(r.Data, want) {
						t.Errorf("record %q: stored %x", aws.ToString(r.PartitionKey), r.Data)
					}
				}
			}
			if n != len(recs) {
				t.Errorf("%d records read back, want %d", n, len(recs))
			}
		})
	}
}
