package otelkinesis_test

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// newTestProducer starts a producer on a new stream of an in-process Kinesis.
func newTestProducer(t *testing.T, shards int, opts ...otelkinesis.Option) (*kinesistest.Server, *kinesistest.Stream, *otelkinesis.Producer) {
	t.Helper()
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	stream, err := srv.CreateStream("events", shards)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]otelkinesis.Option{otelkinesis.WithStreamName("events"), otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig())}, opts...)
	p, err := otelkinesis.NewProducer(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, stream, p
}

// User records put with tags come back from the consumer's deaggregator with their keys,
// data and tags, each on the shard its key (or explicit hash key) maps to; the caller's
// buffer may be reused once Put returns.
func TestProducerPut(t *testing.T) {
	_, stream, p := newTestProducer(t, 2)
	ctx := context.Background()
	buf := make([]byte, 0, 64)
	type sent struct {
		key, ehk, data string
		tags           []otelkinesis.Tag
	}
	var want []sent
	for i := range 40 {
		s := sent{key: fmt.Sprintf("key-%d", i%7), data: fmt.Sprintf(`{"n":%d}`, i),
			tags: []otelkinesis.Tag{{Key: "n", Value: fmt.Sprint(i)}, {Key: "kind", Value: "test"}}}
		if i%10 == 9 {
			s.ehk = "1" // the first shard, whatever the key
		}
		buf = append(buf[:0], s.data...)
		if err := p.Put(ctx, s.key, s.ehk, buf, s.tags); err != nil {
			t.Fatal(err)
		}
		clear(buf)
		want = append(want, s)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	got := map[string]sent{}
	for _, r := range stream.AllRecords() {
		urs, err := consumer.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, ur := range urs {
			if !ur.Aggregated {
				t.Fatalf("user record %q sent plain", ur.Data)
			}
			got[string(ur.Data)] = sent{key: ur.PartitionKey, ehk: ur.ExplicitHashKey, data: string(ur.Data), tags: ur.Tags}
			if wantShard := shardOf(t, stream.Shards(), ur.PartitionKey, ur.ExplicitHashKey); r.ShardID != wantShard {
				t.Errorf("user record %q on %s, its key maps to %s", ur.Data, r.ShardID, wantShard)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d user records, want %d", len(got), len(want))
	}
	for _, w := range want {
		g := got[w.data]
		if g.key != w.key || g.ehk != w.ehk || len(g.tags) != 2 || g.tags[0] != w.tags[0] || g.tags[1] != w.tags[1] {
			t.Errorf("user record %s: %+v, want %+v", w.data, g, w)
		}
	}
}

// shardOf returns the shard whose hash key range holds hashKey (decimal), or the hash key
// of partitionKey when hashKey is "".
func shardOf(t *testing.T, shards []kinesistest.Shard, partitionKey, hashKey string) string {
	t.Helper()
	h, ok := new(big.Int).SetString(hashKey, 10)
	if !ok {
		sum := md5.Sum([]byte(partitionKey))
		h = new(big.Int).SetBytes(sum[:])
	}
	for _, s := range shards {
		start, _ := new(big.Int).SetString(s.StartingHashKey, 10)
		end, _ := new(big.Int).SetString(s.EndingHashKey, 10)
		if h.Cmp(start) >= 0 && h.Cmp(end) <= 0 {
			return s.ID
		}
	}
	t.Fatalf("no shard holds %s", h)
	return ""
}

// Put's errors: what Kinesis would refuse, what cannot fit, a full backlog until the
// context ends, and a producer shut down.
func TestProducerPutErrors(t *testing.T) {
	srv, _, p := newTestProducer(t, 1, otelkinesis.WithBacklogCount(1), otelkinesis.WithMaxConnections(1),
		otelkinesis.WithAggregateBatchCount(1), otelkinesis.WithBatchCount(1), otelkinesis.WithMaxRetries(0))
	ctx := context.Background()
	for _, tc := range []struct {
		name, key, ehk string
		data           []byte
		err            error
	}{
		{"empty key", "", "", []byte("x"), otelkinesis.ErrInvalidRecord},
		{"key too long", strings.Repeat("k", 257), "", []byte("x"), otelkinesis.ErrInvalidRecord},
		{"key not UTF-8", "k\xff", "", []byte("x"), otelkinesis.ErrInvalidRecord},
		{"hash key not a number", "k", "0x10", []byte("x"), otelkinesis.ErrInvalidRecord},
		{"data too large", "k", "", make([]byte, 1<<20), otelkinesis.ErrRecordTooLarge},
	} {
		if err := p.Put(ctx, tc.key, tc.ehk, tc.data, nil); !errors.Is(err, tc.err) || !strings.HasPrefix(err.Error(), "otelkinesis: put: ") {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}

	// A request that never ends, a second record queued behind it: the backlog is full
	// and Put waits until its context ends.
	srv.InjectRequests(1, kinesistest.Stall(), "PutRecords")
	for i := range 2 {
		if err := p.Put(ctx, "k", "", []byte{byte(i)}, nil); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := srv.WaitStalled(wctx, 1); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
	}
	start := time.Now()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Put(short, "k", "", []byte("waits"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put with the backlog full: %v, want the context's error", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("Put returned after %v, before its context ended", waited)
	}
	srv.Release()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(ctx, "k", "", []byte("late"), nil); !errors.Is(err, otelkinesis.ErrShutdown) {
		t.Errorf("Put after Shutdown: %v, want ErrShutdown", err)
	}
}
