package kinesistest_test

// The behaviour suite: the same checks against every Kinesis implementation available here
// (kinesalite, kinesis-local and kinesistest). It is what proves kinesistest behaves like
// Kinesis, and it pins down where the emulators differ from AWS: each such
// difference is a named skip, never a silent pass, and a named skip fails once the
// implementation behaves like AWS there after all. Without the emulators (outside
// `make test`) their subtests skip and the kinesistest ones still run.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// target is one Kinesis implementation under test.
type target struct {
	name string
	// endpoint returns where to reach the implementation within one subtest. For an
	// emulator it is found through testpeers, which skips or fails the subtest when the
	// emulator is not running, so the other targets still run; options are ignored, as an
	// emulator cannot be configured. For kinesistest it is a new server with the suite's
	// options plus opts, closed when the subtest ends.
	endpoint func(t *testing.T, opts ...kinesistest.Option) string
	// differs names the checks (subtests, by name) where this implementation is known to
	// behave unlike AWS, with what it does instead. See [target.differsHere].
	differs map[string]string
}

// targets returns every implementation the suite runs against.
func targets() []target {
	return append(emulatorTargets(), kinesistestTarget())
}

func emulatorTargets() []target {
	return []target{
		{
			name: "kinesalite",
			endpoint: func(t *testing.T, _ ...kinesistest.Option) string {
				return testpeers.Kinesalite(t).Endpoint
			},
			differs: map[string]string{
				"request over 5 MiB refused":           "refuses the body with HTTP 413 and no Kinesis error type",
				"writes over shard capacity throttled": "does not throttle",
				"MaxRecordSizeInKiB reported":          "leaves MaxRecordSizeInKiB out of DescribeStreamSummary",
			},
		},
		{
			name: "kinesis-local",
			endpoint: func(t *testing.T, _ ...kinesistest.Option) string {
				return testpeers.KinesisLocal(t).Endpoint
			},
			differs: map[string]string{
				"501 entries refused":                  "accepts more than 500 entries",
				"257-character key refused":            "answers InvalidArgumentException, not ValidationException",
				"257 UTF-16 code units refused":        "answers InvalidArgumentException, not ValidationException",
				"empty key refused":                    "answers InvalidArgumentException, not ValidationException",
				"record over 1 MiB refused":            "accepts records over the stream's record limit",
				"request over 5 MiB refused":           "does not limit the request size",
				"writes over shard capacity throttled": "does not throttle",
				"hash ranges split as AWS does":        "splits the hash key space in steps of (2^128-1)/n, not 2^128/n: with 2 shards its boundary is one below AWS's",
				"MaxRecordSizeInKiB reported":          "answers MaxRecordSizeInKiB null in DescribeStreamSummary",
			},
		},
	}
}

// differsHere is called by a check, in its own subtest named after the check, once the
// implementation has answered: asAWS says whether it behaved as AWS does, got says what it
// did. Where tg is listed as differing from AWS at this check, the subtest ends there: it
// is skipped with the difference named or, when the implementation now behaves like AWS,
// it fails because the listed difference has gone stale. Otherwise differsHere returns and
// the check goes on to assert the AWS behaviour.
func (tg target) differsHere(t *testing.T, asAWS bool, got string) {
	t.Helper()
	name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	check := strings.ReplaceAll(name, "_", " ")
	why, ok := tg.differs[check]
	if !ok {
		return
	}
	if asAWS {
		t.Fatalf("%s is listed as differing from AWS at %q (it %s), but now behaves like AWS: it %s; the named skip is stale, remove it", tg.name, check, why, got)
	}
	t.Skipf("%s differs from AWS here: it %s; it %s", tg.name, why, got)
}

// forEachTarget runs fn against every target in parallel subtests named after them.
func forEachTarget(t *testing.T, fn func(t *testing.T, tg target, c *kinesis.Client)) {
	forEachTargetWith(t, nil, fn)
}

// forEachTargetWith is forEachTarget with options for the kinesistest target, for a check
// that needs kinesistest to do what AWS always does and kinesistest does only when asked
// (write capacity).
func forEachTargetWith(t *testing.T, opts []kinesistest.Option, fn func(t *testing.T, tg target, c *kinesis.Client)) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			fn(t, tg, testpeers.Client(t, tg.endpoint(t, opts...)))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shardMap reads the open shards' hash ranges from ListShards.
type shardMap struct {
	ids    []string
	ranges []aggregation.HashRange
}

func readShardMap(t *testing.T, ctx context.Context, c *kinesis.Client, stream string) shardMap {
	t.Helper()
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	var m shardMap
	for _, s := range shards {
		if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
			continue // closed
		}
		r, err := aggregation.ParseHashRange(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
		if err != nil {
			t.Fatalf("shard %s: %v", aws.ToString(s.ShardId), err)
		}
		m.ids = append(m.ids, aws.ToString(s.ShardId))
		m.ranges = append(m.ranges, r)
	}
	return m
}

func (m shardMap) shardFor(h aggregation.HashKey) string {
	for i, r := range m.ranges {
		if r.Contains(h) {
			return m.ids[i]
		}
	}
	return ""
}

// TestConformanceShardMap: a new 2-shard stream has two open shards whose ranges are
// contiguous and cover 0 to 2^128-1, and DescribeStreamSummary agrees.
func TestConformanceShardMap(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 2)

		sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); got != 2 {
			t.Errorf("OpenShardCount = %d, want 2", got)
		}
		m := readShardMap(t, ctx, c, stream)
		if len(m.ranges) != 2 {
			t.Fatalf("open shards = %d, want 2", len(m.ranges))
		}
		idx := []int{0, 1}
		sort.Slice(idx, func(a, b int) bool { return m.ranges[idx[a]].Start.Compare(m.ranges[idx[b]].Start) < 0 })
		lo, hi := m.ranges[idx[0]], m.ranges[idx[1]]
		if lo.Start != (aggregation.HashKey{}) {
			t.Errorf("first shard starts at %s, want 0", lo.Start)
		}
		if hi.End != aggregation.MaxHashKey {
			t.Errorf("last shard ends at %s, want 2^128-1", hi.End)
		}
		next := lo.End
		next.Lo++
		if next.Lo == 0 {
			next.Hi++
		}
		if next != hi.Start {
			t.Errorf("shards not contiguous: %s then %s", lo, hi)
		}
		t.Logf("%s shard map: %s=%s %s=%s", tg.name, m.ids[idx[0]], lo, m.ids[idx[1]], hi)

		// AWS splits the space evenly in steps of 2^128/n: with 2 shards the first ends at
		// 2^127-1 and the second starts at 2^127.
		t.Run("hash ranges split as AWS does", func(t *testing.T) {
			awsEnd := aggregation.HashKey{Hi: 1<<63 - 1, Lo: ^uint64(0)}
			asAWS := lo.End == awsEnd
			tg.differsHere(t, asAWS, fmt.Sprintf("ends the first of 2 shards at %s", lo.End))
			if !asAWS {
				t.Errorf("first of 2 shards ends at %s, want %s (2^127-1)", lo.End, awsEnd)
			}
		})
		// AWS reports every stream's record size limit, 1024 KiB unless set otherwise.
		t.Run("MaxRecordSizeInKiB reported", func(t *testing.T) {
			got := sum.StreamDescriptionSummary.MaxRecordSizeInKiB
			asAWS := aws.ToInt32(got) == 1024
			what := "answers no MaxRecordSizeInKiB"
			if got != nil {
				what = fmt.Sprintf("answers MaxRecordSizeInKiB %d", *got)
			}
			tg.differsHere(t, asAWS, what)
			if !asAWS {
				t.Errorf("DescribeStreamSummary %s, want 1024", what)
			}
		})
	})
}

// TestConformanceRouting puts records with and without ExplicitHashKey and checks that each
// lands on the shard the MD5 rule and the shard map predict, then reads every shard back and
// finds each record exactly once, in put order, byte for byte.
func TestConformanceRouting(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 2)
		m := readShardMap(t, ctx, c, stream)

		type sent struct {
			pk, ehk string
			data    []byte
			shard   string
		}
		var all []sent
		for batch := 0; batch < 3; batch++ {
			var entries []types.PutRecordsRequestEntry
			var want []sent
			for i := 0; i < 100; i++ {
				s := sent{pk: fmt.Sprintf("key-%d-%d-é", batch, i), data: []byte(fmt.Sprintf("record %d/%d\x00\xff", batch, i))}
				h := aggregation.HashPartitionKey(s.pk)
				if i%3 == 0 {
					// Route explicitly: alternate between the first and last hash key of a shard.
					r := m.ranges[i%2]
					h = r.Start
					if i%6 == 0 {
						h = r.End
					}
					s.ehk = h.String()
				}
				s.shard = m.shardFor(h)
				e := types.PutRecordsRequestEntry{PartitionKey: aws.String(s.pk), Data: s.data}
				if s.ehk != "" {
					e.ExplicitHashKey = aws.String(s.ehk)
				}
				entries = append(entries, e)
				want = append(want, s)
			}
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatal(err)
			}
			if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
				t.Fatalf("FailedRecordCount = %d", n)
			}
			for i, r := range out.Records {
				if got := aws.ToString(r.ShardId); got != want[i].shard {
					t.Errorf("entry %d (pk %q, ehk %q): shard %s, want %s", i, want[i].pk, want[i].ehk, got, want[i].shard)
				}
				if aws.ToString(r.SequenceNumber) == "" {
					t.Errorf("entry %d: no sequence number", i)
				}
			}
			all = append(all, want...)
		}

		// One PutRecord as well, with an explicit hash key.
		one := sent{pk: "single", ehk: m.ranges[1].Start.String(), data: []byte("single record"), shard: m.ids[1]}
		pr, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(one.pk),
			ExplicitHashKey: aws.String(one.ehk), Data: one.data})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(pr.ShardId); got != one.shard {
			t.Errorf("PutRecord: shard %s, want %s", got, one.shard)
		}
		all = append(all, one)

		got, err := testpeers.ReadStream(ctx, c, stream)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range m.ids {
			var want []sent
			for _, s := range all {
				if s.shard == id {
					want = append(want, s)
				}
			}
			recs := got[id]
			if len(recs) != len(want) {
				t.Fatalf("shard %s: read %d records, want %d", id, len(recs), len(want))
			}
			prevSeq := new(big.Int)
			for i, r := range recs {
				if aws.ToString(r.PartitionKey) != want[i].pk || !bytes.Equal(r.Data, want[i].data) {
					t.Errorf("shard %s record %d: got (%q, %q), want (%q, %q)", id, i, aws.ToString(r.PartitionKey), r.Data, want[i].pk, want[i].data)
				}
				seq, ok := new(big.Int).SetString(aws.ToString(r.SequenceNumber), 10)
				if !ok || seq.Cmp(prevSeq) <= 0 {
					t.Errorf("shard %s record %d: sequence number %q not increasing", id, i, aws.ToString(r.SequenceNumber))
				}
				prevSeq = seq
			}
		}
	})
}

// errorCode returns the AWS error code of err, "" when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestConformanceLimits checks the request validation each implementation performs, with
// the error codes Kinesis uses. Where an emulator does not enforce a limit the subtest is
// skipped by name.
func TestConformanceLimits(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 2)

		put := func(entries ...types.PutRecordsRequestEntry) error {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			return err
		}
		entry := func(pk string, n int) types.PutRecordsRequestEntry {
			return types.PutRecordsRequestEntry{PartitionKey: aws.String(pk), Data: bytes.Repeat([]byte{'x'}, n)}
		}
		// check asserts that err carries one of the codes AWS answers with, unless this
		// implementation is known to differ there, which is a named skip.
		check := func(t *testing.T, err error, codes ...string) {
			t.Helper()
			asAWS := err != nil && slices.Contains(codes, errorCode(err))
			got := "accepted the request"
			if err != nil {
				got = fmt.Sprintf("answered: %v", err)
			}
			tg.differsHere(t, asAWS, got)
			if err == nil {
				t.Fatalf("accepted, want %v", codes)
			}
			if !asAWS {
				t.Fatalf("error code %q (%v), want one of %v", errorCode(err), err, codes)
			}
		}

		t.Run("500 entries accepted", func(t *testing.T) {
			entries := make([]types.PutRecordsRequestEntry, 500)
			for i := range entries {
				entries[i] = entry(fmt.Sprint(i), 10)
			}
			if err := put(entries...); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("501 entries refused", func(t *testing.T) {
			entries := make([]types.PutRecordsRequestEntry, 501)
			for i := range entries {
				entries[i] = entry(fmt.Sprint(i), 10)
			}
			check(t, put(entries...), "ValidationException")
		})
		t.Run("256-character key accepted", func(t *testing.T) {
			if err := put(entry(strings.Repeat("é", 256), 1)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("257-character key refused", func(t *testing.T) {
			check(t, put(entry(strings.Repeat("k", 257), 1)), "ValidationException")
		})
		t.Run("256 UTF-16 code units accepted", func(t *testing.T) {
			if err := put(entry(strings.Repeat("😀", 128), 1)); err != nil { // 128 characters, 256 code units
				t.Fatal(err)
			}
		})
		t.Run("257 UTF-16 code units refused", func(t *testing.T) {
			check(t, put(entry(strings.Repeat("😀", 128)+"k", 1)), "ValidationException")
		})
		t.Run("empty key refused", func(t *testing.T) {
			check(t, put(entry("", 1)), "ValidationException")
		})
		t.Run("1 MiB record accepted", func(t *testing.T) {
			if err := put(entry("k", 1<<20-1)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("record over 1 MiB refused", func(t *testing.T) {
			check(t, put(entry("k", 1<<20+1)), "ValidationException", "InvalidArgumentException")
		})
		t.Run("ExplicitHashKey 2^128-1 accepted", func(t *testing.T) {
			e := entry("k", 1)
			e.ExplicitHashKey = aws.String(aggregation.MaxHashKey.String())
			if err := put(e); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ExplicitHashKey 2^128 refused", func(t *testing.T) {
			e := entry("k", 1)
			e.ExplicitHashKey = aws.String("340282366920938463463374607431768211456")
			check(t, put(e), "InvalidArgumentException", "ValidationException")
		})
		t.Run("request over 5 MiB refused", func(t *testing.T) {
			entries := make([]types.PutRecordsRequestEntry, 6)
			for i := range entries {
				entries[i] = entry(fmt.Sprint(i), 1<<20-16)
			}
			check(t, put(entries...), "InvalidArgumentException", "ValidationException")
		})
		t.Run("missing stream", func(t *testing.T) {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream + "-missing"), Records: []types.PutRecordsRequestEntry{entry("k", 1)}})
			check(t, err, "ResourceNotFoundException")
		})
	})
}

// TestConformanceThrottling puts three times what a shard takes in a second (1 MiB, with
// one second of burst) to one shard in a single PutRecords: AWS takes what fits and refuses
// the other entries with ProvisionedThroughputExceededException. kinesistest does so when
// asked (WithWriteCapacity, Kinesis's limits); the emulators never throttle.
// One request, so the result does not depend on how fast an implementation answers.
func TestConformanceThrottling(t *testing.T) {
	capacity := []kinesistest.Option{kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{})}
	forEachTargetWith(t, capacity, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 1)
		t.Run("writes over shard capacity throttled", func(t *testing.T) {
			const recordBytes = 768 << 10
			entries := make([]types.PutRecordsRequestEntry, 4) // 3 MiB
			for i := range entries {
				entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: bytes.Repeat([]byte{'t'}, recordBytes)}
			}
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatal(err)
			}
			throttled := 0
			for i, r := range out.Records {
				switch code := aws.ToString(r.ErrorCode); code {
				case "":
				case "ProvisionedThroughputExceededException":
					throttled++
					if msg := aws.ToString(r.ErrorMessage); !strings.HasPrefix(msg, "Rate exceeded for shard ") {
						t.Errorf("entry %d: message %q, want AWS's \"Rate exceeded for shard ...\"", i, msg)
					}
				default:
					t.Fatalf("entry %d: error %s %s", i, code, aws.ToString(r.ErrorMessage))
				}
			}
			if n := int(aws.ToInt32(out.FailedRecordCount)); n != throttled {
				t.Errorf("FailedRecordCount %d, but %d entries were throttled", n, throttled)
			}
			got := fmt.Sprintf("took all %d records of %d KiB, 3 MiB, put to one shard in one request", len(entries), recordBytes>>10)
			if throttled > 0 {
				got = fmt.Sprintf("throttled %d of %d records of %d KiB put to one shard in one request", throttled, len(entries), recordBytes>>10)
			}
			tg.differsHere(t, throttled > 0, got)
			switch {
			case throttled == 0:
				t.Fatalf("all %d records of %d KiB were taken by one shard in one request, want the ones over 1 MiB throttled", len(entries), recordBytes>>10)
			case throttled == len(entries):
				t.Fatalf("all %d records were throttled, want the shard to take what fits in 1 MiB", len(entries))
			}
			t.Logf("%d of %d records of %d KiB throttled", throttled, len(entries), recordBytes>>10)
		})
	})
}

// TestConformanceSplit splits one shard of a 1-shard stream at the middle of its range: the
// parent closes (an ending sequence number, no more writes), two children name it as parent
// and split its range there, records put before the split stay readable on the parent and
// records put after it land on the child the MD5 rule picks.
func TestConformanceSplit(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 1)
		before := readShardMap(t, ctx, c, stream)
		parent := before.ids[0]
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("before"), Data: []byte("before")}); err != nil {
			t.Fatal(err)
		}
		mid := aggregation.HashKey{Hi: 1 << 63}
		if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: aws.String(parent),
			NewStartingHashKey: aws.String(mid.String())}); err != nil {
			t.Fatal(err)
		}
		if err := testpeers.WaitActive(ctx, c, stream); err != nil {
			t.Fatal(err)
		}
		shards, err := testpeers.ListShards(ctx, c, stream)
		if err != nil {
			t.Fatal(err)
		}
		var children []string
		for _, s := range shards {
			id := aws.ToString(s.ShardId)
			closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			switch {
			case id == parent && !closed:
				t.Errorf("parent %s still open after the split", id)
			case id != parent:
				if aws.ToString(s.ParentShardId) != parent {
					t.Errorf("child %s: parent %q, want %s", id, aws.ToString(s.ParentShardId), parent)
				}
				children = append(children, id)
			}
		}
		if len(children) != 2 {
			t.Fatalf("children = %v, want 2", children)
		}
		after := readShardMap(t, ctx, c, stream)
		if len(after.ids) != 2 || after.shardFor(mid) == after.shardFor(aggregation.HashKey{Hi: 1<<63 - 1, Lo: ^uint64(0)}) {
			t.Fatalf("open shards after split %v do not split the range at %s", after.ids, mid)
		}
		keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		for _, k := range keys {
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(k), Data: []byte(k)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(out.ShardId), after.shardFor(aggregation.HashPartitionKey(k)); got != want {
				t.Errorf("key %q after split: shard %s, want %s", k, got, want)
			}
		}
		got, err := testpeers.ReadStream(ctx, c, stream)
		if err != nil {
			t.Fatal(err)
		}
		if p := got[parent]; len(p) != 1 || string(p[0].Data) != "before" {
			t.Errorf("parent %s holds %d records, want the one put before the split", parent, len(p))
		}
		n := 0
		for _, id := range children {
			n += len(got[id])
		}
		if n != len(keys) {
			t.Errorf("children hold %d records, want %d", n, len(keys))
		}
	})
}
