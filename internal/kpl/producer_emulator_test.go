package kpl_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestEmulators100kRecordsFourShards writes 100,000 user records with many
// partition keys into a 4-shard stream of kinesalite and of kinesis-local,
// reads every shard back with GetRecords and checks that each user record
// came back exactly once, on a shard whose range holds its key, in
// aggregates that pass the KCL rule. The shard ranges come from ListShards:
// the two emulators do not draw them alike.
func TestEmulators100kRecordsFourShards(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			c := newClient(t, peer.Endpoint)
			name := testpeers.UniqueStreamName(t)
			testpeers.CreateStream(t, c, name, 4)
			cfg := config(name)
			// Neither emulator enforces the request limit of current AWS; stay
			// within the 5 MiB they document.
			cfg.BatchSize = 5 << 20
			p := newProducer(t, c, cfg)
			if s := p.Stats(); s.Fallback || s.Shards != 4 {
				t.Fatalf("shard map not read: %+v", s)
			}
			want := putMany(t, p, 100_000, 20_000, 4, 150)
			flush(t, p)
			if s := p.Stats(); s.UserRecordsDelivered != 100_000 || s.UserRecordsDropped != 0 {
				t.Fatalf("stats %+v", s)
			}

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			shards, err := testpeers.ListShards(ctx, c, name)
			if err != nil {
				t.Fatal(err)
			}
			var recs []stored
			for _, s := range shards {
				got, err := testpeers.ReadShard(ctx, c, name, aws.ToString(s.ShardId))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					recs = append(recs, stored{
						shard: aws.ToString(s.ShardId),
						start: aws.ToString(s.HashKeyRange.StartingHashKey),
						end:   aws.ToString(s.HashKeyRange.EndingHashKey),
						pk:    aws.ToString(r.PartitionKey),
						data:  r.Data,
					})
				}
			}
			res := readKCL(t, recs)
			t.Logf("%s: 100000 user records in %d Kinesis records on %d shards", peer.Name, res.records, len(shards))
			checkExactlyOnce(t, res, want)
		})
	}
}
