package kinesistest_test

import (
	"context"
	"crypto/md5"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The behaviour suite's clients keep idle keep-alive connections to the emulators,
		// which outlive the tests; the server's own connections close with Close.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// start runs a server for the test and closes it at cleanup.
func start(t testing.TB, opts ...kinesistest.Option) *kinesistest.Server {
	t.Helper()
	srv := kinesistest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// client returns an aws-sdk-go-v2 Kinesis client for srv: static credentials,
// us-east-1, SDK retries off, so every call is exactly one request.
func client(t testing.TB, srv *kinesistest.Server) *kinesis.Client {
	t.Helper()
	return kinesis.NewFromConfig(srv.AWSConfig())
}

func mustStream(t testing.TB, srv *kinesistest.Server, name string, shards int, opts ...kinesistest.StreamOption) *kinesistest.Stream {
	t.Helper()
	st, err := srv.CreateStream(name, shards, opts...)
	if err != nil {
		t.Fatalf("CreateStream(%q, %d): %v", name, shards, err)
	}
	return st
}

// setup starts a server with opts, creates a stream of the given shards on it, and
// returns a client for it.
func setup(t testing.TB, name string, shards int, opts ...kinesistest.Option) (*kinesistest.Server, *kinesis.Client, *kinesistest.Stream) {
	t.Helper()
	srv := start(t, opts...)
	return srv, client(t, srv), mustStream(t, srv, name, shards)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiCode returns the AWS error code of err, "" if it has none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// apiMessage returns the AWS error message of err, "" if it has none.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// httpStatus returns the HTTP status of an error answer, 0 if err has none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantCode fails the test unless err carries the AWS error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want)
	}
	if got := apiCode(err); got != want {
		t.Fatalf("error code %q (%v), want %s", got, err, want)
	}
}

// md5HashKey computes the routing hash key independently of the code under test: the
// MD5 digest of the partition key read as a big-endian unsigned integer.
func md5HashKey(pk string) *big.Int {
	d := md5.Sum([]byte(pk))
	return new(big.Int).SetBytes(d[:])
}

func dec(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("not a decimal: " + s)
	}
	return n
}

// shardOf returns the ID of the open shard of shards whose range holds h.
func shardOf(shards []types.Shard, h *big.Int) string {
	for _, s := range shards {
		if s.SequenceNumberRange.EndingSequenceNumber != nil {
			continue
		}
		if dec(*s.HashKeyRange.StartingHashKey).Cmp(h) <= 0 && h.Cmp(dec(*s.HashKeyRange.EndingHashKey)) <= 0 {
			return *s.ShardId
		}
	}
	return ""
}

func listShards(t testing.TB, c *kinesis.Client, stream string) []types.Shard {
	t.Helper()
	shards, err := testpeers.ListShards(testCtx(t), c, stream)
	if err != nil {
		t.Fatal(err)
	}
	return shards
}

// readShard reads a shard from TRIM_HORIZON to the end it has now, following
// NextShardIterator, and returns the records and the last answer's ChildShards.
func readShard(t testing.TB, c *kinesis.Client, stream, shardID string) ([]types.Record, []types.ChildShard) {
	t.Helper()
	ctx := testCtx(t)
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator %s: %v", shardID, err)
	}
	var recs []types.Record
	iter := it.ShardIterator
	for iter != nil {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", shardID, err)
		}
		recs = append(recs, out.Records...)
		if out.NextShardIterator == nil {
			return recs, out.ChildShards
		}
		if len(out.Records) == 0 {
			return recs, nil
		}
		iter = out.NextShardIterator
	}
	return recs, nil
}

func entry(pk string, data string) types.PutRecordsRequestEntry {
	return types.PutRecordsRequestEntry{PartitionKey: aws.String(pk), Data: []byte(data)}
}

// fakeClock is a clock a test advances by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
