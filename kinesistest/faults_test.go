package kinesistest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// putBatch sends one PutRecords of n one-byte records with distinct keys.
func putBatch(ctx context.Context, c *kinesis.Client, stream, prefix string, n int) (*kinesis.PutRecordsOutput, error) {
	es := make([]types.PutRecordsRequestEntry, n)
	for i := range es {
		es[i] = entry(fmt.Sprintf("%s-%d", prefix, i), "x")
	}
	return c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: es})
}

// TestRequestFaults injects each request-level error for the next two PutRecords calls
// and checks what the client sees: the error code, the HTTP status, the SDK's typed
// error where it has one, and that nothing was written; then that the third call
// succeeds, and that other operations were never touched.
func TestRequestFaults(t *testing.T) {
	for _, tc := range []struct {
		fault   kinesistest.Fault
		code    string
		status  int
		typed   any // a pointer to the SDK's error type, nil when it has none
		message string
	}{
		{kinesistest.Throttling(), "ThrottlingException", 400, nil, "Rate exceeded"},
		{kinesistest.LimitExceeded(), "LimitExceededException", 400, new(*types.LimitExceededException), "Rate exceeded for stream faults under account 123456789012."},
		{kinesistest.KMSThrottling(), "KMSThrottlingException", 400, new(*types.KMSThrottlingException), "request throttling"},
		{kinesistest.InternalFailure(), "InternalFailure", 500, nil, "Internal service failure."},
		{kinesistest.ServiceUnavailable(), "ServiceUnavailable", 503, nil, "Service Unavailable"},
		{kinesistest.ResourceNotFound(), "ResourceNotFoundException", 400, new(*types.ResourceNotFoundException), "Stream faults under account 123456789012 not found."},
		{kinesistest.AccessDenied(), "AccessDeniedException", 400, new(*types.AccessDeniedException), "is not authorized to perform: kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:123456789012:stream/faults"},
		{kinesistest.ProvisionedThroughputExceeded(), "ProvisionedThroughputExceededException", 400, new(*types.ProvisionedThroughputExceededException), "Rate exceeded"},
		{kinesistest.ErrorFault(500, "InternalFailureException", "custom"), "InternalFailureException", 500, new(*types.InternalFailureException), "custom"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv, c, st := setup(t, "faults", 2)
			ctx := testCtx(t)
			srv.InjectRequests(2, tc.fault, "PutRecords")
			for i := 0; i < 2; i++ {
				if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.Name())}); err != nil {
					t.Fatalf("DescribeStreamSummary met the PutRecords fault: %v", err)
				}
				_, err := putBatch(ctx, c, st.Name(), "k", 10)
				wantCode(t, err, tc.code)
				if got := httpStatus(err); got != tc.status {
					t.Errorf("HTTP status %d, want %d", got, tc.status)
				}
				if !strings.Contains(apiMessage(err), tc.message) {
					t.Errorf("message %q does not contain %q", apiMessage(err), tc.message)
				}
				if tc.typed != nil && !errors.As(err, tc.typed) {
					t.Errorf("%T is not the SDK's %T", err, tc.typed)
				}
			}
			if n := len(st.AllRecords()); n != 0 {
				t.Fatalf("faulted requests wrote %d records", n)
			}
			if _, err := putBatch(ctx, c, st.Name(), "k", 10); err != nil {
				t.Fatalf("third call: %v", err)
			}
			if n := len(st.AllRecords()); n != 10 {
				t.Errorf("%d records after the fault passed, want 10", n)
			}
			s := srv.Stats()
			if s.InjectedFaults != 2 || s.RequestErrors != 2 || s.RecordsAccepted != 10 {
				t.Errorf("stats %+v", s)
			}
			reqs := srv.RequestsFor("PutRecords")
			if len(reqs) != 3 || reqs[0].Fault == nil || reqs[0].ErrorType != tc.code || reqs[0].StatusCode != tc.status || reqs[2].Fault != nil || reqs[2].StatusCode != 200 {
				t.Errorf("recorded %+v", reqs)
			}
		})
	}
}

// TestInjectRequestsUnlimitedAndClear checks that a negative count faults every request
// until ClearFaults, and that counted injections apply in order.
func TestInjectRequestsUnlimitedAndClear(t *testing.T) {
	srv, c, st := setup(t, "s", 1)
	ctx := testCtx(t)
	srv.InjectRequests(1, kinesistest.Throttling())
	srv.InjectRequests(-1, kinesistest.ServiceUnavailable(), "PutRecords", "PutRecord")
	var codes []string
	for i := 0; i < 4; i++ {
		_, err := putBatch(ctx, c, st.Name(), "k", 1)
		codes = append(codes, apiCode(err))
	}
	if strings.Join(codes, ",") != "ThrottlingException,ServiceUnavailable,ServiceUnavailable,ServiceUnavailable" {
		t.Errorf("codes %v", codes)
	}
	_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantCode(t, err, "ServiceUnavailable")
	srv.ClearFaults()
	if _, err := putBatch(ctx, c, st.Name(), "k", 1); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
	srv.InjectRequests(0, kinesistest.Throttling())
	srv.InjectRequests(3, kinesistest.Fault{})
	if _, err := putBatch(ctx, c, st.Name(), "k", 1); err != nil {
		t.Errorf("zero count or zero fault injected something: %v", err)
	}
}

// TestInjectRequestFunc faults the requests a function picks: here the first attempt of
// every PutRecords on one stream, using the SDK's amz-sdk-request header.
func TestInjectRequestFunc(t *testing.T) {
	srv := start(t)
	c := client(t, srv)
	ctx := testCtx(t)
	a, b := mustStream(t, srv, "a", 1), mustStream(t, srv, "b", 1)
	var seen []string
	var mu sync.Mutex
	srv.InjectRequestFunc(func(r kinesistest.RequestInfo) (kinesistest.Fault, bool) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%d %s %s attempt=%d", r.Seq, r.Operation, r.Stream, r.Attempt))
		mu.Unlock()
		// The function may call the server.
		_ = srv.Stream(r.Stream)
		if r.Operation == "PutRecords" && r.Stream == "a" && r.Attempt == 1 && r.Header.Get("Authorization") != "" {
			return kinesistest.InternalFailure(), true
		}
		return kinesistest.Fault{}, false
	})
	_, errA := putBatch(ctx, c, a.Name(), "k", 3)
	_, errB := putBatch(ctx, c, b.Name(), "k", 3)
	_, errARN := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String(a.ARN()), Records: []types.PutRecordsRequestEntry{entry("k", "x")}})
	wantCode(t, errA, "InternalFailure")
	wantCode(t, errARN, "InternalFailure")
	if errB != nil {
		t.Errorf("stream b: %v", errB)
	}
	if got := strings.Join(seen, "; "); got != "1 PutRecords a attempt=1; 2 PutRecords b attempt=1; 3 PutRecords a attempt=1" {
		t.Errorf("function saw %s", got)
	}
	srv.InjectRequestFunc(nil)
	if _, err := putBatch(ctx, c, a.Name(), "k", 3); err != nil {
		t.Errorf("after removing the function: %v", err)
	}
}

// TestLatency delays requests: a client whose deadline is shorter gives up, the server
// counts the request abandoned and writes nothing; a patient client succeeds.
func TestLatency(t *testing.T) {
	srv, c, st := setup(t, "slow", 1)
	srv.InjectRequests(1, kinesistest.Latency(time.Minute), "PutRecords")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := putBatch(ctx, c, st.Name(), "k", 5)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("impatient client: %v, want a deadline error", err)
	}
	waitFor(t, func() bool { return srv.Stats().Abandoned == 1 })
	if n := len(st.AllRecords()); n != 0 {
		t.Errorf("an abandoned request wrote %d records", n)
	}
	srv.InjectRequests(1, kinesistest.Latency(20*time.Millisecond), "PutRecords")
	if _, err := putBatch(testCtx(t), c, st.Name(), "k", 5); err != nil {
		t.Fatal(err)
	}
	if n := len(st.AllRecords()); n != 5 {
		t.Errorf("%d records after a delayed success, want 5", n)
	}
	reqs := srv.RequestsFor("PutRecords")
	if len(reqs) != 2 || reqs[0].StatusCode != 0 || reqs[0].Fault.Delay != time.Minute || reqs[1].StatusCode != 200 {
		t.Errorf("recorded %+v", reqs)
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds. It is for
// effects the server completes just after the client has its answer.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStall holds requests until Release: nothing is written while they wait, and they
// complete after it. A stalled client that gives up leaves nothing behind.
func TestStall(t *testing.T) {
	srv, c, st := setup(t, "stall", 1)
	ctx := testCtx(t)
	srv.InjectRequests(3, kinesistest.Stall(), "PutRecords")
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, err := putBatch(ctx, c, st.Name(), fmt.Sprint("k", i), 2)
			errs <- err
		}()
	}
	if err := srv.WaitStalled(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if srv.Stalled() != 3 || len(st.AllRecords()) != 0 {
		t.Fatalf("stalled %d, records %d", srv.Stalled(), len(st.AllRecords()))
	}
	srv.Release()
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Errorf("released request: %v", err)
		}
	}
	if n := len(st.AllRecords()); n != 6 {
		t.Errorf("%d records after release, want 6", n)
	}
	if srv.Stalled() != 0 {
		t.Errorf("stalled %d after release", srv.Stalled())
	}

	// A client that gives up.
	srv.InjectRequests(1, kinesistest.Stall())
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := putBatch(short, c, st.Name(), "late", 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled client: %v", err)
	}
	waitFor(t, func() bool { return srv.Stalled() == 0 })
	if n := len(st.AllRecords()); n != 6 || srv.Stats().Abandoned != 1 {
		t.Errorf("records %d, abandoned %d", n, srv.Stats().Abandoned)
	}
	// WaitStalled honours its context.
	short2, cancel2 := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel2()
	if err := srv.WaitStalled(short2, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitStalled with nothing stalled: %v", err)
	}
}

// TestStallUntilClose checks that Close ends stalled requests and returns; goleak in
// TestMain proves no handler goroutine is left.
func TestStallUntilClose(t *testing.T) {
	srv := kinesistest.NewServer()
	c := client(t, srv)
	ctx := testCtx(t)
	mustStream(t, srv, "s", 1)
	srv.InjectRequests(-1, kinesistest.Stall())
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := putBatch(ctx, c, "s", "k", 1)
			errs <- err
		}()
	}
	if err := srv.WaitStalled(ctx, 4); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for i := 0; i < 4; i++ {
		if err := <-errs; err == nil {
			t.Error("a request stalled until Close succeeded")
		}
	}
	if s := srv.Stats(); s.Abandoned != 4 || s.RecordsAccepted != 0 {
		t.Errorf("stats %+v", s)
	}
	srv.Close() // twice is fine
	if _, err := putBatch(ctx, c, "s", "k", 1); err == nil {
		t.Error("a closed server answered")
	}
}

// TestDropConnection closes the connection without an answer: before serving (nothing
// written) or after (written, so a retry would duplicate it).
func TestDropConnection(t *testing.T) {
	srv, c, st := setup(t, "drop", 1)
	ctx := testCtx(t)

	srv.InjectRequests(1, kinesistest.DropConnection(), "PutRecords")
	_, err := putBatch(ctx, c, st.Name(), "before", 4)
	if err == nil || apiCode(err) != "" {
		t.Fatalf("dropped connection: %v, want a transport error", err)
	}
	if n := len(st.AllRecords()); n != 0 {
		t.Errorf("DropConnection wrote %d records", n)
	}

	srv.InjectRequests(1, kinesistest.DropResponse(), "PutRecords")
	_, err = putBatch(ctx, c, st.Name(), "after", 4)
	if err == nil || apiCode(err) != "" {
		t.Fatalf("dropped response: %v, want a transport error", err)
	}
	if n := len(st.AllRecords()); n != 4 {
		t.Errorf("DropResponse wrote %d records, want 4", n)
	}
	if _, err := putBatch(ctx, c, st.Name(), "ok", 4); err != nil {
		t.Errorf("next request: %v", err)
	}
	if s := srv.Stats(); s.DroppedConnections != 2 || s.RecordsAccepted != 8 {
		t.Errorf("stats %+v", s)
	}
	// A dropped request's handler may still be finishing when the client sees the error.
	waitFor(t, func() bool { return len(srv.RequestsFor("PutRecords")) == 3 })
	reqs := srv.RequestsFor("PutRecords")
	if reqs[0].StatusCode != 0 || len(reqs[0].Entries) != 4 || reqs[0].Entries[0].PartitionKey != "before-0" || reqs[0].Entries[0].SequenceNumber != "" ||
		reqs[1].StatusCode != 0 || len(reqs[1].Entries) != 4 || reqs[1].Entries[0].SequenceNumber == "" {
		t.Errorf("recorded %+v", reqs)
	}
}

// outcomes returns each entry's error code ("" when it landed), checking the answer's
// FailedRecordCount and that failed entries carry no sequence number.
func outcomes(t *testing.T, out *kinesis.PutRecordsOutput) []string {
	t.Helper()
	codes := make([]string, len(out.Records))
	failed := 0
	for i, r := range out.Records {
		codes[i] = aws.ToString(r.ErrorCode)
		if codes[i] != "" {
			failed++
			if r.SequenceNumber != nil || r.ShardId != nil || r.ErrorMessage == nil {
				t.Errorf("failed entry %d: %+v", i, r)
			}
		} else if r.SequenceNumber == nil || r.ShardId == nil {
			t.Errorf("entry %d: no sequence number or shard", i)
		}
	}
	if int(aws.ToInt32(out.FailedRecordCount)) != failed {
		t.Errorf("FailedRecordCount %d, %d entries failed", aws.ToInt32(out.FailedRecordCount), failed)
	}
	return codes
}

// TestEntryRate refuses entries at a seeded rate: the client's count of refused entries
// matches the server's, the records that landed are exactly the others, the rate is
// near the one asked, and the same seed gives the same entries again.
func TestEntryRate(t *testing.T) {
	run := func(seed uint64) []string {
		srv, c, st := setup(t, "rate", 4)
		srv.InjectEntryRate(kinesistest.EntryThrottled, 0.25, seed)
		var all []string
		for b := 0; b < 4; b++ {
			out, err := putBatch(testCtx(t), c, st.Name(), fmt.Sprint("b", b), 500)
			if err != nil {
				t.Fatal(err)
			}
			codes := outcomes(t, out)
			for i, code := range codes {
				if code != "" {
					if code != "ProvisionedThroughputExceededException" || !strings.HasPrefix(*out.Records[i].ErrorMessage, "Rate exceeded for shard shardId-") {
						t.Fatalf("entry %d: %s %s", i, code, *out.Records[i].ErrorMessage)
					}
				}
			}
			all = append(all, codes...)
		}
		throttled := 0
		for _, c := range all {
			if c != "" {
				throttled++
			}
		}
		s := srv.Stats()
		if s.RecordsThrottled != int64(throttled) || s.RecordsAccepted != int64(len(all)-throttled) || len(st.AllRecords()) != len(all)-throttled {
			t.Errorf("client saw %d throttled of %d; stats %+v; %d stored", throttled, len(all), s, len(st.AllRecords()))
		}
		if throttled < 400 || throttled > 600 {
			t.Errorf("%d of 2000 throttled at rate 0.25", throttled)
		}
		var perShard int64
		for _, sh := range st.Shards() {
			perShard += sh.Throttled
		}
		if perShard != int64(throttled) {
			t.Errorf("shards count %d throttled, want %d", perShard, throttled)
		}
		return all
	}
	first, again, other := run(7), run(7), run(8)
	if strings.Join(first, ",") != strings.Join(again, ",") {
		t.Error("the same seed gave different outcomes")
	}
	if strings.Join(first, ",") == strings.Join(other, ",") {
		t.Error("another seed gave the same outcomes")
	}
}

// TestEntryShards refuses every entry routed to one shard with InternalFailure.
func TestEntryShards(t *testing.T) {
	srv, c, st := setup(t, "byshard", 2)
	srv.InjectEntryShards(kinesistest.EntryInternalFailure, "shardId-000000000001")
	out, err := putBatch(testCtx(t), c, st.Name(), "k", 200)
	if err != nil {
		t.Fatal(err)
	}
	codes := outcomes(t, out)
	shards := listShards(t, c, st.Name())
	for i, code := range codes {
		want := ""
		if shardOf(shards, md5HashKey(fmt.Sprint("k-", i))) == "shardId-000000000001" {
			want = "InternalFailure"
		}
		if code != want {
			t.Fatalf("entry %d: %q, want %q", i, code, want)
		}
		if code != "" && *out.Records[i].ErrorMessage != "Internal service failure." {
			t.Errorf("message %q", *out.Records[i].ErrorMessage)
		}
	}
	if len(st.Records("shardId-000000000001")) != 0 || len(st.Records("shardId-000000000000")) == 0 {
		t.Error("records landed on the failing shard, or none on the other")
	}
	if s := srv.Stats(); s.RecordsFailed+s.RecordsAccepted != 200 || s.RecordsFailed == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestEntryFunc refuses the entries a function picks, sees what it is given, and may call
// the server; PutRecord answers a refused record with a request error.
func TestEntryFunc(t *testing.T) {
	srv, c, st := setup(t, "fn", 2)
	ctx := testCtx(t)
	var mu sync.Mutex
	var infos []kinesistest.EntryInfo
	srv.InjectEntryFunc(func(e kinesistest.EntryInfo) kinesistest.EntryFault {
		mu.Lock()
		infos = append(infos, e)
		mu.Unlock()
		_ = srv.Stream(e.Stream).Shards() // calling the server must not deadlock
		switch {
		case strings.HasPrefix(e.PartitionKey, "throttle"):
			return kinesistest.EntryThrottled
		case strings.HasPrefix(e.PartitionKey, "fail"):
			return kinesistest.EntryInternalFailure
		}
		return kinesistest.EntryOK
	})
	es := []types.PutRecordsRequestEntry{entry("ok-1", "a"), entry("throttle-1", "b"), withEHK(entry("fail-1", "c"), "12345"), entry("ok-2", "d")}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(outcomes(t, out), ","); got != ",ProvisionedThroughputExceededException,InternalFailure," {
		t.Errorf("outcomes %s", got)
	}
	if len(infos) != 4 || infos[2].ExplicitHashKey != "12345" || infos[2].ShardID != "shardId-000000000000" || infos[2].Index != 2 ||
		string(infos[1].Data) != "b" || infos[1].Operation != "PutRecords" || infos[1].Attempt != 1 || infos[1].Seq != infos[0].Seq {
		t.Errorf("infos %+v", infos)
	}

	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("throttle-2"), Data: []byte("x")})
	wantCode(t, err, "ProvisionedThroughputExceededException")
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) || httpStatus(err) != 400 || !strings.HasPrefix(apiMessage(err), "Rate exceeded for shard shardId-") {
		t.Errorf("PutRecord throttled: %v (status %d)", err, httpStatus(err))
	}
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("fail-2"), Data: []byte("x")})
	wantCode(t, err, "InternalFailure")
	if httpStatus(err) != 500 {
		t.Errorf("PutRecord failed: status %d", httpStatus(err))
	}
	if n := len(st.AllRecords()); n != 2 {
		t.Errorf("%d records stored, want 2", n)
	}

	// Rules apply in the order added: a rate of 1 added after the function only takes
	// what the function let through.
	srv.InjectEntryRate(kinesistest.EntryThrottled, 1, 1)
	out, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(outcomes(t, out), ","); got != "ProvisionedThroughputExceededException,ProvisionedThroughputExceededException,InternalFailure,ProvisionedThroughputExceededException" {
		t.Errorf("outcomes %s", got)
	}
	srv.ClearFaults()
	out, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Errorf("after ClearFaults: %v, %d failed", err, aws.ToInt32(out.FailedRecordCount))
	}
}
