package kinesistest_test

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// putKeys writes one record per key through PutRecords and returns the shard each landed on.
func putKeys(t *testing.T, c *kinesis.Client, stream string, keys ...string) []string {
	t.Helper()
	var es []types.PutRecordsRequestEntry
	for _, k := range keys {
		es = append(es, entry(k, "data-"+k))
	}
	out, err := c.PutRecords(testCtx(t), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: es})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("FailedRecordCount %d", aws.ToInt32(out.FailedRecordCount))
	}
	shards := make([]string, len(out.Records))
	for i, r := range out.Records {
		shards[i] = aws.ToString(r.ShardId)
	}
	return shards
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func shardByID(shards []types.Shard, id string) types.Shard {
	for _, s := range shards {
		if aws.ToString(s.ShardId) == id {
			return s
		}
	}
	return types.Shard{}
}

// checkCover fails unless the open shards' ranges are contiguous from 0 to 2^128-1.
func checkCover(t *testing.T, shards []types.Shard) {
	t.Helper()
	var open []types.Shard
	for _, s := range shards {
		if s.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, s)
		}
	}
	sort.Slice(open, func(i, j int) bool {
		return dec(*open[i].HashKeyRange.StartingHashKey).Cmp(dec(*open[j].HashKeyRange.StartingHashKey)) < 0
	})
	next := big.NewInt(0)
	for _, s := range open {
		if dec(*s.HashKeyRange.StartingHashKey).Cmp(next) != 0 {
			t.Fatalf("open shard %s starts at %s, want %s", *s.ShardId, *s.HashKeyRange.StartingHashKey, next)
		}
		next = new(big.Int).Add(dec(*s.HashKeyRange.EndingHashKey), big.NewInt(1))
	}
	if next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) != 0 {
		t.Fatalf("open shards end at %s, want 2^128-1", new(big.Int).Sub(next, big.NewInt(1)))
	}
}

// TestSplitShard splits a shard through the API: the parent closes with an
// EndingSequenceNumber above its records, keeps them, takes no more writes, and reading
// it to the end yields the two children; the children split its range at the key asked
// and take the writes, with higher sequence numbers.
func TestSplitShard(t *testing.T) {
	_, c, st := setup(t, "split", 1)
	ctx := testCtx(t)
	before := putKeys(t, c, st.Name(), keys("before", 20)...)
	for _, s := range before {
		if s != "shardId-000000000000" {
			t.Fatalf("one-shard stream: record on %s", s)
		}
	}
	mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(st.Name()), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	shards := listShards(t, c, st.Name())
	if len(shards) != 3 {
		t.Fatalf("%d shards after split, want 3", len(shards))
	}
	checkCover(t, shards)
	parent, lo, hi := shards[0], shards[1], shards[2]
	if parent.SequenceNumberRange.EndingSequenceNumber == nil {
		t.Fatal("parent still open")
	}
	if aws.ToString(lo.ParentShardId) != "shardId-000000000000" || aws.ToString(hi.ParentShardId) != "shardId-000000000000" ||
		lo.AdjacentParentShardId != nil || hi.AdjacentParentShardId != nil {
		t.Errorf("children's parents: %v/%v, %v/%v", lo.ParentShardId, lo.AdjacentParentShardId, hi.ParentShardId, hi.AdjacentParentShardId)
	}
	if *lo.HashKeyRange.StartingHashKey != "0" || *hi.HashKeyRange.StartingHashKey != mid || *hi.HashKeyRange.EndingHashKey != "340282366920938463463374607431768211455" {
		t.Errorf("children's ranges: %v %v", lo.HashKeyRange, hi.HashKeyRange)
	}

	after := putKeys(t, c, st.Name(), keys("after", 50)...)
	for i, k := range keys("after", 50) {
		want := *lo.ShardId
		if md5HashKey(k).Cmp(dec(mid)) >= 0 {
			want = *hi.ShardId
		}
		if after[i] != want {
			t.Errorf("%s landed on %s, want %s", k, after[i], want)
		}
	}

	recs, children := readShard(t, c, st.Name(), "shardId-000000000000")
	if len(recs) != 20 {
		t.Errorf("parent holds %d records, want 20", len(recs))
	}
	end := *parent.SequenceNumberRange.EndingSequenceNumber
	for _, r := range recs {
		if *r.SequenceNumber > end {
			t.Errorf("parent record %s above EndingSequenceNumber %s", *r.SequenceNumber, end)
		}
	}
	var got []string
	for _, ch := range children {
		got = append(got, fmt.Sprintf("%s<-%s %s-%s", *ch.ShardId, strings.Join(ch.ParentShards, "+"), *ch.HashKeyRange.StartingHashKey, *ch.HashKeyRange.EndingHashKey))
	}
	want := []string{
		fmt.Sprintf("shardId-000000000001<-shardId-000000000000 0-%s", *lo.HashKeyRange.EndingHashKey),
		fmt.Sprintf("shardId-000000000002<-shardId-000000000000 %s-340282366920938463463374607431768211455", mid),
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("ChildShards %v, want %v", got, want)
	}
	for _, ch := range []types.Shard{lo, hi} {
		recs, _ := readShard(t, c, st.Name(), *ch.ShardId)
		for _, r := range recs {
			if *r.SequenceNumber <= end {
				t.Errorf("child record %s not above the parent's end %s", *r.SequenceNumber, end)
			}
			if !strings.HasPrefix(*r.PartitionKey, "after-") {
				t.Errorf("child holds %s", *r.PartitionKey)
			}
		}
	}

	// Errors: a closed shard, a key at the edge, an unknown shard.
	for _, tc := range []struct {
		shard, key, code string
	}{
		{"shardId-000000000000", "5", "InvalidArgumentException"},
		{"shardId-000000000001", "1", "InvalidArgumentException"},
		{"shardId-000000000001", "0", "InvalidArgumentException"},
		{"shardId-000000000001", *lo.HashKeyRange.EndingHashKey, "InvalidArgumentException"},
		{"shardId-000000000009", "5", "ResourceNotFoundException"},
		{"shardId-000000000001", "x5", "ValidationException"},
	} {
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(st.Name()), ShardToSplit: aws.String(tc.shard), NewStartingHashKey: aws.String(tc.key)})
		if apiCode(err) != tc.code {
			t.Errorf("split %s at %s: %v, want %s", tc.shard, tc.key, err, tc.code)
		}
	}
}

// TestMergeShards merges two adjacent shards through the API and checks the child's
// parents, range and writes, and the errors for non-adjacent and closed shards.
func TestMergeShards(t *testing.T) {
	_, c, st := setup(t, "merge", 3)
	ctx := testCtx(t)
	putKeys(t, c, st.Name(), keys("before", 30)...)
	_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(st.Name()), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000002")})
	wantCode(t, err, "InvalidArgumentException")
	// Adjacent in either order: shard 2 then shard 1.
	if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamARN: aws.String(st.ARN()), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	shards := listShards(t, c, st.Name())
	checkCover(t, shards)
	child := shardByID(shards, "shardId-000000000003")
	if aws.ToString(child.ParentShardId) != "shardId-000000000002" || aws.ToString(child.AdjacentParentShardId) != "shardId-000000000001" {
		t.Errorf("child parents %v %v", child.ParentShardId, child.AdjacentParentShardId)
	}
	if *child.HashKeyRange.StartingHashKey != *shardByID(shards, "shardId-000000000001").HashKeyRange.StartingHashKey ||
		*child.HashKeyRange.EndingHashKey != "340282366920938463463374607431768211455" {
		t.Errorf("child range %v", child.HashKeyRange)
	}
	for _, id := range []string{"shardId-000000000001", "shardId-000000000002"} {
		_, children := readShard(t, c, st.Name(), id)
		if len(children) != 1 || *children[0].ShardId != "shardId-000000000003" || strings.Join(children[0].ParentShards, ",") != "shardId-000000000002,shardId-000000000001" {
			t.Errorf("%s ChildShards %+v", id, children)
		}
	}
	after := putKeys(t, c, st.Name(), keys("after", 30)...)
	for _, s := range after {
		if s != "shardId-000000000000" && s != "shardId-000000000003" {
			t.Errorf("a record landed on closed shard %s", s)
		}
	}
	_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(st.Name()), ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000000")})
	wantCode(t, err, "InvalidArgumentException")
	_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(st.Name()), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000000")})
	wantCode(t, err, "InvalidArgumentException")
	_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(st.Name()), ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000042")})
	wantCode(t, err, "ResourceNotFoundException")
}

// TestUpdateShardCount scales up and down with UNIFORM_SCALING and checks that the open
// shards end in the uniform layout, that every child has at most two parents that were
// open and cover it, and that every record stays readable by walking from the stream's
// first shards through ChildShards.
func TestUpdateShardCount(t *testing.T) {
	_, c, st := setup(t, "scale", 2)
	ctx := testCtx(t)
	written := 0
	for _, target := range []int32{3, 6, 4, 2, 1, 2} {
		putKeys(t, c, st.Name(), keys(fmt.Sprint("n", target), 40)...)
		written += 40
		out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(st.Name()), TargetShardCount: aws.Int32(target), ScalingType: types.ScalingTypeUniformScaling})
		if err != nil {
			t.Fatalf("to %d: %v", target, err)
		}
		if aws.ToInt32(out.TargetShardCount) != target {
			t.Errorf("TargetShardCount %d", aws.ToInt32(out.TargetShardCount))
		}
		shards := listShards(t, c, st.Name())
		checkCover(t, shards)
		// The open shards are exactly the layout of a new stream of target shards.
		ref := start(t)
		mustStream(t, ref, "ref", int(target))
		var want, got []string
		for _, s := range ref.Stream("ref").Shards() {
			want = append(want, s.StartingHashKey+"-"+s.EndingHashKey)
		}
		for _, s := range shards {
			if s.SequenceNumberRange.EndingSequenceNumber == nil {
				got = append(got, *s.HashKeyRange.StartingHashKey+"-"+*s.HashKeyRange.EndingHashKey)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("to %d: open ranges %v, want %v", target, got, want)
		}
		// Lineage: parents are closed and their ranges together hold the child's.
		for _, s := range shards {
			if s.ParentShardId == nil {
				continue
			}
			p := shardByID(shards, *s.ParentShardId)
			lo, hi := dec(*p.HashKeyRange.StartingHashKey), dec(*p.HashKeyRange.EndingHashKey)
			if s.AdjacentParentShardId != nil {
				a := shardByID(shards, *s.AdjacentParentShardId)
				if a.SequenceNumberRange.EndingSequenceNumber == nil {
					t.Errorf("adjacent parent %s of %s is open", *a.ShardId, *s.ShardId)
				}
				if v := dec(*a.HashKeyRange.StartingHashKey); v.Cmp(lo) < 0 {
					lo = v
				}
				if v := dec(*a.HashKeyRange.EndingHashKey); v.Cmp(hi) > 0 {
					hi = v
				}
			}
			if p.SequenceNumberRange.EndingSequenceNumber == nil {
				t.Errorf("parent %s of %s is open", *p.ShardId, *s.ShardId)
			}
			if dec(*s.HashKeyRange.StartingHashKey).Cmp(lo) < 0 || dec(*s.HashKeyRange.EndingHashKey).Cmp(hi) > 0 {
				t.Errorf("%s's range is outside its parents'", *s.ShardId)
			}
		}
	}
	putKeys(t, c, st.Name(), keys("last", 40)...)
	written += 40

	// Walk the lineage as a consumer would: from the initial shards through ChildShards.
	seen := map[string]bool{}
	queue := []string{"shardId-000000000000", "shardId-000000000001"}
	read := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		recs, children := readShard(t, c, st.Name(), id)
		read += len(recs)
		for _, ch := range children {
			queue = append(queue, *ch.ShardId)
		}
	}
	if read != written {
		t.Errorf("read %d records walking ChildShards, wrote %d", read, written)
	}
	if len(seen) != len(st.Shards()) {
		t.Errorf("walked %d shards of %d", len(seen), len(st.Shards()))
	}

	for _, target := range []int32{5, 0} {
		_, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(st.Name()), TargetShardCount: aws.Int32(target), ScalingType: types.ScalingTypeUniformScaling})
		if target == 0 {
			wantCode(t, err, "ValidationException")
		} else {
			wantCode(t, err, "LimitExceededException") // more than double the 2 open shards
		}
	}
	if err := st.UpdateShardCount(1); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateShardCount(3); apiCode(err) != "LimitExceededException" {
		t.Errorf("Stream.UpdateShardCount(3) from 1: %v", err)
	}
	if got := st.OpenShards(); len(got) != 1 {
		t.Errorf("open shards %v", got)
	}
}

// TestStreamReshardHelpers drives resharding through the Stream handle.
func TestStreamReshardHelpers(t *testing.T) {
	srv := start(t)
	st := mustStream(t, srv, "helpers", 2)
	if err := st.SplitShard("shardId-000000000001", "255211775190703847597530955573826158592"); err != nil { // 3/4 of 2^128
		t.Fatal(err)
	}
	if err := st.MergeShards("shardId-000000000000", "shardId-000000000002"); err != nil {
		t.Fatal(err)
	}
	if err := st.MergeShards("shardId-000000000000", "shardId-000000000003"); apiCode(err) != "InvalidArgumentException" {
		t.Errorf("merging a closed shard: %v", err)
	}
	if got := strings.Join(st.OpenShards(), " "); got != "shardId-000000000004 shardId-000000000003" {
		t.Errorf("open shards %s", got)
	}
	var closed []string
	for _, s := range st.Shards() {
		if !s.Open {
			closed = append(closed, s.ID+"@"+s.EndingSequenceNumber[:2])
		}
	}
	if strings.Join(closed, " ") != "shardId-000000000000@49 shardId-000000000001@49 shardId-000000000002@49" {
		t.Errorf("closed shards %v", closed)
	}
	if err := srv.DeleteStream(st.Name()); err != nil {
		t.Fatal(err)
	}
	if err := st.SplitShard("shardId-000000000003", "300000000000000000000000000000000000000"); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("split on a deleted stream: %v", err)
	}
	if len(st.Shards()) != 5 {
		t.Errorf("a deleted stream's handle lost its shards")
	}
}

// TestListShards covers pagination, ExclusiveStartShardId and every ShardFilter type,
// and NextToken expiry.
func TestListShards(t *testing.T) {
	clock := newFakeClock()
	_, c, st := setup(t, "list", 7, kinesistest.WithClock(clock.Now))
	ctx := testCtx(t)
	created := clock.Now()
	clock.Advance(time.Minute)
	if err := st.SplitShard("shardId-000000000000", "1000"); err != nil { // shards 7 and 8
		t.Fatal(err)
	}
	splitAt := clock.Now()
	clock.Advance(time.Minute)

	ids := func(shards []types.Shard) string {
		var out []string
		for _, s := range shards {
			out = append(out, strings.TrimPrefix(*s.ShardId, "shardId-00000000000"))
		}
		return strings.Join(out, ",")
	}
	// Pages of 4: 0-3, 4-7, 8.
	var pages []string
	out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(st.Name()), MaxResults: aws.Int32(4)})
	for {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, ids(out.Shards))
		if out.NextToken == nil {
			break
		}
		out, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(4)})
	}
	if strings.Join(pages, " | ") != "0,1,2,3 | 4,5,6,7 | 8" {
		t.Errorf("pages %v", pages)
	}

	for _, tc := range []struct {
		in   kinesis.ListShardsInput
		want string
	}{
		{kinesis.ListShardsInput{ExclusiveStartShardId: aws.String("shardId-000000000005")}, "6,7,8"},
		{kinesis.ListShardsInput{ExclusiveStartShardId: aws.String("shardId-5")}, "6,7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}}, "1,2,3,4,5,6,7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}}, "0,1,2,3,4,5,6"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}}, "0,1,2,3,4,5,6,7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000006")}}, "7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(created.Add(time.Second))}}, "0,1,2,3,4,5,6"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(splitAt)}}, "1,2,3,4,5,6,7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(created.Add(time.Second))}}, "0,1,2,3,4,5,6,7,8"},
		{kinesis.ListShardsInput{ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(splitAt.Add(time.Second))}}, "1,2,3,4,5,6,7,8"},
	} {
		in := tc.in
		in.StreamName = aws.String(st.Name())
		out, err := c.ListShards(ctx, &in)
		if err != nil {
			t.Fatalf("%+v: %v", in.ShardFilter, err)
		}
		if got := ids(out.Shards); got != tc.want {
			t.Errorf("ExclusiveStart %v filter %+v: %s, want %s", aws.ToString(in.ExclusiveStartShardId), in.ShardFilter, got, tc.want)
		}
	}

	// A filtered listing keeps its filter across pages.
	out, err = c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(st.Name()), MaxResults: aws.Int32(5), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
	if err != nil || ids(out.Shards) != "1,2,3,4,5" || out.NextToken == nil {
		t.Fatalf("first filtered page: %v %v", err, out)
	}
	token := out.NextToken
	out, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: token})
	if err != nil || ids(out.Shards) != "6,7,8" || out.NextToken != nil {
		t.Errorf("second filtered page: %v %s", err, ids(out.Shards))
	}

	for _, tc := range []struct {
		in   kinesis.ListShardsInput
		code string
	}{
		{kinesis.ListShardsInput{StreamName: aws.String(st.Name()), NextToken: token}, "InvalidArgumentException"},
		{kinesis.ListShardsInput{NextToken: token, ExclusiveStartShardId: aws.String("shardId-000000000001")}, "InvalidArgumentException"},
		{kinesis.ListShardsInput{NextToken: aws.String("bm90IGEgdG9rZW4=")}, "InvalidArgumentException"},
		{kinesis.ListShardsInput{StreamName: aws.String(st.Name()), MaxResults: aws.Int32(0)}, "ValidationException"},
		{kinesis.ListShardsInput{StreamName: aws.String(st.Name()), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId}}, "InvalidArgumentException"},
		{kinesis.ListShardsInput{StreamName: aws.String(st.Name()), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp}}, "InvalidArgumentException"},
		{kinesis.ListShardsInput{StreamName: aws.String("missing")}, "ResourceNotFoundException"},
		{kinesis.ListShardsInput{}, "InvalidArgumentException"},
	} {
		_, err := c.ListShards(ctx, &tc.in)
		if apiCode(err) != tc.code {
			t.Errorf("%+v: %v, want %s", tc.in, err, tc.code)
		}
	}
	clock.Advance(5*time.Minute + time.Second)
	_, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: token})
	wantCode(t, err, "ExpiredNextTokenException")
}
