package kpl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// oneShardTransport answers the Kinesis JSON protocol for a stream of one shard that
// stores every record, and keeps the last PutRecords body it was sent.
type oneShardTransport struct {
	lastPut []byte
}

func (tr *oneShardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var out string
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202."); op {
	case "ListShards":
		out = `{"Shards":[{"ShardId":"shardId-000000000000","HashKeyRange":{"StartingHashKey":"0",` +
			`"EndingHashKey":"340282366920938463463374607431768211455"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}}]}`
	case "DescribeStreamSummary":
		out = `{"StreamDescriptionSummary":{"StreamName":"s","StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s",` +
			`"StreamStatus":"ACTIVE","RetentionPeriodHours":24,"StreamCreationTimestamp":1,"EnhancedMonitoring":[],"OpenShardCount":1}}`
	case "PutRecords":
		tr.lastPut = body
		var in struct{ Records []json.RawMessage }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		entries := strings.Repeat(`{"SequenceNumber":"1","ShardId":"shardId-000000000000"},`, len(in.Records))
		out = fmt.Sprintf(`{"FailedRecordCount":0,"Records":[%s]}`, strings.TrimSuffix(entries, ","))
	default:
		return nil, fmt.Errorf("unexpected operation %q", op)
	}
	return &http.Response{
		StatusCode: http.StatusOK, Request: r,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:   io.NopCloser(strings.NewReader(out)),
	}, nil
}

// TestProducerWritesBodiesOnCallerClient: on a Kinesis client the caller built without
// internal/putrecords's serializer, the producer's PutRecords calls still write their
// bodies into the buffer the producer charges for them.
func TestProducerWritesBodiesOnCallerClient(t *testing.T) {
	tr := &oneShardTransport{}
	client := kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://kinesis.test"),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:   &http.Client{Transport: tr},
	})
	p, err := New(t.Context(), client, testConfig("s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(t.Context()) })
	mustPut(t, p, "k", "", []byte("hello"), nil)
	mustFlush(t, p)

	if !bytes.HasPrefix(tr.lastPut, []byte(`{"Records":[`)) {
		t.Fatalf("PutRecords body %q", tr.lastPut)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, buf := range p.st.idle {
		if bytes.HasPrefix(buf[:cap(buf)], tr.lastPut) {
			return
		}
	}
	t.Fatalf("no kept body buffer of the %d holds the body sent", len(p.st.idle))
}
