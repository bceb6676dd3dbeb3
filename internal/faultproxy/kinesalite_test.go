package faultproxy_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/faultproxy"
	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestKinesalite puts the proxy between an aws-sdk-go-v2 Kinesis client (SDK retries
// off) and kinesalite: ListStreams and PutRecord work through it before an outage of
// each mode, fail as the mode says during it, and work again after; what was written
// before and after is on the stream, and nothing sent during an outage is.
func TestKinesalite(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	direct := sdkClient(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, direct, stream, 1)

	p := startProxy(t, peer.Endpoint)
	c := sdkClient(t, p.URL())
	ctx := testCtx(t)
	put := func(ctx context.Context, key string) error {
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(key), Data: []byte(key)})
		return err
	}
	listStreams := func(ctx context.Context) error {
		_, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
		return err
	}
	var want []string
	for _, mode := range modes {
		before, during, after := mode.String()+"-before", mode.String()+"-during", mode.String()+"-after"
		mustNil(t, listStreams(ctx))
		mustNil(t, put(ctx, before))
		want = append(want, before)

		mustNil(t, p.StartOutage(mode))
		for _, call := range []func(context.Context) error{
			func(ctx context.Context) error { return put(ctx, during) },
			listStreams,
		} {
			short, cancel := context.WithTimeout(ctx, time.Second)
			if mode == faultproxy.Refuse {
				wantRefused(t, short, call)
				cancel()
				continue
			}
			err := call(short)
			cancel()
			switch {
			case err == nil:
				t.Fatalf("%s outage: a call through the proxy succeeded", mode)
			case mode == faultproxy.HangUp && !isHangUp(err),
				mode == faultproxy.Unanswered && !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("%s outage: %v", mode, err)
			}
		}
		mustNil(t, p.EndOutage())

		mustNil(t, listStreams(ctx))
		mustNil(t, put(ctx, after))
		want = append(want, after)
	}
	if s := p.Stats(); s.Met() == 0 || s.Outages != 3 {
		t.Errorf("stats %+v", s)
	}
	got := readKeys(t, ctx, direct, stream)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

// sdkClient returns a Kinesis client of endpoint configured as testpeers.Config says,
// whose kept-alive connections are closed at cleanup, after the cleanups registered
// later (goleak would see their goroutines).
func sdkClient(t *testing.T, endpoint string) *kinesis.Client {
	t.Helper()
	tr := awshttp.NewBuildableClient().GetTransport()
	t.Cleanup(tr.CloseIdleConnections)
	cfg := testpeers.Config(endpoint)
	cfg.HTTPClient = sdkhttp.Wrap(&http.Client{Transport: tr})
	return kinesis.NewFromConfig(cfg)
}

// readKeys reads the partition keys of every record of the stream's shards.
func readKeys(t *testing.T, ctx context.Context, c *kinesis.Client, stream string) []string {
	t.Helper()
	shards, err := testpeers.ListShards(ctx, c, stream)
	mustNil(t, err)
	var keys []string
	for _, sh := range shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		mustNil(t, err)
		for iter := it.ShardIterator; iter != nil; {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			mustNil(t, err)
			for _, r := range out.Records {
				keys = append(keys, aws.ToString(r.PartitionKey))
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return keys
}
