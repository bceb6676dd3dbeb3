package reqbuf_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/internal/reqbuf"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

func TestFromEmpty(t *testing.T) {
	if reqbuf.From(context.Background()) != nil {
		t.Error("a buffer in a context without one")
	}
}

// TestBodyWrittenIntoCallersBuffer sends PutRecords through putrecords' serializer with a
// caller's buffer: too small, it is replaced by one of the body's size holding the body;
// large enough, the body is written into it.
func TestBodyWrittenIntoCallersBuffer(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("s", 1); err != nil {
		t.Fatal(err)
	}
	c := kinesis.NewFromConfig(testpeers.Config(srv.URL()), putrecords.WithPutRecords)
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{Data: bytes.Repeat([]byte("x"), 3000), PartitionKey: aws.String("k")},
	}}
	var buf []byte
	if _, err := c.PutRecords(reqbuf.With(t.Context(), &buf), in); err != nil {
		t.Fatal(err)
	}
	if n := putrecords.BodySize(in); len(buf) != n || cap(buf) != n || !bytes.HasPrefix(buf, []byte(`{"Records":[{"Data":"eHh4`)) {
		t.Fatalf("buffer holds %d bytes of %d (body %d): %.30q", len(buf), cap(buf), n, buf)
	}
	big := make([]byte, 0, 1<<20)
	buf = big
	if _, err := c.PutRecords(reqbuf.With(t.Context(), &buf), in); err != nil {
		t.Fatal(err)
	}
	if &buf[0] != &big[:1][0] || len(buf) != putrecords.BodySize(in) {
		t.Errorf("the body did not go into the caller's buffer")
	}
	if got := len(srv.Requests()); got != 2 {
		t.Errorf("%d requests served", got)
	}
}
