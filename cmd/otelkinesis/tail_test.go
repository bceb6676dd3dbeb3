package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// putInfo is one Kinesis record a test put.
type putInfo struct {
	shard, pk string
	data      []byte
	samples   []sample
}

// reshardedStream makes a stream on peer holding a fixed input across a reshard: one
// shard with three aggregated records (traces, mixed metrics and logs), split in two,
// then a record on each child. It returns the stream, the shard names and what it put.
func reshardedStream(t *testing.T, peer testpeers.Peer) (string, map[string]string, []putInfo) {
	c := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, c, stream, 1)
	var puts []putInfo
	putSamples := func(ehk string, ss ...sample) {
		data, pk := aggregate(t, ehk, ss...)
		shard, _ := put(t, c, stream, data, pk, ehk)
		puts = append(puts, putInfo{shard, pk, data, ss})
	}
	putSamples("", sample{1, protoNone}, sample{2, withSignal(protoNone, consumer.Traces)})
	putSamples("", sample{3, jsonGzip}, sample{4, protoZstd})
	putSamples("", sample{5, withSignal(jsonGzip, consumer.Traces)})
	parent := splitInHalf(t, c, stream)
	putSamples(lowKey, sample{6, withSignal(protoZstd, consumer.Metrics)})
	putSamples(highKey, sample{7, protoZstd}, sample{8, protoNone})
	return stream, shardNames(t, c, stream, parent), puts
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// tail reads a stream through a reshard on both emulators: every record once, parents
// before children, and the text output matches the golden file shard by shard.
func TestTailThroughReshard(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			stream, names, _ := reshardedStream(t, peer)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, out, errs := runCmd(t, ctx, "tail", "--endpoint", peer.Endpoint, "--from", "trim_horizon", "--follow=false",
				"--poll", "50ms", stream)
			if code != exitOK {
				t.Fatalf("exit %d\nstderr:\n%s", code, errs)
			}
			// Children after their parent: no parent block after a child's.
			seenChild := false
			for _, b := range blocks(out) {
				switch names[blockShard(b)] {
				case "parent":
					if seenChild {
						t.Errorf("a parent record printed after a child's:\n%s", out)
					}
				default:
					seenChild = true
				}
			}
			checkGolden(t, "tail.golden", byShard(t, out, names))

			code, out, errs = runCmd(t, ctx, "tail", "--endpoint", peer.Endpoint, "--from", "trim_horizon", "--follow=false",
				"--poll", "50ms", "--output", "json", stream)
			if code != exitOK {
				t.Fatalf("json: exit %d\nstderr:\n%s", code, errs)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			sort.Strings(lines)
			checkGolden(t, "tail-json.golden", strings.Join(lines, "\n")+"\n")
		})
	}
}
