// Package testpeers finds the real Kinesis implementations that `make test` starts
// (kinesalite and kinesis-local) and gives tests ready-made clients and streams.
//
// The Makefile exports where the peers listen:
//
//	OTELKINESIS_KINESALITE_ENDPOINT     kinesalite's endpoint, http://127.0.0.1:PORT
//	OTELKINESIS_KINESIS_LOCAL_ENDPOINT  kinesis-local's endpoint
//	OTELKINESIS_PEERS_DIR               the folder holding the peers' node_modules
//	OTELKINESIS_REQUIRE_PEERS=1         a missing peer fails the test instead of skipping it
//
// Run outside `make test` (a plain `go test ./...`), tests that need a peer skip with a
// message saying how to start them; under `make test`, or whenever CI=true, a missing peer
// is a failure, so CI can never pass by skipping.
package testpeers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
)

// Environment variables set by `make test` (see the package doc).
const (
	EnvKinesalite   = "OTELKINESIS_KINESALITE_ENDPOINT"
	EnvKinesisLocal = "OTELKINESIS_KINESIS_LOCAL_ENDPOINT"
	EnvPeersDir     = "OTELKINESIS_PEERS_DIR"
	EnvRequire      = "OTELKINESIS_REQUIRE_PEERS"
)

// Peer is one running Kinesis implementation.
type Peer struct {
	// Name is "kinesalite" or "kinesis-local".
	Name string
	// Endpoint is the base URL to hand to a Kinesis client, http://127.0.0.1:PORT.
	Endpoint string
}

// Required reports whether a missing peer must fail the test rather than skip it:
// under `make test` (OTELKINESIS_REQUIRE_PEERS=1) and in CI (CI=true).
func Required() bool {
	return os.Getenv(EnvRequire) == "1" || strings.EqualFold(os.Getenv("CI"), "true")
}

// missingPeer says what to tell a test that needs what, found through the unset variable
// env, and whether the test must fail ([Required]) rather than skip.
func missingPeer(what, env string) (msg string, fail bool) {
	msg = fmt.Sprintf("%s is not running: %s is unset (start the peers with `make peers-up` and `. .peers/dev/env`, or run `make test`)", what, env)
	return msg, Required()
}

func missing(t testing.TB, what, env string) {
	t.Helper()
	msg, fail := missingPeer(what, env)
	if fail {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func peer(t testing.TB, name, env string) Peer {
	t.Helper()
	ep := os.Getenv(env)
	if ep == "" {
		missing(t, name, env)
	}
	return Peer{Name: name, Endpoint: ep}
}

// Kinesalite returns the running kinesalite, skipping or failing the test when it is absent.
func Kinesalite(t testing.TB) Peer {
	t.Helper()
	return peer(t, "kinesalite", EnvKinesalite)
}

// KinesisLocal returns the running kinesis-local, skipping or failing the test when it is absent.
func KinesisLocal(t testing.TB) Peer {
	t.Helper()
	return peer(t, "kinesis-local", EnvKinesisLocal)
}

// Emulators returns both real peers, kinesalite first.
func Emulators(t testing.TB) []Peer {
	t.Helper()
	return []Peer{Kinesalite(t), KinesisLocal(t)}
}

// NodeModules returns the folder that holds the peers' node_modules (for aws-kinesis-agg).
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvPeersDir)
	if dir == "" {
		missing(t, "the Node test peers", EnvPeersDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-kinesis-agg")); err != nil {
		t.Fatalf("testpeers: %s=%s has no node_modules/aws-kinesis-agg: %v (run `make peers`)", EnvPeersDir, dir, err)
	}
	return filepath.Join(dir, "node_modules")
}

// Node returns the path of the node executable.
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		if Required() {
			t.Fatalf("testpeers: node not found: %v", err)
		}
		t.Skipf("testpeers: node not found: %v", err)
	}
	return p
}

// Config returns an aws.Config for a local endpoint: static test credentials, us-east-1,
// the SDK's own retries off (the producer owns retries, and counted deliveries must not be
// doubled by a silent SDK retry), account-ID endpoint mode disabled, and the HTTP client
// fix of internal/sdkhttp.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:                "us-east-1",
		Credentials:           credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:            sdkhttp.Wrap(nil),
		Retryer:               func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint:          aws.String(endpoint),
		AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
	}
}

// Client returns a Kinesis client for endpoint built from [Config].
func Client(t testing.TB, endpoint string) *kinesis.Client {
	t.Helper()
	return kinesis.NewFromConfig(Config(endpoint))
}

// UniqueStreamName returns a stream name no other test of this run uses: the test's name,
// cleaned to Kinesis's alphabet, plus a random suffix.
func UniqueStreamName(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	return name + "-" + hex.EncodeToString(suffix[:])
}

// CreateStream creates a provisioned stream with the given shard count, waits until it is
// ACTIVE (30 s at most) and deletes it when the test ends.
func CreateStream(t testing.TB, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("testpeers: CreateStream %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name), EnforceConsumerDeletion: aws.Bool(true)})
	})
	if err := WaitActive(ctx, c, name); err != nil {
		t.Fatalf("testpeers: %v", err)
	}
}

// WaitActive polls DescribeStreamSummary until the stream is ACTIVE or ctx ends.
func WaitActive(ctx context.Context, c *kinesis.Client, name string) error {
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		var notFound *types.ResourceNotFoundException
		switch {
		case err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive:
			return nil
		case err != nil && !errors.As(err, &notFound):
			return fmt.Errorf("stream %s: DescribeStreamSummary: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream %s: not ACTIVE: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ListShards returns every shard of the stream, following NextToken.
func ListShards(ctx context.Context, c *kinesis.Client, name string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("stream %s: ListShards: %w", name, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil || *out.NextToken == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// ReadShard reads every record of one shard from TRIM_HORIZON until GetRecords returns no
// more records and the shard has been caught up with (MillisBehindLatest 0, or the shard is
// closed and exhausted). Every call has a deadline: emulators can hang.
func ReadShard(ctx context.Context, c *kinesis.Client, stream, shardID string) ([]types.Record, error) {
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s shard %s: GetShardIterator: %w", stream, shardID, err)
	}
	var recs []types.Record
	iter := it.ShardIterator
	for iter != nil {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, StreamARN: nil})
		if err != nil {
			return nil, fmt.Errorf("stream %s shard %s: GetRecords: %w", stream, shardID, err)
		}
		recs = append(recs, out.Records...)
		if len(out.Records) == 0 && (out.MillisBehindLatest == nil || *out.MillisBehindLatest == 0) {
			break
		}
		iter = out.NextShardIterator
	}
	return recs, nil
}

// ReadStream reads every shard of the stream (open and closed) and returns the records by
// shard ID.
func ReadStream(ctx context.Context, c *kinesis.Client, stream string) (map[string][]types.Record, error) {
	shards, err := ListShards(ctx, c, stream)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]types.Record, len(shards))
	for _, s := range shards {
		recs, err := ReadShard(ctx, c, stream, aws.ToString(s.ShardId))
		if err != nil {
			return nil, err
		}
		out[aws.ToString(s.ShardId)] = recs
	}
	return out, nil
}
