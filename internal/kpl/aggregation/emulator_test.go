package aggregation_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestThroughEmulators puts aggregated records, built per shard as the
// producer builds them, into kinesalite and kinesis-local, reads every shard
// back with GetRecords, and checks that each decodes, under the KCL's
// shard-range rule, to exactly the user records put into it. A last
// aggregate mixes shards on purpose and must be reported.
func TestThroughEmulators(t *testing.T) {
	for _, p := range testpeers.Emulators(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			// testpeers.Client, without keep-alive: no idle connection
			// outlives the test.
			cfg := testpeers.Config(p.Endpoint)
			cfg.HTTPClient = sdkhttp.Wrap(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				tr.DisableKeepAlives = true
			}))
			c := kinesis.NewFromConfig(cfg)
			stream := testpeers.UniqueStreamName(t)
			testpeers.CreateStream(t, c, stream, 3)
			shards, err := testpeers.ListShards(ctx, c, stream)
			if err != nil {
				t.Fatal(err)
			}
			ranges := make([]aggregation.HashRange, len(shards))
			for i, s := range shards {
				if ranges[i], err = aggregation.ParseHashRange(*s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey); err != nil {
					t.Fatalf("shard %s: %v", *s.ShardId, err)
				}
			}
			shardOf := func(in inputRecord) int {
				h := aggregation.HashPartitionKey(in.pk)
				if in.ehk != "" {
					h, _ = aggregation.ParseHashKey(in.ehk)
				}
				for i, r := range ranges {
					if r.Contains(h) {
						return i
					}
				}
				t.Fatalf("hash key %v in no shard", h)
				return -1
			}

			// Several aggregates per shard; every user record goes to its own shard.
			r := rand.New(rand.NewPCG(31, 32))
			want := make([][]inputRecord, len(shards))   // user records per shard, in put order
			aggs := make([][][]inputRecord, len(shards)) // aggregates per shard
			for range 4 {
				perShard := make([][]inputRecord, len(shards))
				for _, in := range randomInputs(r, 60, true) {
					i := shardOf(in)
					perShard[i] = append(perShard[i], in)
				}
				for i, ins := range perShard {
					if len(ins) > 0 {
						aggs[i] = append(aggs[i], ins)
						want[i] = append(want[i], ins...)
					}
				}
			}
			var entries []types.PutRecordsRequestEntry
			for i, list := range aggs {
				for _, ins := range list {
					// The outer record goes to the shard by its explicit hash
					// key. Its partition key is not a user record's: those
					// may exceed 256 UTF-16 code units, which both emulators
					// refuse in a PutRecords entry.
					entries = append(entries, types.PutRecordsRequestEntry{
						Data:            encode(ins),
						PartitionKey:    aws.String("aggregate"),
						ExplicitHashKey: aws.String(ranges[i].Start.String()),
					})
				}
			}
			// Shard 0 also gets a plain record and an aggregate that wrongly
			// mixes in user records of other shards.
			plain := []byte("plain, not aggregated")
			entries = append(entries, types.PutRecordsRequestEntry{Data: plain, PartitionKey: aws.String("plain"),
				ExplicitHashKey: aws.String(ranges[0].Start.String())})
			var mixed []inputRecord
			for i := range shards {
				mixed = append(mixed, want[i][0])
			}
			entries = append(entries, types.PutRecordsRequestEntry{Data: encode(mixed), PartitionKey: aws.String("mixed"),
				ExplicitHashKey: aws.String(ranges[0].Start.String())})

			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatal(err)
			}
			if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
				t.Fatalf("%d of %d entries failed", n, len(entries))
			}
			for i, res := range out.Records {
				if want := aws.ToString(shards[0].ShardId); i >= len(entries)-2 && aws.ToString(res.ShardId) != want {
					t.Fatalf("entry %d landed in %s, want %s", i, aws.ToString(res.ShardId), want)
				}
			}

			read, err := testpeers.ReadStream(ctx, c, stream)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range shards {
				d, err := consumer.NewDeaggregator(consumer.WithShard(s))
				if err != nil {
					t.Fatal(err)
				}
				recs := read[*s.ShardId]
				if i == 0 {
					if len(recs) < 2 {
						t.Fatalf("shard %s: %d records", *s.ShardId, len(recs))
					}
					tail := recs[len(recs)-2:]
					recs = recs[:len(recs)-2]
					got, err := d.DeaggregateRecord(tail[0])
					if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, plain) || got[0].Aggregated ||
						got[0].SequenceNumber != aws.ToString(tail[0].SequenceNumber) {
						t.Fatalf("plain record read as %+v, %v", got, err)
					}
					got, err = d.DeaggregateRecord(tail[1])
					var sre *consumer.ShardRangeError
					if !errors.As(err, &sre) || len(sre.Outside) != len(shards)-1 || len(got) != len(shards) {
						t.Fatalf("mixed aggregate: %d records, %v", len(got), err)
					}
				}
				var got []consumer.UserRecord
				for _, rec := range recs {
					if got, err = d.AppendRecord(got, rec); err != nil {
						t.Fatalf("shard %s record %s: %v", *s.ShardId, aws.ToString(rec.SequenceNumber), err)
					}
				}
				if len(got) != len(want[i]) {
					t.Fatalf("shard %s: %d user records, put %d", *s.ShardId, len(got), len(want[i]))
				}
				for j, w := range want[i] {
					g := got[j]
					if g.PartitionKey != w.pk || g.ExplicitHashKey != w.ehk || !bytes.Equal(g.Data, w.data) ||
						len(g.Tags) != len(w.tags) || g.SequenceNumber == "" {
						t.Fatalf("shard %s user record %d: pk %q ehk %q %d bytes %d tags; put pk %q ehk %q %d bytes %d tags",
							*s.ShardId, j, g.PartitionKey, g.ExplicitHashKey, len(g.Data), len(g.Tags),
							w.pk, w.ehk, len(w.data), len(w.tags))
					}
					for k := range w.tags {
						if g.Tags[k] != consumer.Tag(w.tags[k]) {
							t.Fatalf("shard %s user record %d tag %d: %v, put %v", *s.ShardId, j, k, g.Tags[k], w.tags[k])
						}
					}
				}
			}
		})
	}
}
