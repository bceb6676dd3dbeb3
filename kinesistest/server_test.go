package kinesistest_test

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestShardRanges checks the hash key layout of new streams against the documented rule,
// computed here with math/big: with q = floor(2^128/N), shard i starts at i*q, ends one
// below the next start, and the last ends at 2^128-1.
func TestShardRanges(t *testing.T) {
	srv := start(t)
	c := client(t, srv)
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, n := range []int{1, 2, 3, 5, 6, 7, 10, 16} {
		name := fmt.Sprintf("ranges-%d", n)
		if _, err := c.CreateStream(testCtx(t), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(n))}); err != nil {
			t.Fatal(err)
		}
		shards := listShards(t, c, name)
		if len(shards) != n {
			t.Fatalf("%d shards: ListShards returned %d", n, len(shards))
		}
		q := new(big.Int).Quo(space, big.NewInt(int64(n)))
		for i, s := range shards {
			wantStart := new(big.Int).Mul(q, big.NewInt(int64(i)))
			wantEnd := new(big.Int).Sub(new(big.Int).Mul(q, big.NewInt(int64(i+1))), big.NewInt(1))
			if i == n-1 {
				wantEnd = new(big.Int).Sub(space, big.NewInt(1))
			}
			if got := aws.ToString(s.ShardId); got != fmt.Sprintf("shardId-%012d", i) {
				t.Errorf("%d shards: shard %d is %s", n, i, got)
			}
			if aws.ToString(s.HashKeyRange.StartingHashKey) != wantStart.String() || aws.ToString(s.HashKeyRange.EndingHashKey) != wantEnd.String() {
				t.Errorf("%d shards: shard %d range %s-%s, want %s-%s", n, i,
					aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey), wantStart, wantEnd)
			}
			if s.ParentShardId != nil || s.SequenceNumberRange.EndingSequenceNumber != nil {
				t.Errorf("%d shards: new shard %d has a parent or is closed", n, i)
			}
		}
	}
}

// TestPutAndRead writes records with and without ExplicitHashKey, checks each landed on
// the shard the MD5 rule picks, and reads every shard back through GetRecords and through
// Stream.Records, byte for byte and in order.
func TestPutAndRead(t *testing.T) {
	_, c, st := setup(t, "put-and-read", 3)
	ctx := testCtx(t)
	shards := listShards(t, c, st.Name())

	type sent struct {
		pk, ehk, shard string
		data           []byte
	}
	var all []sent
	var entries []types.PutRecordsRequestEntry
	for i := 0; i < 300; i++ {
		s := sent{pk: fmt.Sprintf("key-%d-ü", i), data: []byte(fmt.Sprintf("data %d \x00\xff", i))}
		h := md5HashKey(s.pk)
		if i%4 == 0 {
			// Explicit keys at the edges of a shard's range, and in its middle.
			r := shards[i%3].HashKeyRange
			switch i % 3 {
			case 0:
				h = dec(*r.StartingHashKey)
			case 1:
				h = dec(*r.EndingHashKey)
			default:
				h = new(big.Int).Rsh(new(big.Int).Add(dec(*r.StartingHashKey), dec(*r.EndingHashKey)), 1)
			}
			s.ehk = h.String()
		}
		s.shard = shardOf(shards, h)
		e := types.PutRecordsRequestEntry{PartitionKey: aws.String(s.pk), Data: s.data}
		if s.ehk != "" {
			e.ExplicitHashKey = aws.String(s.ehk)
		}
		entries = append(entries, e)
		all = append(all, s)
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != len(entries) {
		t.Fatalf("FailedRecordCount %d, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
	}
	for i, r := range out.Records {
		if got := aws.ToString(r.ShardId); got != all[i].shard {
			t.Errorf("entry %d (pk %q ehk %q): shard %s, want %s", i, all[i].pk, all[i].ehk, got, all[i].shard)
		}
	}
	one, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(st.ARN()), PartitionKey: aws.String("single"), Data: []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, sent{pk: "single", data: []byte("one"), shard: shardOf(shards, md5HashKey("single"))})
	if aws.ToString(one.ShardId) != all[len(all)-1].shard {
		t.Errorf("PutRecord: shard %s, want %s", aws.ToString(one.ShardId), all[len(all)-1].shard)
	}

	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		var want []sent
		for _, s := range all {
			if s.shard == id {
				want = append(want, s)
			}
		}
		recs, _ := readShard(t, c, st.Name(), id)
		direct := st.Records(id)
		if len(recs) != len(want) || len(direct) != len(want) {
			t.Fatalf("shard %s: GetRecords %d, Records %d, want %d", id, len(recs), len(direct), len(want))
		}
		prev := ""
		for i, r := range recs {
			if aws.ToString(r.PartitionKey) != want[i].pk || !bytes.Equal(r.Data, want[i].data) {
				t.Errorf("shard %s record %d: (%q, %q), want (%q, %q)", id, i, aws.ToString(r.PartitionKey), r.Data, want[i].pk, want[i].data)
			}
			seq := aws.ToString(r.SequenceNumber)
			if len(seq) != 56 || seq <= prev {
				t.Errorf("shard %s record %d: sequence number %q not increasing after %q", id, i, seq, prev)
			}
			prev = seq
			d := direct[i]
			if d.SequenceNumber != seq || d.PartitionKey != want[i].pk || d.ExplicitHashKey != want[i].ehk || !bytes.Equal(d.Data, want[i].data) || d.ShardID != id {
				t.Errorf("shard %s record %d: Records() gives %+v", id, i, d)
			}
			wantHash := md5HashKey(want[i].pk)
			if want[i].ehk != "" {
				wantHash = dec(want[i].ehk)
			}
			if d.HashKey != wantHash.String() {
				t.Errorf("shard %s record %d: HashKey %s, want %s", id, i, d.HashKey, wantHash)
			}
			if r.ApproximateArrivalTimestamp == nil || !r.ApproximateArrivalTimestamp.Equal(d.ArrivalTime.Truncate(time.Millisecond)) {
				t.Errorf("shard %s record %d: arrival %v, Records() %v", id, i, r.ApproximateArrivalTimestamp, d.ArrivalTime)
			}
		}
	}
	if n := len(st.AllRecords()); n != len(all) {
		t.Errorf("AllRecords: %d, want %d", n, len(all))
	}
}

// TestDescribeStreamSummary checks the summary, MaxRecordSizeInKiB in particular: the
// default, one set by CreateStream, by the stream option and by UpdateMaxRecordSize.
func TestDescribeStreamSummary(t *testing.T) {
	srv := start(t, kinesistest.WithRegion("eu-west-1"), kinesistest.WithAccountID("111122223333"))
	c := client(t, srv)
	ctx := testCtx(t)
	mustStream(t, srv, "default", 3)
	mustStream(t, srv, "big", 1, kinesistest.WithMaxRecordSizeKiB(4096))
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("api"), ShardCount: aws.Int32(2), MaxRecordSizeInKiB: aws.Int32(2048)}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int32{"default": 1024, "big": 4096, "api": 2048} {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		s := out.StreamDescriptionSummary
		if got := aws.ToInt32(s.MaxRecordSizeInKiB); got != want {
			t.Errorf("%s: MaxRecordSizeInKiB %d, want %d", name, got, want)
		}
		if aws.ToString(s.StreamARN) != "arn:aws:kinesis:eu-west-1:111122223333:stream/"+name || s.StreamStatus != types.StreamStatusActive ||
			s.StreamModeDetails.StreamMode != types.StreamModeProvisioned || aws.ToInt32(s.RetentionPeriodHours) != 24 || s.StreamCreationTimestamp == nil {
			t.Errorf("%s: summary %+v", name, s)
		}
	}
	if _, err := c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String(srv.Stream("default").ARN()), MaxRecordSizeInKiB: aws.Int32(10240)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(srv.Stream("default").ARN())})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(out.StreamDescriptionSummary.MaxRecordSizeInKiB); got != 10240 {
		t.Errorf("after UpdateMaxRecordSize: %d", got)
	}
	if got := aws.ToInt32(out.StreamDescriptionSummary.OpenShardCount); got != 3 {
		t.Errorf("OpenShardCount %d, want 3", got)
	}
	_, err = c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String(srv.Stream("default").ARN()), MaxRecordSizeInKiB: aws.Int32(10241)})
	wantCode(t, err, "ValidationException")
	if _, err := srv.CreateStream("bad-size", 1, kinesistest.WithMaxRecordSizeKiB(512)); apiCode(err) != "ValidationException" {
		t.Errorf("CreateStream with 512 KiB records: %v", err)
	}
}

// TestStreamLifecycle covers CreateStream and DeleteStream through the API, ON_DEMAND
// streams, DescribeStream, ListStreams and addressing by ARN.
func TestStreamLifecycle(t *testing.T) {
	srv := start(t)
	c := client(t, srv)
	ctx := testCtx(t)
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"), ShardCount: aws.Int32(1)})
	wantCode(t, err, "ResourceInUseException")
	_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bad/name"), ShardCount: aws.Int32(1)})
	wantCode(t, err, "ValidationException")
	_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("zero"), ShardCount: aws.Int32(0)})
	wantCode(t, err, "ValidationException")

	d, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("od"), Limit: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	sd := d.StreamDescription
	if len(sd.Shards) != 3 || !aws.ToBool(sd.HasMoreShards) || sd.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
		t.Errorf("DescribeStream: %d shards, more %v, mode %v", len(sd.Shards), aws.ToBool(sd.HasMoreShards), sd.StreamModeDetails.StreamMode)
	}
	d, err = c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamARN: sd.StreamARN, ExclusiveStartShardId: sd.Shards[2].ShardId})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.StreamDescription.Shards) != 1 || aws.ToBool(d.StreamDescription.HasMoreShards) {
		t.Errorf("DescribeStream after shard 2: %d shards", len(d.StreamDescription.Shards))
	}

	mustStream(t, srv, "another", 1)
	ls, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ls.StreamNames, ",") != "another,od" || len(ls.StreamSummaries) != 2 {
		t.Errorf("ListStreams: %v", ls.StreamNames)
	}

	arn := srv.Stream("od").ARN()
	_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(arn), StreamName: aws.String("another")})
	wantCode(t, err, "InvalidArgumentException")
	_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:999999999999:stream/od")})
	wantCode(t, err, "ResourceNotFoundException")

	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od")})
	wantCode(t, err, "ResourceNotFoundException")
	if want := "Stream od under account 123456789012 not found."; apiMessage(err) != want {
		t.Errorf("message %q, want %q", apiMessage(err), want)
	}
	if srv.Stream("od") != nil {
		t.Error("Stream(od) after delete is not nil")
	}
	if err := srv.DeleteStream("od"); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DeleteStream of a deleted stream: %v", err)
	}
	// A stream re-created under the same name does not accept the old one's iterators.
	old := mustStream(t, srv, "again", 1)
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("again"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteStream(old.Name()); err != nil {
		t.Fatal(err)
	}
	mustStream(t, srv, "again", 1)
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	wantCode(t, err, "ResourceNotFoundException")
}

// TestGetShardIterator covers every iterator type and the errors of wrong combinations.
func TestGetShardIterator(t *testing.T) {
	clock := newFakeClock()
	_, c, st := setup(t, "iter", 1, kinesistest.WithClock(clock.Now))
	ctx := testCtx(t)
	const shard = "shardId-000000000000"
	var seqs []string
	var times []time.Time
	for i := 0; i < 5; i++ {
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("k"), Data: []byte{byte('a' + i)}})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
		times = append(times, clock.Now())
		clock.Advance(time.Second)
	}
	read := func(in *kinesis.GetShardIteratorInput) string {
		t.Helper()
		in.StreamName, in.ShardId = aws.String(st.Name()), aws.String(shard)
		it, err := c.GetShardIterator(ctx, in)
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", in.ShardIteratorType, err)
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range out.Records {
			b.Write(r.Data)
		}
		return b.String()
	}
	for _, tc := range []struct {
		in   kinesis.GetShardIteratorInput
		want string
	}{
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeTrimHorizon}, "abcde"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeLatest}, ""},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seqs[2])}, "cde"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(seqs[2])}, "de"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(seqs[4])}, ""},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(times[1])}, "bcde"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(times[1].Add(time.Millisecond))}, "cde"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(times[0].Add(-time.Hour))}, "abcde"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(clock.Now().Add(time.Hour))}, ""},
	} {
		if got := read(&tc.in); got != tc.want {
			t.Errorf("%s %v %v: read %q, want %q", tc.in.ShardIteratorType, aws.ToString(tc.in.StartingSequenceNumber), tc.in.Timestamp, got, tc.want)
		}
	}

	// LATEST sees what is written after it.
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(st.Name()), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("k"), Data: []byte("f")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 1 || string(out.Records[0].Data) != "f" {
		t.Errorf("LATEST then put: %d records", len(out.Records))
	}

	for _, tc := range []struct {
		in   kinesis.GetShardIteratorInput
		code string
	}{
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeTrimHorizon, StartingSequenceNumber: aws.String(seqs[0])}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("12345")}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String("x1")}, "ValidationException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp}, "InvalidArgumentException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: "SOMEWHERE"}, "ValidationException"},
		{kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeTrimHorizon, ShardId: aws.String("shardId-000000000007")}, "ResourceNotFoundException"},
	} {
		in := tc.in
		in.StreamName = aws.String(st.Name())
		if in.ShardId == nil {
			in.ShardId = aws.String(shard)
		}
		_, err := c.GetShardIterator(ctx, &in)
		if apiCode(err) != tc.code {
			t.Errorf("%s seq %q shard %s: %v, want %s", in.ShardIteratorType, aws.ToString(in.StartingSequenceNumber), *in.ShardId, err, tc.code)
		}
	}
	// Kinesis accepts a shard ID without its zeros or prefix.
	if _, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(st.Name()), ShardId: aws.String("0"), ShardIteratorType: types.ShardIteratorTypeLatest}); err != nil {
		t.Errorf("shard ID 0: %v", err)
	}
}

// TestGetRecordsPaging covers Limit, NextShardIterator and MillisBehindLatest, and shard
// iterators expiring after five minutes.
func TestGetRecordsPaging(t *testing.T) {
	clock := newFakeClock()
	_, c, st := setup(t, "paging", 1, kinesistest.WithClock(clock.Now))
	ctx := testCtx(t)
	for i := 0; i < 10; i++ {
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(st.Name()), PartitionKey: aws.String("k"), Data: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	clock.Advance(10 * time.Second) // the last record is 11 s old, the first 20 s
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(st.Name()), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	iter := it.ShardIterator
	var got []string
	var behind []int64
	for range 5 {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(4)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			got = append(got, string(r.Data))
		}
		behind = append(behind, aws.ToInt64(out.MillisBehindLatest))
		if out.NextShardIterator == nil {
			t.Fatal("open shard: no NextShardIterator")
		}
		iter = out.NextShardIterator
	}
	if strings.Join(got, "") != "0123456789" {
		t.Errorf("read %v", got)
	}
	// After the first page the next record to read (4) is 16 s old, after the second (8)
	// 12 s; then the reader is caught up.
	if fmt.Sprint(behind) != "[16000 12000 0 0 0]" {
		t.Errorf("MillisBehindLatest %v, want [16000 12000 0 0 0]", behind)
	}

	clock.Advance(5*time.Minute + time.Millisecond)
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
	wantCode(t, err, "ExpiredIteratorException")
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAnotaniterator")})
	wantCode(t, err, "InvalidArgumentException")
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10001)})
	wantCode(t, err, "ValidationException")
}
