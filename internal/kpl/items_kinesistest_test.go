package kpl_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// dropItems sums Items over every DropError in err.
func dropItems(err error) (items int64, records int) {
	var walk func(error)
	walk = func(e error) {
		var d *kpl.DropError
		if errors.As(e, &d) && d != nil {
			if j, ok := e.(interface{ Unwrap() []error }); ok && e != error(d) {
				for _, x := range j.Unwrap() {
					walk(x)
				}
				return
			}
			items += d.Items
			records += d.Records
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return items, records
}

// TestItemsDropped: user records put with PutItems and then refused for good report the
// items they held in their DropError, so an exporter can say how many spans it lost.
func TestItemsDropped(t *testing.T) {
	srv, _, c := startServer(t, 2)
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	p := newProducer(t, c, config("telemetry"))
	var want int64
	for i := 0; i < 100; i++ {
		items := 1 + i%7
		want += int64(items)
		if err := p.PutItems(t.Context(), fmt.Sprintf("key-%d", i), "", []byte("data"), nil, items); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Flush(ctx)
	items, records := dropItems(err)
	if records != 100 || items != want {
		t.Fatalf("Flush reports %d records holding %d items dropped, want 100 and %d: %v", records, items, want, err)
	}
}

// TestItemsFollowReaggregation: after a split, aggregates that landed on the wrong shard
// are taken apart and aggregated again per shard. When the records for one child shard
// then fail until the retries run out, the items reported dropped are exactly those of
// the user records that were not delivered, so weights follow their user records through
// re-aggregation.
func TestItemsFollowReaggregation(t *testing.T) {
	srv, st, c := startServer(t, 1)
	cfg := config("telemetry")
	cfg.ShardMapRefresh = time.Hour
	cfg.FlushInterval = time.Hour
	cfg.MaxRetries = 2
	p := newProducer(t, c, cfg)
	weights := map[string]int64{}
	var total int64
	for i := 0; i < 300; i++ {
		d := "r" + strconv.Itoa(i)
		w := int64(1 + i%5)
		weights[d], total = w, total+w
		if err := p.PutItems(t.Context(), fmt.Sprintf("key-%d", i), "", []byte(d), nil, int(w)); err != nil {
			t.Fatal(err)
		}
	}
	shards := st.Shards()
	if err := st.SplitShard(shards[0].ID, bigMid(t, shards[0].StartingHashKey, shards[0].EndingHashKey)); err != nil {
		t.Fatal(err)
	}
	// The child that does not hold the first user record's key refuses everything: the
	// aggregate (sent under that key) lands on the other child, is found to span both, and
	// is taken apart.
	first := aggregation.HashPartitionKey("key-0")
	for _, sh := range st.Shards() {
		r, err := aggregation.ParseHashRange(sh.StartingHashKey, sh.EndingHashKey)
		if err != nil {
			t.Fatal(err)
		}
		if sh.ID != shards[0].ID && !r.Contains(first) {
			srv.InjectEntryShards(kinesistest.EntryInternalFailure, sh.ID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := p.Flush(ctx)
	if p.Stats().Splits == 0 {
		t.Fatalf("no aggregate was taken apart (stats %+v): the test does not reach re-aggregation", p.Stats())
	}
	res := readKCL(t, serverRecords(st))
	var delivered int64
	for d := range res.users {
		delivered += weights[d]
	}
	items, _ := dropItems(err)
	if delivered == 0 || items == 0 || items != total-delivered {
		t.Fatalf("dropped items %d, want %d (total %d, delivered %d, both non-zero): %v", items, total-delivered, total, delivered, err)
	}
	t.Logf("%d items delivered, %d reported dropped after re-aggregation", delivered, items)
}
