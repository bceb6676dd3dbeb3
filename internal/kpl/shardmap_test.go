package kpl

import (
	"errors"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestShardMapCoverage(t *testing.T) {
	r := evenRanges(3)
	ok := []shardInfo{
		{id: "c", rng: r[2], open: true},
		{id: "a", rng: r[0], open: true},
		{id: "old", rng: aggregation.HashRange{End: aggregation.MaxHashKey}},
		{id: "b", rng: r[1], open: true},
	}
	m, err := newShardMap(ok)
	if err != nil {
		t.Fatal(err)
	}
	if m.open[0].id != "a" || m.open[2].id != "c" || len(m.byID) != 4 {
		t.Errorf("map %+v", m)
	}
	for i, h := range []aggregation.HashKey{{}, r[0].End, r[1].Start, nextHashKey(r[1].Start), r[2].Start, aggregation.MaxHashKey} {
		want := []int{0, 0, 1, 1, 2, 2}[i]
		if got := m.find(h); got != want {
			t.Errorf("find(%s) = %d, want %d", h, got, want)
		}
	}

	bad := map[string][]shardInfo{
		"no open shard":             {{id: "x", rng: r[0]}},
		"expected it to start at 0": {{id: "b", rng: r[1], open: true}, {id: "c", rng: r[2], open: true}},
		"below 2^128-1":             {{id: "a", rng: r[0], open: true}, {id: "b", rng: r[1], open: true}},
		"overlap":                   {{id: "all", rng: aggregation.HashRange{End: aggregation.MaxHashKey}, open: true}, {id: "c", rng: r[2], open: true}},
	}
	for want, infos := range bad {
		_, err := newShardMap(infos)
		if !errors.Is(err, errShardMap) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func TestListShardsPaginates(t *testing.T) {
	f := newFakeKinesis("s", 5) // two shards a page
	f.split(f.shards[4].rng.Start)
	cfg := testConfig("s")
	m, err := listShards(t.Context(), f, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.open) != 6 || len(m.byID) != 7 || m.pages != 4 {
		t.Errorf("open %d, all %d, pages %d", len(m.open), len(m.byID), m.pages)
	}
	cfg.StreamName = "nope"
	if _, err := listShards(t.Context(), f, &cfg, nil); err == nil || !strings.Contains(err.Error(), `stream "nope": ListShards`) {
		t.Errorf("missing stream: %v", err)
	}
}
