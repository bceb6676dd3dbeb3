package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.set(t); return c }

func newTestServer(t *testing.T, opts ...kinesistest.Option) (*kinesistest.Server, *kinesis.Client) {
	t.Helper()
	srv := kinesistest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, kinesis.NewFromConfig(srv.AWSConfig())
}

// tailed runs tail to the end of every shard and returns the samples it printed, in
// order, as "shard:id".
func tailed(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, errs := runCmd(t, ctx, append([]string{"tail", "--follow=false", "--poll", "20ms", "--output", "json"}, args...)...)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i := strings.Index(line, `"key":"sample.id","value":{"intValue":"`); i >= 0 {
			rest := line[i+len(`"key":"sample.id","value":{"intValue":"`):]
			got = append(got, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return code, got, errs
}

// Faults on every call the walk makes: throttled reads, a stalled GetShardIterator (the
// per-call deadline ends it) and server errors are retried; nothing is lost or doubled.
func TestWalkSurvivesFaults(t *testing.T) {
	srv, c := newTestServer(t)
	if _, err := srv.CreateStream("faults", 1); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 4; id++ {
		data, pk := aggregate(t, "", sample{id, protoNone})
		put(t, c, "faults", data, pk, "")
	}
	srv.InjectRequests(1, kinesistest.ServiceUnavailable(), "ListShards")
	srv.InjectRequests(1, kinesistest.Stall(), "GetShardIterator")
	srv.InjectRequests(3, kinesistest.ProvisionedThroughputExceeded(), "GetRecords")
	code, got, errs := tailed(t, "--endpoint", srv.URL(), "--from", "trim_horizon", "--call-timeout", "300ms", "--limit", "2", "faults")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if strings.Join(got, " ") != "1 2 3 4" {
		t.Errorf("samples %v, want 1 2 3 4\n%s", got, errs)
	}
	if !strings.Contains(errs, "no answer within --call-timeout 300ms") {
		t.Errorf("the stalled call is not reported:\n%s", errs)
	}
}

// A call that keeps failing for good ends the command with exit 1, naming the call.
func TestWalkFailsOnAccessDenied(t *testing.T) {
	srv, _ := newTestServer(t)
	if _, err := srv.CreateStream("denied", 1); err != nil {
		t.Fatal(err)
	}
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "ListShards")
	code, _, errs := tailed(t, "--endpoint", srv.URL(), "denied")
	if code != exitFailure || !strings.Contains(errs, "stream denied: ListShards") || !strings.Contains(errs, "AccessDenied") {
		t.Errorf("exit %d, want %d naming ListShards and AccessDenied:\n%s", code, exitFailure, errs)
	}
	srv.ClearFaults()
	code, _, errs = tailed(t, "--endpoint", srv.URL(), "missing")
	if code != exitFailure || !strings.Contains(errs, "ResourceNotFound") {
		t.Errorf("missing stream: exit %d:\n%s", code, errs)
	}
}

// A merge: the child is read only once both parents are done.
func TestWalkMerge(t *testing.T) {
	srv, c := newTestServer(t)
	if _, err := srv.CreateStream("merge", 2); err != nil {
		t.Fatal(err)
	}
	for id, ehk := range map[int]string{1: lowKey, 2: highKey} {
		data, pk := aggregate(t, ehk, sample{id, protoNone})
		put(t, c, "merge", data, pk, ehk)
	}
	ctx := context.Background()
	if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("merge"),
		ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	data, pk := aggregate(t, "", sample{3, protoNone})
	put(t, c, "merge", data, pk, "")
	code, got, errs := tailed(t, "--endpoint", srv.URL(), "--from", "trim_horizon", "merge")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if len(got) != 3 || got[2] != "3" {
		t.Errorf("samples %v: want both parents' (1, 2) before the child's (3)", got)
	}
}

// --from picks the start of each shard: a time (AT_TIMESTAMP), trim_horizon, latest.
func TestWalkFrom(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	srv, c := newTestServer(t, kinesistest.WithClock(clock.now))
	if _, err := srv.CreateStream("from", 1); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 3; id++ {
		data, pk := aggregate(t, "", sample{id, protoNone})
		put(t, c, "from", data, pk, "")
		clock.add(time.Minute)
	}
	for _, tc := range []struct{ from, want string }{
		{"trim_horizon", "1 2 3"},
		{"2026-03-01T12:01:00Z", "2 3"},
		{"2026-03-01T12:00:30Z", "2 3"},
		{"latest", ""},
	} {
		code, got, errs := tailed(t, "--endpoint", srv.URL(), "--from", tc.from, "from")
		if code != exitOK || strings.Join(got, " ") != tc.want {
			t.Errorf("--from %s: exit %d, samples %v, want %q\n%s", tc.from, code, got, tc.want, errs)
		}
	}
}

// tail --from latest follows: records put after it started appear, then an interrupt
// ends it with exit 0.
func TestTailFollowsLatest(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			c := testpeers.Client(t, peer.Endpoint)
			stream := testpeers.UniqueStreamName(t)
			testpeers.CreateStream(t, c, stream, 2)
			data, pk := aggregate(t, "", sample{1, protoNone})
			put(t, c, stream, data, pk, "") // before tail starts: not shown

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out syncBuffer
			done := make(chan int)
			go func() {
				done <- run(ctx, []string{"tail", "--endpoint", peer.Endpoint, "--poll", "50ms", "--output", "json", stream}, &out, &out)
			}()
			deadline := time.Now().Add(20 * time.Second)
			for id := 100; !strings.Contains(out.String(), `"sample.id","value":{"intValue":"`) && time.Now().Before(deadline); id++ {
				data, pk := aggregate(t, "", sample{id, withSignal(protoZstd, consumer.Logs)})
				put(t, c, stream, data, pk, "")
				time.Sleep(100 * time.Millisecond)
			}
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("exit %d after the interrupt\n%s", code, out.String())
			}
			s := out.String()
			if !strings.Contains(s, `"resourceLogs"`) || strings.Contains(s, `{"intValue":"1"}`) {
				t.Errorf("tail --from latest printed:\n%s\nwant only records put after it started", s)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Command-line mistakes give exit 2 and say what is wrong.
func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"tail"}, "no stream"},
		{[]string{"tail", "a", "b"}, "one stream expected"},
		{[]string{"tail", "--from", "yesterday", "s"}, "--from \"yesterday\""},
		{[]string{"tail", "--output", "xml", "s"}, "--output"},
		{[]string{"tail", "--from", "2999-01-01T00:00:00Z", "s"}, "in the future"},
		{[]string{"tail", "--endpoint", "localhost:4567", "s"}, "--endpoint"},
		{[]string{"tail", "--limit", "0", "s"}, "--limit"},
		{[]string{"tail", "--encoding", "otlp_json", "s"}, "need --signal"},
		{[]string{"tail", "--signal", "profiles", "s"}, "--signal \"profiles\""},
		{[]string{"tail", "--signal", "traces", "--compression", "br", "s"}, "unknown content encoding"},
		{[]string{"tail", "arn:aws:s3:::bucket"}, "not a Kinesis stream ARN"},
		{[]string{"tail", "--region", "US", "s"}, `--region "US": allowed a region name such as us-east-1: 1 to 63 lower-case letters`},
		{[]string{"stats", "--region", "us_east_1", "s"}, `--region "us_east_1"`},
		{[]string{"forward", "--to", "http://x", "--region", "eu-central-1.", "s"}, `--region "eu-central-1."`},
		{[]string{"tail", "arn:aws:kinesis:EU-WEST-1:1:stream/s"}, `region "EU-WEST-1": allowed a region name such as us-east-1`},
		{[]string{"forward", "--to", "", "s"}, "--to"},
		{[]string{"forward", "--to", "ftp://x", "s"}, "http:// or https://"},
		{[]string{"forward", "--to", "http://x", "--header", "novalue", "s"}, "want name=value"},
		{[]string{"forward", "--to", "http://x", "--signals", "traces,profiles", "s"}, `--signals "traces,profiles": "profiles" is not a signal`},
		{[]string{"forward", "--to", "http://x", "--signals", ",", "s"}, `--signals ",": no signal`},
		{[]string{"stats", "--until", "latest", "s"}, "--until"},
	} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
		code, _, errs := runCmd(t, ctx, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, want %d with %q:\n%s", tc.args, code, exitUsage, tc.want, errs)
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "forward"}, {"stats", "--help"}} {
		code, out, _ := runCmd(t, ctx, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
}

// --region takes AWS region names, in every partition, and nothing else.
func TestRegionFlag(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"} {
		c := commonFlags{region: r, callTimeout: time.Second, poll: time.Second, limit: 1}
		if _, err := c.check("s"); err != nil {
			t.Errorf("--region %s: %v", r, err)
		}
	}
	for _, r := range []string{"US", "Us-East-1", "us east 1", "-us-east-1", "us-east-1-", "us.east.1", "1us"} {
		c := commonFlags{region: r, callTimeout: time.Second, poll: time.Second, limit: 1}
		if _, err := c.check("s"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("--region %q", r)) ||
			!strings.Contains(err.Error(), "us-east-1") {
			t.Errorf("--region %q: %v, want it refused, naming the flag, the value and the form allowed", r, err)
		}
	}
	// A region the AWS chain finds is checked too.
	t.Setenv("AWS_REGION", "US")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	code, _, errs := runCmd(t, context.Background(), "tail", "--endpoint", "http://127.0.0.1:1", "s")
	if code != exitFailure || !strings.Contains(errs, `region "US" from AWS_REGION`) {
		t.Errorf("AWS_REGION=US: exit %d:\n%s", code, errs)
	}
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// A Kinesis endpoint that refuses connections is reported as such, naming it, after a
// short retry, by every command: not as a call that timed out (which took 28 s).
func TestRefusedConnection(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "") // dummy credentials for the loopback endpoint
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	endpoint := closedPort(t)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	for _, args := range [][]string{
		{"tail", "--follow=false"},
		{"stats"},
		{"forward", "--to", "http://127.0.0.1:4318", "--checkpoint", ckpt, "--progress", "0", "--follow=false"},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				code      int
				out, errs string
			}
			done := make(chan result, 1)
			go func() {
				var out, errs syncBuffer
				code := run(ctx, append(args, "--endpoint", endpoint, "--call-timeout", "10s", "s"), &out, &errs)
				done <- result{code, out.String(), errs.String()}
			}()
			select {
			case r := <-done:
				if r.code != exitFailure {
					t.Errorf("exit %d, want %d\n%s", r.code, exitFailure, r.errs)
				}
				for _, want := range []string{"cannot connect to Kinesis at " + endpoint, "connection refused", "ListShards"} {
					if !strings.Contains(r.errs, want) {
						t.Errorf("stderr lacks %q:\n%s", want, r.errs)
					}
				}
				if strings.Contains(r.errs, "call-timeout") || strings.Contains(r.errs, "deadline exceeded") {
					t.Errorf("a refused connection reported as a timeout:\n%s", r.errs)
				}
			case <-time.After(10 * time.Second):
				cancel()
				t.Fatalf("still running after 10s (a refused connection must be reported promptly)")
			}
		})
	}
}

func TestParseStream(t *testing.T) {
	s, err := parseStream("arn:aws:kinesis:eu-west-1:123456789012:stream/telemetry")
	if err != nil || s.name != "telemetry" || s.arnRegion() != "eu-west-1" {
		t.Errorf("%+v %v", s, err)
	}
}

// AT_TIMESTAMP on the real emulators (kinesalite's can hang: every call has a deadline).
func TestTailFromDuration(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			c := testpeers.Client(t, peer.Endpoint)
			stream := testpeers.UniqueStreamName(t)
			testpeers.CreateStream(t, c, stream, 1)
			data, pk := aggregate(t, "", sample{1, protoNone})
			put(t, c, stream, data, pk, "")
			code, got, errs := tailed(t, "--endpoint", peer.Endpoint, "--from", "10m", "--call-timeout", "5s", stream)
			if code != exitOK || strings.Join(got, " ") != "1" {
				t.Errorf("--from 10m: exit %d, samples %v\n%s", code, got, errs)
			}
		})
	}
}
