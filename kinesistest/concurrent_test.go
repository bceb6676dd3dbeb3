package kinesistest_test

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestConcurrentUse writes from several clients at once while others read, the stream is
// resharded, and faults are switched on and off; run with -race. Afterwards the counts the
// clients saw, the server's stats and the stored records agree, every record sits on a
// shard whose range holds its hash key, and no sequence number repeats.
func TestConcurrentUse(t *testing.T) {
	srv, _, st := setup(t, "busy", 2, kinesistest.WithWriteCapacity(kinesistest.WriteCapacity{RecordsPerSecond: 100, BurstRecords: 50}))
	ctx := testCtx(t)
	const writers, batches, perBatch = 4, 12, 100
	var accepted, throttled, failed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})

	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(t, srv)
			for b := 0; b < batches; b++ {
				es := make([]types.PutRecordsRequestEntry, perBatch)
				for i := range es {
					es[i] = entry(fmt.Sprintf("w%d-b%d-%d", w, b, i), "payload")
				}
				out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: es})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for _, r := range out.Records {
					switch aws.ToString(r.ErrorCode) {
					case "":
						accepted.Add(1)
					case "ProvisionedThroughputExceededException":
						throttled.Add(1)
					default:
						failed.Add(1)
					}
				}
			}
		}()
	}
	var side sync.WaitGroup
	side.Add(3)
	go func() { // reader
		defer side.Done()
		c := client(t, srv)
		for {
			select {
			case <-stop:
				return
			default:
			}
			shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(st.Name())})
			if err != nil {
				t.Errorf("ListShards: %v", err)
				return
			}
			for _, s := range shards.Shards {
				it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(st.Name()), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
				if err != nil {
					t.Errorf("GetShardIterator: %v", err)
					return
				}
				if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(50)}); err != nil {
					t.Errorf("GetRecords: %v", err)
					return
				}
			}
		}
	}()
	go func() { // resharder
		defer side.Done()
		targets := []int{3, 4, 2, 3, 2}
		for i := 0; i < 40; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := st.UpdateShardCount(targets[i%len(targets)]); err != nil {
				t.Errorf("UpdateShardCount: %v", err)
				return
			}
			_ = st.Shards()
		}
	}()
	go func() { // fault switcher and observer
		defer side.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				srv.InjectEntryRate(kinesistest.EntryInternalFailure, 0.1, uint64(i))
			} else {
				srv.ClearFaults()
			}
			_ = srv.Stats()
			_ = srv.Requests()
		}
	}()
	wg.Wait()
	close(stop)
	side.Wait()

	total := int64(writers * batches * perBatch)
	if got := accepted.Load() + throttled.Load() + failed.Load(); got != total {
		t.Fatalf("clients saw %d outcomes, sent %d", got, total)
	}
	s := srv.Stats()
	if s.RecordsAccepted != accepted.Load() || s.RecordsThrottled != throttled.Load() || s.RecordsFailed != failed.Load() {
		t.Errorf("stats %+v; clients saw %d accepted, %d throttled, %d failed", s, accepted.Load(), throttled.Load(), failed.Load())
	}
	recs := st.AllRecords()
	if int64(len(recs)) != accepted.Load() {
		t.Errorf("%d records stored, %d accepted", len(recs), accepted.Load())
	}
	ranges := map[string][2]*big.Int{}
	for _, sh := range st.Shards() {
		ranges[sh.ID] = [2]*big.Int{dec(sh.StartingHashKey), dec(sh.EndingHashKey)}
	}
	seqs := map[string]bool{}
	for _, r := range recs {
		h, rg := md5HashKey(r.PartitionKey), ranges[r.ShardID]
		if h.String() != r.HashKey || h.Cmp(rg[0]) < 0 || h.Cmp(rg[1]) > 0 {
			t.Fatalf("record %s on %s: hash key %s outside the shard's range", r.PartitionKey, r.ShardID, h)
		}
		if seqs[r.SequenceNumber] {
			t.Fatalf("sequence number %s repeats", r.SequenceNumber)
		}
		seqs[r.SequenceNumber] = true
	}
	t.Logf("%d accepted, %d throttled, %d failed; %d shards in the end", accepted.Load(), throttled.Load(), failed.Load(), len(st.Shards()))
}

// TestAWSConfig checks the configuration AWSConfig hands out: the region, an endpoint
// that works, and the SDK's retries off.
func TestAWSConfig(t *testing.T) {
	srv := start(t, kinesistest.WithRegion("ap-south-2"))
	cfg := srv.AWSConfig()
	if cfg.Region != "ap-south-2" || aws.ToString(cfg.BaseEndpoint) != srv.URL() || cfg.AccountIDEndpointMode != aws.AccountIDEndpointModeDisabled {
		t.Errorf("config %+v", cfg)
	}
	if n := cfg.Retryer().MaxAttempts(); n != 1 {
		t.Errorf("retryer makes %d attempts", n)
	}
	c := kinesis.NewFromConfig(cfg)
	srv.InjectRequests(1, kinesistest.ServiceUnavailable())
	_, err := c.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: aws.String("x"), ShardCount: aws.Int32(1)})
	wantCode(t, err, "ServiceUnavailable")
	if n := srv.Stats().Requests; n != 1 {
		t.Errorf("%d requests: the SDK retried", n)
	}
	if srv.Stream("x") != nil {
		t.Error("the faulted CreateStream created the stream")
	}
}
