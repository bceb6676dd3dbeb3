package kpl_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestEmulatorsReshardingDuringRun splits a shard of a kinesalite and of a kinesis-local
// stream with SplitShard while the producer writes to it, the shard map refreshed only by
// what the producer sees (no periodic read). Read back from every shard, parent and
// children, with GetRecords: a KCL reader gets every user record exactly once, each inside
// its shard's hash range; the aggregates it discards are exactly those whose user records
// the producer sent again, which a reader that ignores the KCL rule sees twice.
func TestEmulatorsReshardingDuringRun(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			c, name, p := emulatorProducer(t, peer, 2, func(cfg *kpl.Config) {
				cfg.ShardMapRefresh = time.Hour // only the producer's own detection
			})

			// A writer puts 4000 user records over about two seconds; the split comes
			// after the first quarter.
			const total = 4000
			want := make(map[string]string, total)
			var wmu sync.Mutex
			var written atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range total {
					pk := fmt.Sprintf("key-%d", i%1000)
					d := fmt.Sprintf("r%05d", i)
					wmu.Lock()
					want[d] = pk
					wmu.Unlock()
					if err := p.Put(t.Context(), pk, "", []byte(d), nil); err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					written.Add(1)
					if i%20 == 19 {
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
			for written.Load() < total/4 {
				time.Sleep(time.Millisecond)
			}
			parent := split(t, c, name)
			wg.Wait()
			flush(t, p)

			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := testpeers.WaitActive(ctx, c, name); err != nil {
				t.Fatal(err)
			}
			recs, shards := readEmulator(t, ctx, c, name)
			res := readKCL(t, recs)
			s := p.Stats()
			t.Logf("%s: %d user records in %d Kinesis records on %d shards (%s split); wrong shard %d, resent %d user records, %d splits, %d map reads; KCL discards %d",
				peer.Name, len(want), res.records, shards, parent, s.WrongShard, s.WrongShardResends, s.Splits, s.ShardMapRefreshes, res.discarded)
			if s.Shards != 3 || s.UserRecordsDelivered != total || s.UserRecordsDropped != 0 {
				t.Errorf("stats %+v, want 3 shards known and every record delivered", s)
			}
			if s.WrongShard == 0 {
				t.Errorf("no record landed on an unexpected shard: the split came too late to test anything")
			}
			if int64(res.discarded) != s.WrongShardResends {
				t.Errorf("KCL discards %d user records, the producer resent %d", res.discarded, s.WrongShardResends)
			}
			if dup := rawDuplicates(t, recs); int64(dup) != s.WrongShardResends {
				t.Errorf("a reader ignoring the KCL rule sees %d duplicates, the producer resent %d", dup, s.WrongShardResends)
			}
			res.discarded = 0
			checkExactlyOnce(t, res, want)
		})
	}
}

// split splits the first shard of the stream at the middle of its range and returns
// its ID.
func split(t *testing.T, c *kinesis.Client, stream string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	s := shards[0]
	mid := bigMid(t, aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: s.ShardId,
		NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	return aws.ToString(s.ShardId)
}

// rawDuplicates counts the extra copies of user records a reader that deaggregates
// every record, ignoring the KCL rule, would see.
func rawDuplicates(t *testing.T, recs []stored) int {
	t.Helper()
	seen := map[string]int{}
	dup := 0
	for _, r := range recs {
		users, err := consumer.Deaggregate(r.data, r.pk)
		if err != nil {
			t.Fatalf("shard %s: %v", r.shard, err)
		}
		for _, u := range users {
			if seen[string(u.Data)]++; seen[string(u.Data)] > 1 {
				dup++
			}
		}
	}
	return dup
}
