package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestDemo runs the demo against kinesalite and checks what it printed: every trace, log
// record and metric it produced was read back, told apart by its tags, each trace whole
// on one shard with its logs.
func TestDemo(t *testing.T) {
	p := testpeers.Kinesalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	const requests = 40
	if err := run(ctx, &out, p.Endpoint, testpeers.UniqueStreamName(t), requests, -1); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	m := regexp.MustCompile(`Service handled 40 requests: (\d+) spans exported`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no export summary:\n%s", text)
	}
	exported, _ := strconv.Atoi(m[1])
	for _, want := range []string{
		"40 traces, each whole on one shard; 40 log records, 40 of them on their trace's shard",
		"40 x logs    application/x-protobuf gzip", "40 x traces  application/x-protobuf zstd",
		"metrics application/json", "checkout.requests{outcome=ok} = 34", "checkout.requests{outcome=declined} = 6",
		"checkout.duration: count 40",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// Each trace holds 5 + items spans; the trees printed must add up with their headers.
	trees := regexp.MustCompile(`trace ([0-9a-f]{32}) on (shardId-\d+) \((\d+) spans\)`).FindAllStringSubmatch(text, -1)
	if len(trees) != requests {
		t.Fatalf("printed %d trees, want one per trace, %d:\n%s", len(trees), requests, text)
	}
	treesOn := map[string]int{}
	for _, tr := range trees {
		treesOn[tr[2]]++
	}
	shardLines := regexp.MustCompile(`(shardId-\d+): (\d+) traces`).FindAllStringSubmatch(text, -1)
	total := 0
	for _, l := range shardLines {
		n, _ := strconv.Atoi(l[2])
		total += n
		if treesOn[l[1]] != n {
			t.Errorf("%s: %d traces counted, %d printed as trees on it", l[1], n, treesOn[l[1]])
		}
	}
	if total != requests || len(shardLines) != 2 {
		t.Errorf("per-shard trace counts %v add up to %d, want %d over 2 shards", shardLines, total, requests)
	}
	if exported < requests*6 {
		t.Errorf("exported %d spans, want at least %d", exported, requests*6)
	}
}
