package consumer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// The two shards of a fresh two-shard stream, as ListShards reports them.
const (
	shard0Start = "0"
	shard0End   = "170141183460469231731687303715884105727"
	shard1Start = "170141183460469231731687303715884105728"
	shard1End   = "340282366920938463463374607431768211455"
)

// keysIn returns n partition keys that hash into shard 0 (low) or shard 1.
func keysIn(low bool, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := "key-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260))
		if (aggregation.HashPartitionKey(k).Hi < 1<<63) == low {
			out = append(out, k)
		}
	}
	return out
}

func TestShardRange(t *testing.T) {
	low, high := keysIn(true, 3), keysIn(false, 2)
	var a aggregation.Aggregator
	a.Add(low[0], "", []byte("0"), nil)
	a.Add(high[0], "", []byte("1"), nil) // outside shard 0
	a.Add(low[1], "", []byte("2"), nil)
	a.Add(high[1], "5", []byte("3"), nil)        // explicit hash key 5 routes it into shard 0
	a.Add(low[2], shard1Start, []byte("4"), nil) // explicit hash key routes it out
	a.Add(low[2], "", []byte("5"), nil)
	data := a.AppendTo(nil)

	d := newDeaggregator(t, consumer.WithShardHashKeyRange(shard0Start, shard0End))
	got, err := d.Deaggregate(data, "outer")
	var sre *consumer.ShardRangeError
	if !errors.As(err, &sre) {
		t.Fatalf("error %v, want a *ShardRangeError", err)
	}
	if len(got) != 6 {
		t.Fatalf("%d user records returned with the error, want all 6", len(got))
	}
	if sre.Total != 6 || len(sre.Outside) != 2 || sre.StartingHashKey != shard0Start || sre.EndingHashKey != shard0End {
		t.Fatalf("ShardRangeError %+v", sre)
	}
	o0, o1 := sre.Outside[0], sre.Outside[1]
	if o0.SubSequenceNumber != 1 || o0.PartitionKey != high[0] || o0.HashKey != aggregation.HashPartitionKey(high[0]).String() || o0.Err != nil {
		t.Errorf("first outside record %+v", o0)
	}
	if o1.SubSequenceNumber != 4 || o1.ExplicitHashKey != shard1Start || o1.HashKey != shard1Start {
		t.Errorf("second outside record %+v", o1)
	}
	if msg := err.Error(); !strings.Contains(msg, "2 of 6") || !strings.Contains(msg, high[0]) {
		t.Errorf("message %q", msg)
	}

	// The same record read from shard 1's point of view: the other four.
	d1 := newDeaggregator(t, consumer.WithShard(types.Shard{ShardId: aws.String("shardId-000000000001"),
		HashKeyRange: &types.HashKeyRange{StartingHashKey: aws.String(shard1Start), EndingHashKey: aws.String(shard1End)}}))
	_, err = d1.Deaggregate(data, "outer")
	if !errors.As(err, &sre) || len(sre.Outside) != 4 {
		t.Fatalf("shard 1: %v", err)
	}

	// A record whose user records all belong passes, and plain records are
	// never checked.
	a.Reset()
	for _, k := range low {
		a.Add(k, "", nil, nil)
	}
	if got, err := d.Deaggregate(a.AppendTo(nil), "outer"); err != nil || len(got) != 3 {
		t.Fatalf("all inside: %d, %v", len(got), err)
	}
	if _, err := d.Deaggregate([]byte("plain"), high[0]); err != nil {
		t.Fatalf("plain record checked: %v", err)
	}
}

func TestShardRangeInvalidExplicitHashKey(t *testing.T) {
	var a aggregation.Aggregator
	a.Add("k", "0123", nil, nil)
	d := newDeaggregator(t, consumer.WithShardHashKeyRange("0", shard1End))
	_, err := d.Deaggregate(a.AppendTo(nil), "outer")
	var sre *consumer.ShardRangeError
	if !errors.As(err, &sre) || len(sre.Outside) != 1 || !errors.Is(sre.Outside[0].Err, consumer.ErrHashKey) ||
		!errors.Is(sre.Outside[0].Err, aggregation.ErrHashKeySyntax) {
		t.Fatalf("invalid explicit hash key: %v", err)
	}
	if !strings.Contains(err.Error(), "leading zero") {
		t.Errorf("message %q does not say why", err)
	}
}

func TestShardRangeOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opt  consumer.Option
		want string
	}{
		{consumer.WithShardHashKeyRange("10", "9"), `WithShardHashKeyRange("10", "9")`},
		{consumer.WithShardHashKeyRange("-1", "9"), `WithShardHashKeyRange("-1", "9")`},
		{consumer.WithShardHashKeyRange("0", "340282366920938463463374607431768211456"), "above 2^128-1"},
		{consumer.WithShard(types.Shard{ShardId: aws.String("shardId-7")}), `WithShard("shardId-7")`},
	} {
		if _, err := consumer.NewDeaggregator(c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %s", err, c.want)
		}
	}
}
