package kinesistest_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestRequestLog checks what the server records of each request: operation, stream
// (however named), the SDK's attempt header, the headers, each entry with its outcome,
// and the answer.
func TestRequestLog(t *testing.T) {
	clock := newFakeClock()
	srv, c, st := setup(t, "log", 2, kinesistest.WithClock(clock.Now))
	ctx := testCtx(t)
	srv.InjectEntryFunc(func(e kinesistest.EntryInfo) kinesistest.EntryFault {
		if e.PartitionKey == "refuse" {
			return kinesistest.EntryThrottled
		}
		return kinesistest.EntryOK
	})
	es := []types.PutRecordsRequestEntry{entry("a", "first"), withEHK(entry("b", "second"), "0"), entry("refuse", "third")}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String(st.ARN()), Records: es})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(st.Name()), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: []types.PutRecordsRequestEntry{entry("", "bad")}})
	wantCode(t, err, "ValidationException")

	reqs := srv.Requests()
	var ops []string
	for _, r := range reqs {
		ops = append(ops, r.Operation+"@"+r.Stream)
	}
	if got := strings.Join(ops, " "); got != "PutRecords@log GetShardIterator@log GetRecords@log PutRecords@log" {
		t.Fatalf("recorded %s", got)
	}
	for i, r := range reqs {
		if r.Seq != int64(i+1) || r.Attempt != 1 || r.MaxAttempts != 1 || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			t.Errorf("request %d: seq %d attempt %d/%d auth %q", i, r.Seq, r.Attempt, r.MaxAttempts, r.Header.Get("Authorization"))
		}
	}
	if !reqs[0].Time.Equal(clock.Now().Add(-time.Second)) || !reqs[1].Time.Equal(clock.Now()) {
		t.Errorf("times %v %v", reqs[0].Time, reqs[1].Time)
	}
	put := reqs[0]
	if put.StatusCode != 200 || put.ErrorType != "" || len(put.Entries) != 3 {
		t.Fatalf("PutRecords recorded %+v", put)
	}
	for i, e := range put.Entries {
		if e.PartitionKey != *es[i].PartitionKey || aws.ToString(es[i].ExplicitHashKey) != e.ExplicitHashKey || !bytes.Equal(e.Data, es[i].Data) {
			t.Errorf("entry %d: %+v", i, e)
		}
		if e.ShardID != aws.ToString(out.Records[i].ShardId) || e.SequenceNumber != aws.ToString(out.Records[i].SequenceNumber) ||
			e.ErrorCode != aws.ToString(out.Records[i].ErrorCode) || e.ErrorMessage != aws.ToString(out.Records[i].ErrorMessage) {
			t.Errorf("entry %d outcome %+v, client saw %+v", i, e, out.Records[i])
		}
	}
	if put.Entries[2].ErrorCode != "ProvisionedThroughputExceededException" || put.Entries[1].ShardID != "shardId-000000000000" {
		t.Errorf("entries %+v", put.Entries)
	}
	bad := reqs[3]
	if bad.StatusCode != 400 || bad.ErrorType != "ValidationException" || !strings.Contains(bad.ErrorMessage, "partitionKey") ||
		len(bad.Entries) != 1 || string(bad.Entries[0].Data) != "bad" || bad.Entries[0].ShardID != "" {
		t.Errorf("refused request recorded %+v", bad)
	}

	// The log hands out copies.
	reqs[0].Entries[0].Data[0] = 'X'
	reqs[0].Header.Set("Authorization", "changed")
	again := srv.Requests()
	if string(again[0].Entries[0].Data) != "first" || again[0].Header.Get("Authorization") == "changed" {
		t.Error("Requests shares memory with the server")
	}
	if recs := st.Records(again[0].Entries[0].ShardID); len(recs) == 0 || recs[0].Data[0] != 'f' {
		t.Error("the log's data and the stored data are tied")
	}

	if n := len(srv.RequestsFor("PutRecords")); n != 2 {
		t.Errorf("RequestsFor(PutRecords): %d", n)
	}
	srv.ResetRequests()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests after ResetRequests", n)
	}
	if s := srv.Stats(); s.Requests != 4 || s.RequestErrors != 1 || s.RecordsAccepted != 2 || s.RecordsThrottled != 1 || s.BytesAccepted != int64(len("afirst")+len("bsecond")) {
		t.Errorf("stats %+v", s)
	}
}

// TestWithoutLogAndData runs a server that keeps neither the request log nor the records:
// writes are still validated, routed, numbered and counted.
func TestWithoutLogAndData(t *testing.T) {
	srv, c, st := setup(t, "lean", 2, kinesistest.WithRequestLog(false), kinesistest.WithRecordData(false))
	out, err := putBatch(testCtx(t), c, st.Name(), "k", 100)
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatal(err)
	}
	seqs := map[string]bool{}
	for _, r := range out.Records {
		seqs[aws.ToString(r.SequenceNumber)] = true
	}
	if len(seqs) != 100 {
		t.Errorf("%d distinct sequence numbers", len(seqs))
	}
	recs, _ := readShard(t, c, st.Name(), "shardId-000000000000")
	if len(recs) != 0 || len(st.AllRecords()) != 0 || len(srv.Requests()) != 0 {
		t.Errorf("kept %d read, %d stored, %d requests", len(recs), len(st.AllRecords()), len(srv.Requests()))
	}
	var counted int64
	for _, s := range st.Shards() {
		counted += s.Records
	}
	if counted != 100 || srv.Stats().RecordsAccepted != 100 {
		t.Errorf("shards count %d records, stats %+v", counted, srv.Stats())
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// TestAttemptHeader lets the SDK retry: a fault on each call's first attempt is retried,
// and the log tells the attempts apart by the amz-sdk-request header.
func TestAttemptHeader(t *testing.T) {
	srv, _, st := setup(t, "retry", 1)
	cfg := srv.AWSConfig()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = noBackoff{}
		})
	}
	c := kinesis.NewFromConfig(cfg)
	srv.InjectRequestFunc(func(r kinesistest.RequestInfo) (kinesistest.Fault, bool) {
		return kinesistest.InternalFailure(), r.Attempt == 1
	})
	if _, err := putBatch(testCtx(t), c, st.Name(), "k", 3); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, fmt.Sprintf("%d/%d:%d", r.Attempt, r.MaxAttempts, r.StatusCode))
	}
	if strings.Join(got, " ") != "1/3:500 2/3:200" {
		t.Errorf("attempts %v", got)
	}
	if n := len(st.AllRecords()); n != 3 {
		t.Errorf("%d records stored, want 3", n)
	}
}
