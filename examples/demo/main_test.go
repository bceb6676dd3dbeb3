package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestDemo runs the demo against kinesalite and checks that every record it wrote was read
// back, each partition key on exactly one shard.
func TestDemo(t *testing.T) {
	p := testpeers.Kinesalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, p.Endpoint, testpeers.UniqueStreamName(t), 2); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	shardOf := map[string]string{}
	shard := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "shardId-") {
			shard = strings.Fields(line)[0]
			continue
		}
		f := strings.Fields(line)
		if shard == "" || len(f) < 2 || !strings.HasPrefix(f[0], "order-") {
			continue
		}
		if prev, ok := shardOf[f[0]]; ok && prev != shard {
			t.Errorf("key %s on %s and %s", f[0], prev, shard)
		}
		shardOf[f[0]] = shard
	}
	for i := 0; i < 12; i++ {
		want := fmt.Sprintf("event %d of order-%d", i/4+1, i%4)
		if strings.Count(text, want) != 1 {
			t.Errorf("output has %q %d times, want once:\n%s", want, strings.Count(text, want), text)
		}
	}
}
