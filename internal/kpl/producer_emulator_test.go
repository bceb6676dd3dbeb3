package kpl_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
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
			c, name, p := emulatorProducer(t, peer, 4, nil)
			want := putMany(t, p, 100_000, 20_000, 4, 150)
			flush(t, p)
			if s := p.Stats(); s.UserRecordsDelivered != 100_000 || s.UserRecordsDropped != 0 {
				t.Fatalf("stats %+v", s)
			}

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			recs, shards := readEmulator(t, ctx, c, name)
			res := readKCL(t, recs)
			t.Logf("%s: 100000 user records in %d Kinesis records on %d shards", peer.Name, res.records, shards)
			checkExactlyOnce(t, res, want)
		})
	}
}

// emulatorProducer creates a stream of the given shards on peer and a producer writing
// it with config's settings, changed by mod if set. It fails the test unless the producer
// read the stream's shard map.
func emulatorProducer(t *testing.T, peer testpeers.Peer, shards int32, mod func(*kpl.Config)) (*kinesis.Client, string, *kpl.Producer) {
	t.Helper()
	c := newClient(t, peer.Endpoint)
	name := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, c, name, shards)
	cfg := config(name)
	// Neither emulator enforces the request limit of current AWS; stay within the
	// 5 MiB they document.
	cfg.BatchSize = 5 << 20
	if mod != nil {
		mod(&cfg)
	}
	p := newProducer(t, c, cfg)
	if s := p.Stats(); s.Fallback || s.Shards != int(shards) {
		t.Fatalf("%s: shard map not read: %+v", peer.Name, s)
	}
	return c, name, p
}

// readEmulator reads every record of every shard, open or closed, with GetRecords, each
// with its shard's range, and returns them with the number of shards.
func readEmulator(t *testing.T, ctx context.Context, c *kinesis.Client, stream string) ([]stored, int) {
	t.Helper()
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	var recs []stored
	for _, s := range shards {
		got, err := testpeers.ReadShard(ctx, c, stream, aws.ToString(s.ShardId))
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
	return recs, len(shards)
}
