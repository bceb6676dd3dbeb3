package kinesistest_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// summarize turns per-entry outcomes into runs: "250 ok, 250 throttled".
func summarize(codes []string) string {
	var runs []string
	for i := 0; i < len(codes); {
		j := i
		for j < len(codes) && codes[j] == codes[i] {
			j++
		}
		what := "ok"
		if codes[i] != "" {
			what = "throttled"
		}
		runs = append(runs, fmt.Sprintf("%d %s", j-i, what))
		i = j
	}
	return strings.Join(runs, ", ")
}

// TestWriteCapacityRecords enforces Kinesis's per-shard limits with a hand-driven clock:
// the 1000-record burst passes, the next records are throttled with Kinesis's message,
// and the bucket refills at 1000 records a second.
func TestWriteCapacityRecords(t *testing.T) {
	clock := newFakeClock()
	srv, c, st := setup(t, "cap", 2, kinesistest.WithClock(clock.Now), kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{}))
	ctx := testCtx(t)
	// Every record goes to shard 1 through its explicit hash key.
	put := func(n int) []string {
		t.Helper()
		es := make([]types.PutRecordsRequestEntry, n)
		for i := range es {
			es[i] = withEHK(entry(fmt.Sprint(i), "x"), "340282366920938463463374607431768211455")
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
		if err != nil {
			t.Fatal(err)
		}
		codes := outcomes(t, out)
		for i, code := range codes {
			if code != "" && (code != "ProvisionedThroughputExceededException" ||
				*out.Records[i].ErrorMessage != "Rate exceeded for shard shardId-000000000001 in stream cap under account 123456789012.") {
				t.Fatalf("entry %d: %s: %s", i, code, *out.Records[i].ErrorMessage)
			}
		}
		return codes
	}
	steps := []struct {
		advance time.Duration
		n       int
		want    string
	}{
		{0, 500, "500 ok"},
		{0, 500, "500 ok"},
		{0, 500, "500 throttled"},
		{250 * time.Millisecond, 500, "250 ok, 250 throttled"},
		{10 * time.Second, 500, "500 ok"}, // refills to the burst, no further
		{0, 500, "500 ok"},
		{0, 10, "10 throttled"},
	}
	throttled := 0
	for i, s := range steps {
		clock.Advance(s.advance)
		got := summarize(put(s.n))
		if got != s.want {
			t.Errorf("step %d: %s, want %s", i, got, s.want)
		}
		throttled += countThrottled(got)
	}
	stats := srv.Stats()
	if stats.RecordsOverCapacity != int64(throttled) || stats.RecordsThrottled != int64(throttled) || stats.RecordsAccepted != 2250 {
		t.Errorf("stats %+v, want %d throttled for capacity", stats, throttled)
	}
	shards := st.Shards()
	if shards[1].Throttled != int64(throttled) || shards[1].Records != 2250 || shards[0].Throttled != 0 {
		t.Errorf("shards %+v", shards)
	}
	// Shard 0's capacity is its own.
	out, err := putBatch(ctx, c, st.Name(), "other", 1)
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Errorf("shard 0: %v", err)
	}
}

func countThrottled(summary string) int {
	n := 0
	for _, run := range strings.Split(summary, ", ") {
		var k int
		var what string
		fmt.Sscanf(run, "%d %s", &k, &what)
		if what == "throttled" {
			n += k
		}
	}
	return n
}

// TestWriteCapacityBytes checks the byte bucket: data and partition key count, the
// burst is 1 MiB, and a PutRecord over capacity is refused as a whole.
func TestWriteCapacityBytes(t *testing.T) {
	clock := newFakeClock()
	srv, c, st := setup(t, "bytes", 1, kinesistest.WithClock(clock.Now), kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{}))
	ctx := testCtx(t)
	// Four records of 256 KiB with a one-byte key: three and a bit fit in 1 MiB.
	put := func(size int) string {
		es := make([]types.PutRecordsRequestEntry, 4)
		for i := range es {
			es[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: bytes.Repeat([]byte{'b'}, size)}
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
		if err != nil {
			t.Fatal(err)
		}
		return summarize(outcomes(t, out))
	}
	if got := put(256<<10 - 1); got != "4 ok" { // exactly 1 MiB with the keys
		t.Errorf("1 MiB: %s", got)
	}
	clock.Advance(time.Second)
	if got := put(256 << 10); got != "3 ok, 1 throttled" { // 4 bytes over
		t.Errorf("1 MiB + 4 bytes: %s", got)
	}
	clock.Advance(500 * time.Millisecond) // 512 KiB back, plus what was left: 256 KiB - 3
	if got := put(256 << 10); got != "2 ok, 2 throttled" {
		t.Errorf("after half a second: %s", got)
	}
	_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("k"), Data: bytes.Repeat([]byte{'b'}, 300<<10)})
	wantCode(t, err, "ProvisionedThroughputExceededException")
	// Accepted: four records of 256 KiB with their keys, then five of 256 KiB + 1.
	if s := srv.Stats(); s.RecordsOverCapacity != 4 || s.RecordsAccepted != 9 || s.BytesAccepted != 9*(256<<10)+5 {
		t.Errorf("stats %+v", s)
	}
}

// TestWriteCapacityCustom checks custom rates and bursts, and that a record larger than
// the byte burst passes when the bucket is full and then holds the shard back.
func TestWriteCapacityCustom(t *testing.T) {
	clock := newFakeClock()
	_, c, st := setup(t, "custom", 1, kinesistest.WithClock(clock.Now),
		kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{RecordsPerSecond: 10, BurstRecords: 5, BytesPerSecond: 1000, BurstBytes: 1000}))
	ctx := testCtx(t)
	put := func(sizes ...int) string {
		t.Helper()
		es := make([]types.PutRecordsRequestEntry, len(sizes))
		for i, n := range sizes {
			es[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, n)}
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
		if err != nil {
			t.Fatal(err)
		}
		return summarize(outcomes(t, out))
	}
	if got := put(1, 1, 1, 1, 1, 1, 1); got != "5 ok, 2 throttled" {
		t.Errorf("burst of 5 records: %s", got)
	}
	clock.Advance(100 * time.Millisecond) // one record back
	if got := put(1, 1); got != "1 ok, 1 throttled" {
		t.Errorf("after 100ms: %s", got)
	}
	clock.Advance(time.Second)
	if got := put(4999, 0); got != "1 ok, 1 throttled" { // 5000 bytes pass on a full bucket
		t.Errorf("record over the burst: %s", got)
	}
	clock.Advance(4 * time.Second) // the debt of 4000 bytes is paid back, nothing more
	if got := put(0); got != "1 throttled" {
		t.Errorf("after paying the debt: %s", got)
	}
	clock.Advance(time.Millisecond)
	if got := put(0); got != "1 ok" {
		t.Errorf("a millisecond later: %s", got)
	}
}
