package main

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// envRunMain makes the test binary run the command itself, so that a test can run it as
// a process of its own and kill it (forward's crash test).
const envRunMain = "OTELKINESIS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the SDK's and the sender's HTTP clients.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// sample is one user record to put: sample id of a format, with a partition key.
type sample struct {
	id     int
	format consumer.Format
}

var (
	protoNone = consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf}
	jsonGzip  = consumer.Format{Signal: consumer.Metrics, ContentType: consumer.ContentTypeJSON, ContentEncoding: consumer.EncodingGzip}
	protoZstd = consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingZstd}
)

func withSignal(f consumer.Format, s consumer.Signal) consumer.Format { f.Signal = s; return f }

// aggregate builds one KPL aggregated record of the samples, each user record keyed by
// its sample's partition key, with the explicit hash key ehk ("" for none).
func aggregate(t testing.TB, ehk string, samples ...sample) (data []byte, pk string) {
	t.Helper()
	var a aggregation.Aggregator
	for _, s := range samples {
		b, err := otlpsample.Encode(s.format, otlpsample.Request(s.format.Signal, s.id))
		if err != nil {
			t.Fatal(err)
		}
		a.Add(otlpsample.PartitionKey(s.id), ehk, b, otlpsample.Tags(s.format))
	}
	return a.AppendTo(nil), a.PartitionKey(0)
}

// put writes one Kinesis record and returns its shard and sequence number.
func put(t testing.TB, c *kinesis.Client, stream string, data []byte, pk, ehk string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := &kinesis.PutRecordInput{StreamName: aws.String(stream), Data: data, PartitionKey: aws.String(pk)}
	if ehk != "" {
		in.ExplicitHashKey = aws.String(ehk)
	}
	out, err := c.PutRecord(ctx, in)
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	return aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber)
}

// splitInHalf splits the stream's only open shard at the middle of its range and waits
// until the stream is ACTIVE again; it returns the parent's ID.
func splitInHalf(t testing.TB, c *kinesis.Client, stream string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 1 {
		t.Fatalf("%d shards, want 1", len(shards))
	}
	s := shards[0]
	start, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
	end, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
	mid := new(big.Int).Add(start, end)
	mid.Rsh(mid, 1)
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: s.ShardId,
		NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	if err := testpeers.WaitActive(ctx, c, stream); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(s.ShardId)
}

// Hash keys at the two ends of the key space: the low and the high child of a split.
const (
	lowKey  = "1"
	highKey = "340282366920938463463374607431768211454"
)

// runCmd runs the command in process and returns its exit code, stdout and stderr.
func runCmd(t testing.TB, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// blocks splits tail's text output into blocks, each a header line "[shard] ..." and the
// lines under it.
func blocks(out string) [][]string {
	var bs [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(line, "[") || len(bs) == 0 {
			bs = append(bs, nil)
		}
		bs[len(bs)-1] = append(bs[len(bs)-1], line)
	}
	return bs
}

func blockShard(b []string) string {
	return strings.TrimPrefix(strings.SplitN(b[0], "]", 2)[0], "[")
}

// byShard regroups tail's output shard by shard, keeping the order within each shard
// (the only order tail promises), with shard IDs replaced by parent/low/high.
func byShard(t *testing.T, out string, names map[string]string) string {
	t.Helper()
	groups := map[string][]string{}
	for _, b := range blocks(out) {
		id := blockShard(b)
		name, ok := names[id]
		if !ok {
			t.Fatalf("output from unexpected shard %q:\n%s", id, out)
		}
		b[0] = strings.Replace(b[0], "["+id+"]", "["+name+"]", 1)
		groups[name] = append(groups[name], b...)
	}
	var sb strings.Builder
	for _, name := range []string{"parent", "low", "high"} {
		for _, l := range groups[name] {
			fmt.Fprintln(&sb, l)
		}
	}
	return sb.String()
}

// shardNames names the parent and its two children of a stream split once.
func shardNames(t testing.TB, c *kinesis.Client, stream, parent string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{parent: "parent"}
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if id == parent {
			continue
		}
		if aws.ToString(s.HashKeyRange.StartingHashKey) == "0" {
			names[id] = "low"
		} else {
			names[id] = "high"
		}
	}
	if len(names) != 3 {
		t.Fatalf("shards %v, want a parent and two children", names)
	}
	return names
}

// version, --version and -version print the module version the binary records, or
// "(devel)".
func TestVersion(t *testing.T) {
	want := "otelkinesis " + moduleVersion(debug.ReadBuildInfo) + "\n"
	for _, arg := range []string{"version", "--version", "-version"} {
		code, out, errs := runCmd(t, context.Background(), arg)
		if code != exitOK || out != want || errs != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", arg, code, out, errs, want)
		}
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{&debug.BuildInfo{Main: debug.Module{Path: "github.com/otelkinesis/otelkinesis", Version: "v1.4.0"}}, true, "v1.4.0"},
		{&debug.BuildInfo{Main: debug.Module{Path: "github.com/otelkinesis/otelkinesis", Version: "(devel)"}}, true, "(devel)"},
		{&debug.BuildInfo{}, true, "(devel)"},
		{nil, false, "(devel)"},
	} {
		if got := moduleVersion(func() (*debug.BuildInfo, bool) { return tc.info, tc.ok }); got != tc.want {
			t.Errorf("build info %+v: %q, want %q", tc.info, got, tc.want)
		}
	}
	// A binary built from a work tree, without version control stamping, says (devel).
	bin := filepath.Join(t.TempDir(), "otelkinesis")
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || string(out) != "otelkinesis (devel)\n" {
		t.Errorf("built binary: %q %v, want \"otelkinesis (devel)\"", out, err)
	}
}
