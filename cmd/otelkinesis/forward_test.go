package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// receiver is the Collector's OTLP receiver, built from testdata/otlpreceiver (a module
// of its own) and run as a process: an independent OTLP/HTTP implementation.
type receiver struct {
	url string
	mu  sync.Mutex
	got []received
	cmd *exec.Cmd
	in  io.WriteCloser
}

// received is one resource (spans, metrics or logs of one sample) the receiver got.
type received struct {
	signal consumer.Signal
	id     int64
	msg    proto.Message // *tracepb.ResourceSpans, *metricspb.ResourceMetrics or *logspb.ResourceLogs
}

var (
	receiverOnce sync.Once
	receiverBin  string
	receiverErr  error
)

// buildReceiver builds the receiver once per test binary (the Go build cache makes later
// runs quick).
func buildReceiver(t *testing.T) string {
	t.Helper()
	receiverOnce.Do(func() {
		dir, err := os.MkdirTemp("", "otlpreceiver")
		if err != nil {
			receiverErr = err
			return
		}
		receiverBin = filepath.Join(dir, "otlpreceiver")
		cmd := exec.Command("go", "build", "-o", receiverBin, ".")
		cmd.Dir = filepath.Join("testdata", "otlpreceiver")
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			receiverErr = fmt.Errorf("building the OTLP receiver: %v\n%s", err, out)
		}
	})
	if receiverErr != nil {
		t.Fatal(receiverErr)
	}
	return receiverBin
}

func startReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	r := &receiver{cmd: exec.Command(buildReceiver(t), "-fail-first", fmt.Sprint(failFirst))}
	var err error
	if r.in, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = os.Stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(nil, 64<<20)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening ") {
		r.in.Close()
		r.cmd.Wait()
		t.Fatalf("receiver did not start: %q %v", lines.Text(), lines.Err())
	}
	r.url = strings.TrimPrefix(lines.Text(), "listening ")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
			sig, b64, _ := strings.Cut(lines.Text(), " ")
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Errorf("receiver line %q: %v", lines.Text(), err)
				continue
			}
			r.add(t, consumer.Signal(sig), raw)
		}
	}()
	t.Cleanup(func() {
		r.in.Close()
		<-done
		r.cmd.Wait()
	})
	return r
}

// add splits one received request into its resources, each keyed by its sample's id.
func (r *receiver) add(t *testing.T, sig consumer.Signal, raw []byte) {
	var res []received
	marker := func(rs *resourcepb.Resource) int64 {
		for _, kv := range rs.GetAttributes() {
			if kv.Key == otlpsample.MarkerKey {
				return kv.Value.GetIntValue()
			}
		}
		return -1
	}
	var err error
	switch sig {
	case consumer.Traces:
		var m coltracepb.ExportTraceServiceRequest
		if err = proto.Unmarshal(raw, &m); err == nil {
			for _, x := range m.ResourceSpans {
				res = append(res, received{sig, marker(x.Resource), x})
			}
		}
	case consumer.Metrics:
		var m colmetricpb.ExportMetricsServiceRequest
		if err = proto.Unmarshal(raw, &m); err == nil {
			for _, x := range m.ResourceMetrics {
				res = append(res, received{sig, marker(x.Resource), x})
			}
		}
	case consumer.Logs:
		var m collogspb.ExportLogsServiceRequest
		if err = proto.Unmarshal(raw, &m); err == nil {
			for _, x := range m.ResourceLogs {
				res = append(res, received{sig, marker(x.Resource), x})
			}
		}
	default:
		err = fmt.Errorf("unknown signal")
	}
	if err != nil {
		t.Errorf("receiver: %s request: %v", sig, err)
	}
	r.mu.Lock()
	r.got = append(r.got, res...)
	r.mu.Unlock()
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// check compares what arrived with the samples put: every one at least once, each equal
// to what was written; it returns how many times each id arrived.
func (r *receiver) check(t *testing.T, want map[int64]consumer.Signal) map[int64]int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[int64]int{}
	for _, g := range r.got {
		sig, ok := want[g.id]
		if !ok || sig != g.signal {
			t.Errorf("received %s sample %d, which was never put as %s", g.signal, g.id, sig)
			continue
		}
		counts[g.id]++
		var wantMsg proto.Message
		switch m := otlpsample.Request(sig, int(g.id)).(type) {
		case *coltracepb.ExportTraceServiceRequest:
			wantMsg = m.ResourceSpans[0]
		case *colmetricpb.ExportMetricsServiceRequest:
			wantMsg = m.ResourceMetrics[0]
		case *collogspb.ExportLogsServiceRequest:
			wantMsg = m.ResourceLogs[0]
		}
		if !proto.Equal(normalize(g.msg), normalize(wantMsg)) {
			t.Errorf("%s sample %d arrived changed:\n%v\nwant\n%v", sig, g.id, g.msg, wantMsg)
		}
	}
	for id, sig := range want {
		if counts[id] == 0 {
			t.Errorf("%s sample %d never arrived", sig, id)
		}
	}
	return counts
}

// normalize spells an absent span status as the Collector's pdata does, an empty one:
// the only difference its round trip makes, and no difference in meaning.
func normalize(m proto.Message) proto.Message {
	rs, ok := m.(*tracepb.ResourceSpans)
	if !ok {
		return m
	}
	rs = proto.Clone(rs).(*tracepb.ResourceSpans)
	for _, ss := range rs.ScopeSpans {
		for _, s := range ss.Spans {
			if s.Status == nil {
				s.Status = &tracepb.Status{}
			}
		}
	}
	return rs
}

// putRecord is one Kinesis record the test put, and the samples in it.
type putRecord struct {
	shard, seq string
	ids        []int64
}

// fillStream puts n aggregated records of three samples each (traces, metrics, logs, in
// rotating formats) on the stream; with split, half before and half after splitting its
// one shard, the second half spread over both children.
func fillStream(t *testing.T, peer testpeers.Peer, stream string, n int, split bool) ([]putRecord, map[int64]consumer.Signal) {
	c := testpeers.Client(t, peer.Endpoint)
	testpeers.CreateStream(t, c, stream, 1)
	want := map[int64]consumer.Signal{}
	var recs []putRecord
	formats := otlpsample.Formats()
	for i := range n {
		if split && i == n/2 {
			splitInHalf(t, c, stream)
		}
		var ss []sample
		var ids []int64
		for j, sig := range []consumer.Signal{consumer.Traces, consumer.Metrics, consumer.Logs} {
			id := 1 + 3*i + j
			f := withSignal(formats[(i+j)%len(formats)], sig)
			ss = append(ss, sample{id, f})
			ids = append(ids, int64(id))
			want[int64(id)] = sig
		}
		ehk := lowKey
		if i%2 == 1 {
			ehk = highKey
		}
		data, pk := aggregate(t, ehk, ss...)
		shard, seq := put(t, c, stream, data, pk, ehk)
		recs = append(recs, putRecord{shard, seq, ids})
	}
	return recs, want
}

// startForward runs forward as a process of its own (the test binary running main).
func startForward(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"forward"}, args...)...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

func seqLE(a, b string) bool {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return x != nil && y != nil && x.Cmp(y) <= 0
}

// forward is killed mid-stream and started again: the Collector's OTLP receiver gets
// every sample, each equal to what was put; samples at or before the checkpoint the
// crash left arrive exactly once, and only those after it may arrive twice. The crash
// comes once inside the parent shard of a reshard (30 of its 60 samples arrived), once
// inside its children (75 of 120).
func TestForwardCrashAndRestart(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		for _, crashAt := range []int{30, 75} {
			t.Run(fmt.Sprintf("%s/crash-after-%d", peer.Name, crashAt), func(t *testing.T) {
				testForwardCrash(t, peer, crashAt)
			})
		}
	}
}

func testForwardCrash(t *testing.T, peer testpeers.Peer, crashAt int) {
	recv := startReceiver(t, 0)
	stream := testpeers.UniqueStreamName(t)
	recs, want := fillStream(t, peer, stream, 40, true)
	ckpt := filepath.Join(t.TempDir(), "forward.checkpoint")
	args := []string{"--to", recv.url, "--endpoint", peer.Endpoint, "--checkpoint", ckpt, "--limit", "3",
		"--poll", "50ms", "--progress", "0", stream}

	cmd, out := startForward(t, append([]string{"--follow=true"}, args...)...)
	deadline := time.Now().Add(time.Minute)
	for recv.count() < crashAt && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill() // a crash: no shutdown, no last checkpoint
	cmd.Wait()
	before := recv.count()
	if before < crashAt || before >= len(want) {
		t.Fatalf("the crash came after %d of %d samples; want it mid-stream\n%s", before, len(want), out)
	}
	b, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatalf("no checkpoint after the crash: %v\n%s", err, out)
	}
	var cf checkpointFile
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	// Samples at or before the checkpoint of their shard were delivered before it
	// was written.
	checkpointed := map[int64]bool{}
	for _, r := range recs {
		c, ok := cf.Shards[r.shard]
		if ok && (c.Done || seqLE(r.seq, c.SequenceNumber)) {
			for _, id := range r.ids {
				checkpointed[id] = true
			}
		}
	}
	if len(checkpointed) == 0 {
		t.Fatalf("nothing checkpointed by the crash:\n%s\n%s", b, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd2 := exec.CommandContext(ctx, os.Args[0], append([]string{"forward", "--follow=false"}, args...)...)
	cmd2.Env = append(os.Environ(), envRunMain+"=1")
	out2, err := cmd2.CombinedOutput()
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out2)
	}
	counts := recv.check(t, want)
	dups := 0
	for id, n := range counts {
		switch {
		case n > 2:
			t.Errorf("sample %d arrived %d times", id, n)
		case n == 2 && checkpointed[id]:
			t.Errorf("sample %d arrived twice although its checkpoint was written before the crash", id)
		case n == 2:
			dups++
		}
	}
	t.Logf("%s: %d samples; crash after %d arrived, %d checkpointed; %d sent again after the restart",
		peer.Name, len(want), before, len(checkpointed), dups)
	if crashAt > 60 && !cf.Shards[recs[0].shard].Done {
		t.Errorf("the crash after %d samples came before the parent shard was done: %+v", crashAt, cf.Shards)
	}

	b, _ = os.ReadFile(ckpt)
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if c := cf.Shards[r.shard]; !c.Done && !seqLE(r.seq, c.SequenceNumber) {
			t.Errorf("final checkpoint %+v of shard %s is before record %s", c, r.shard, r.seq)
		}
	}
}

// A receiver that fails the first requests with 503: forward retries and delivers
// everything exactly once. An unreadable record is named, skipped, and gives exit 3.
func TestForwardRetriesAndSkips(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	recv := startReceiver(t, 2)
	stream := testpeers.UniqueStreamName(t)
	_, want := fillStream(t, peer, stream, 6, false)
	c := testpeers.Client(t, peer.Endpoint)
	_, badSeq := put(t, c, stream, []byte("not OTLP, no tags"), "junk", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	code, _, errs := runCmd(t, ctx, "forward", "--to", recv.url, "--endpoint", peer.Endpoint, "--checkpoint", ckpt,
		"--follow=false", "--poll", "50ms", "--progress", "0", "--gzip", stream)
	if code != exitUndecoded {
		t.Fatalf("exit %d, want %d\n%s", code, exitUndecoded, errs)
	}
	for id, n := range recv.check(t, want) {
		if n != 1 {
			t.Errorf("sample %d arrived %d times", id, n)
		}
	}
	for _, w := range []string{"retry in", "HTTP 503", "skipped: consumer: shard shardId-000000000000, sequence number " + badSeq, "1 skipped"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	// Every retry line names the shard it concerns.
	for _, line := range strings.Split(errs, "\n") {
		if strings.Contains(line, "retry in") && !strings.Contains(line, "forward: shard shardId-000000000000: ") {
			t.Errorf("retry line names no shard: %q", line)
		}
	}
}

// A receiver that refuses for good (404: a wrong URL) stops forward with exit 1 and
// leaves no checkpoint past what was delivered.
func TestForwardStopsOnPermanentError(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	recv := startReceiver(t, 0)
	stream := testpeers.UniqueStreamName(t)
	fillStream(t, peer, stream, 2, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	code, _, errs := runCmd(t, ctx, "forward", "--to", recv.url+"/wrong", "--endpoint", peer.Endpoint, "--checkpoint", ckpt,
		"--follow=false", "--progress", "0", stream)
	if code != exitFailure || !strings.Contains(errs, "HTTP 404") || !strings.Contains(errs, "the receiver refuses every signal forwarded (traces,metrics,logs)") {
		t.Fatalf("exit %d, want %d with HTTP 404 for every signal\n%s", code, exitFailure, errs)
	}
	if _, err := os.Stat(ckpt); err == nil {
		b, _ := os.ReadFile(ckpt)
		t.Errorf("a checkpoint was written although nothing was delivered:\n%s", b)
	}
	if recv.count() != 0 {
		t.Errorf("%d resources arrived", recv.count())
	}
}

// refusingProxy stands in front of recv and answers the paths ending in a key of refuse
// with that status itself, as a receiver without that signal does (Jaeger answers 404
// on /v1/metrics and /v1/logs); it counts the requests of each path.
type refusingProxy struct {
	url    string
	refuse map[string]int
	mu     sync.Mutex
	hits   map[string]int
}

func newRefusingProxy(t *testing.T, recv *receiver, refuse map[string]int) *refusingProxy {
	t.Helper()
	target, err := url.Parse(recv.url)
	if err != nil {
		t.Fatal(err)
	}
	p := &refusingProxy{refuse: refuse, hits: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		p.mu.Unlock()
		for suffix, code := range p.refuse {
			if strings.HasSuffix(r.URL.Path, suffix) {
				io.Copy(io.Discard, r.Body)
				http.Error(w, http.StatusText(code), code)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *refusingProxy) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// A receiver that refuses one signal for good (404, 405, 415) gets no more of it: one
// line names the signal, the URL and the status, the other signals are all delivered,
// the checkpoint goes on and forward ends with exit 3. With --signals naming the others
// the same stream goes through with exit 0 and no request for the refused signal.
func TestForwardSkipsRefusedSignal(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	stream := testpeers.UniqueStreamName(t)
	_, all := fillStream(t, peer, stream, 6, false)
	for _, tc := range []struct {
		name   string
		refuse map[string]int
		sent   []consumer.Signal
	}{
		{"jaeger-404-metrics", map[string]int{"/v1/metrics": http.StatusNotFound}, []consumer.Signal{consumer.Traces, consumer.Logs}},
		{"405-traces-415-logs", map[string]int{"/v1/traces": http.StatusMethodNotAllowed, "/v1/logs": http.StatusUnsupportedMediaType},
			[]consumer.Signal{consumer.Metrics}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := startReceiver(t, 0)
			proxy := newRefusingProxy(t, recv, tc.refuse)
			want := map[int64]consumer.Signal{}
			for id, sig := range all {
				if slices.Contains(tc.sent, sig) {
					want[id] = sig
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := []string{"forward", "--to", proxy.url, "--endpoint", peer.Endpoint, "--follow=false", "--poll", "50ms",
				"--progress", "0", "--limit", "2"}
			code, _, errs := runCmd(t, ctx, append(args, "--checkpoint", filepath.Join(t.TempDir(), "ckpt"), stream)...)
			if code != exitUndecoded {
				t.Fatalf("exit %d, want %d\n%s", code, exitUndecoded, errs)
			}
			for id, n := range recv.check(t, want) {
				if n != 1 {
					t.Errorf("sample %d arrived %d times", id, n)
				}
			}
			sent := joinSignals(tc.sent)
			for path, status := range tc.refuse {
				sig := strings.TrimPrefix(path, "/v1/")
				line := fmt.Sprintf("otelkinesis forward: the receiver refuses %s (POST %s%s: HTTP %d: %s): skipping %s, still forwarding ",
					sig, proxy.url, path, status, http.StatusText(status), sig)
				if n := strings.Count(errs, "the receiver refuses "+sig); n != 1 || !strings.Contains(errs, line) ||
					!strings.Contains(errs, "--signals "+sent+" sends only those") {
					t.Errorf("%d lines on %s, want one starting %q and naming --signals %s:\n%s", n, sig, line, sent, errs)
				}
				if n := proxy.count(path); n != 1 {
					t.Errorf("%d requests to %s, want the one refused", n, path)
				}
			}
			if !strings.Contains(errs, "not sent, of signals the receiver refuses") {
				t.Errorf("the summary does not count what was not sent:\n%s", errs)
			}

			// Only the signals the receiver takes, from the start: nothing refused, exit 0.
			before := map[string]int{}
			for path := range tc.refuse {
				before[path] = proxy.count(path)
			}
			code, _, errs = runCmd(t, ctx, append(args, "--signals", sent, "--checkpoint", filepath.Join(t.TempDir(), "ckpt"), stream)...)
			if code != exitOK || strings.Contains(errs, "refuses") || !strings.Contains(errs, "("+sent+" only)") ||
				!strings.Contains(errs, "of signals not in --signals passed over") {
				t.Fatalf("--signals %s: exit %d, want 0, nothing refused, the others passed over\n%s", sent, code, errs)
			}
			for id, n := range recv.check(t, want) {
				if n != 2 {
					t.Errorf("sample %d arrived %d times in all, want once per run", id, n)
				}
			}
			for path := range tc.refuse {
				if proxy.count(path) != before[path] {
					t.Errorf("--signals %s: %s was asked again", sent, path)
				}
			}
		})
	}
}

// Other refusals are not about a signal: forward stops on them, as before.
func TestForwardStopsOnForbidden(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	recv := startReceiver(t, 0)
	proxy := newRefusingProxy(t, recv, map[string]int{"/v1/logs": http.StatusForbidden})
	stream := testpeers.UniqueStreamName(t)
	fillStream(t, peer, stream, 2, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, _, errs := runCmd(t, ctx, "forward", "--to", proxy.url, "--endpoint", peer.Endpoint, "--follow=false",
		"--progress", "0", "--checkpoint", filepath.Join(t.TempDir(), "ckpt"), stream)
	if code != exitFailure || !strings.Contains(errs, "HTTP 403") || strings.Contains(errs, "refuses") {
		t.Fatalf("exit %d, want %d naming HTTP 403\n%s", code, exitFailure, errs)
	}
}

func TestParseSignals(t *testing.T) {
	for in, want := range map[string]string{
		"traces,metrics,logs": "traces,metrics,logs", "logs, traces": "logs,traces", "TRACES,traces,": "traces",
	} {
		got, err := parseSignals(in)
		if err != nil || joinSignals(got) != want {
			t.Errorf("%q: %v %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", ",", "profiles", "traces;logs"} {
		if _, err := parseSignals(in); err == nil || !strings.Contains(err.Error(), "--signals") {
			t.Errorf("%q: %v, want an error naming --signals", in, err)
		}
	}
}
