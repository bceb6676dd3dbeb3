package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"google.golang.org/protobuf/proto"
)

func TestPutUnits(t *testing.T) {
	for n, want := range map[int]int64{1: 1, 25600: 1, 25601: 2, 51200: 2, 1 << 20: 41} {
		if got := putUnits(n); got != want {
			t.Errorf("putUnits(%d) = %d, want %d", n, got, want)
		}
	}
}

// stats through a reshard on both emulators: the figures of every shard match what was
// put, computed here from the records themselves, and the table matches the golden file.
func TestStatsThroughReshard(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			stream, names, puts := reshardedStream(t, peer)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, out, errs := runCmd(t, ctx, "stats", "--endpoint", peer.Endpoint, "--output", "json", stream)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			var got struct {
				Rows []statsRow `json:"rows"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			// What each shard's "all" row must say, from the records put.
			want := map[string]*statsRow{}
			for _, p := range puts {
				r := want[p.shard]
				if r == nil {
					r = &statsRow{Shard: p.shard, Signal: "all"}
					want[p.shard] = r
				}
				size := len(p.data) + len(p.pk)
				r.Records++
				r.Bytes += float64(size)
				r.PutUnits += float64((size + 25600 - 1) / 25600)
				for _, s := range p.samples {
					r.UserRecords++
					enc, err := otlpsample.Encode(s.format, otlpsample.Request(s.format.Signal, s.id))
					if err != nil {
						t.Fatal(err)
					}
					raw, _ := proto.Marshal(otlpsample.Request(s.format.Signal, s.id))
					if s.format.ContentType == consumer.ContentTypeJSON {
						raw, _ = otlpsample.Telemetry(s.format, s.id).MarshalJSON()
					}
					r.PayloadBytes += int64(len(enc))
					r.DecodedBytes += int64(len(raw))
				}
				r.finish()
			}
			rows := map[string]statsRow{}
			for _, r := range got.Rows {
				if r.Signal == "all" {
					rows[r.Shard] = r
				}
			}
			if len(want) != 3 {
				t.Fatalf("records put on %d shards, want 3", len(want))
			}
			for shard, w := range want {
				if g := rows[shard]; g != *w {
					t.Errorf("shard %s:\n got %+v\nwant %+v", shard, g, *w)
				}
			}

			code, out, errs = runCmd(t, ctx, "stats", "--endpoint", peer.Endpoint, stream)
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			lines := strings.SplitN(out, "\n", 2)
			if !strings.HasPrefix(lines[0], "Stream "+stream+", records from TRIM_HORIZON to the end of each shard") {
				t.Errorf("header %q", lines[0])
			}
			table := lines[1]
			for id, name := range names {
				table = strings.ReplaceAll(table, id, name+strings.Repeat(" ", len(id)-len(name)))
			}
			checkGolden(t, "stats.golden", table)
		})
	}
}
