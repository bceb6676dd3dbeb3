package kpl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a config for the fake stream with fast retries.
func testConfig(name string) Config {
	c := DefaultConfig()
	c.StreamName = name
	c.MinBackoff = time.Millisecond
	c.MaxBackoff = 20 * time.Millisecond
	c.RateLimit = 1000
	c.FlushInterval = 50 * time.Millisecond
	c.MeterProvider = metric.NewMeterProvider() // keep tests off the global one
	return c
}

func newTestProducer(t testing.TB, f *fakeKinesis, cfg Config) *Producer {
	t.Helper()
	return newKnobProducer(t, f, cfg, testKnobs{})
}

// ceilingKnobs make every backoff its ceiling.
var ceilingKnobs = testKnobs{rnd: func(n int64) int64 { return n }}

// newKnobProducer is newTestProducer with the test knobs k.
func newKnobProducer(t testing.TB, f *fakeKinesis, cfg Config, k testKnobs) *Producer {
	t.Helper()
	p, err := newWithKnobs(t.Context(), f, cfg, k)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		checkReleased(t, p)
	})
	return p
}

// checkReleased asserts that a producer holding no user record is charged
// for nothing but the body buffers it keeps.
func checkReleased(t testing.TB, p *Producer) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var idle int64
	for _, b := range p.st.idle {
		idle += allocSize(cap(b))
	}
	for _, b := range p.st.recIdle {
		if cap(b) != p.recCap {
			t.Errorf("a kept record buffer of %d bytes, not %d", cap(b), p.recCap)
		}
		idle += int64(cap(b))
	}
	for _, b := range p.st.binIdle {
		if b.agg.Count() != 0 || b.mem != binCap(b.peakSize, b.peakCount) {
			t.Errorf("a kept bin holding %d user records, charged %d", b.agg.Count(), b.mem)
		}
		idle += b.mem
	}
	if p.st.heldCount == 0 && (p.st.mem != p.st.idleBytes || idle != p.st.idleBytes) {
		t.Errorf("nothing held, yet %d bytes charged; %d for %d+%d+%d kept buffers and bins holding %d",
			p.st.mem, p.st.idleBytes, len(p.st.idle), len(p.st.recIdle), len(p.st.binIdle), idle)
	}
}

func mustPut(t testing.TB, p *Producer, pk, ehk string, data []byte, tags []aggregation.Tag) {
	t.Helper()
	if err := p.Put(t.Context(), pk, ehk, data, tags); err != nil {
		t.Fatalf("Put(%q): %v", pk, err)
	}
}

func mustFlush(t testing.TB, p *Producer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// checkExactlyOnce asserts that the user records keyed by data came back
// exactly once each, with their partition key and tags. (readBack checks
// that each is on a shard whose range holds its hash key.)
func checkExactlyOnce(t testing.TB, f *fakeKinesis, got []userRecord, want map[string]string, tags []aggregation.Tag) {
	t.Helper()
	seen := make(map[string]int, len(want))
	for _, u := range got {
		seen[u.data]++
		if pk, ok := want[u.data]; !ok {
			t.Errorf("unexpected user record %.40q", u.data)
		} else if pk != u.pk {
			t.Errorf("user record %.40q: partition key %q, want %q", u.data, u.pk, pk)
		}
		if tags != nil && fmt.Sprint(u.tags) != fmt.Sprint(tags) {
			t.Errorf("user record %.40q: tags %v, want %v", u.data, u.tags, tags)
		}
	}
	missing, dup := 0, 0
	for d := range want {
		switch seen[d] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Errorf("%d user records missing, %d duplicated, of %d", missing, dup, len(want))
	}
}

// TestProducerLoneRecords: user records too large to share an aggregate go alone, each in
// a Kinesis record of its own, byte for byte the aggregate an Aggregator writes for it
// alone, routed by its explicit hash key when it has one, with its tags, among small
// records that are aggregated as usual.
func TestProducerLoneRecords(t *testing.T) {
	f := newFakeKinesis("s", 4)
	p := newTestProducer(t, f, testConfig("s"))
	tags := []aggregation.Tag{{Key: "signal", Value: "metrics"}, {Key: "empty"}}
	want := map[string]string{}
	lone := map[string]string{} // data → explicit hash key
	for i := range 60 {
		pk := fmt.Sprintf("key-%d", i%7)
		data := fmt.Sprintf("record %d ", i)
		ehk := ""
		if i%6 == 0 {
			data += strings.Repeat("L", 51200+i*1000) // over aggregate_batch_size
			if i%12 == 0 {
				ehk = aggregation.HashKey{Hi: uint64(i) << 58}.String()
			}
			lone[data] = ehk
		}
		want[data] = pk
		mustPut(t, p, pk, ehk, []byte(data), tags)
	}
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, tags)
	f.mu.Lock()
	defer f.mu.Unlock()
	found := 0
	for _, s := range f.shards {
		for _, r := range s.recs {
			if len(r.data) <= 51200 {
				continue
			}
			found++
			var users []string
			var ehk string
			if err := walkAggregate(r.data, func(_, e string, data []byte, _ []aggregation.Tag) { users, ehk = append(users, string(data)), e }); err != nil {
				t.Fatal(err)
			}
			wantEHK, ok := lone[users[0]]
			if len(users) != 1 || !ok {
				t.Fatalf("a Kinesis record over the aggregate size holds %d user records", len(users))
			}
			var a aggregation.Aggregator
			a.Add(r.pk, wantEHK, []byte(users[0]), tags)
			if !bytes.Equal(r.data, a.AppendTo(nil)) {
				t.Errorf("lone record %.20q: not the bytes an Aggregator writes for it", users[0])
			}
			if ehk != wantEHK {
				t.Errorf("lone record %.20q: explicit hash key %q, want %q", users[0], ehk, wantEHK)
			}
			if wantEHK != "" && r.ehk != wantEHK {
				t.Errorf("lone record %.20q: outer explicit hash key %q, want its own %q", users[0], r.ehk, wantEHK)
			}
		}
	}
	if found != len(lone) {
		t.Errorf("%d Kinesis records over the aggregate size, want the %d lone user records", found, len(lone))
	}
}

func TestProducerDeliversEveryRecordOnItsShard(t *testing.T) {
	f := newFakeKinesis("s", 4)
	p := newTestProducer(t, f, testConfig("s"))
	tags := []aggregation.Tag{{Key: "signal", Value: "traces"}, {Key: "ct", Value: "application/x-protobuf"}}
	want := map[string]string{}
	for i := range 5000 {
		pk := fmt.Sprintf("key-%d", i%997)
		data := fmt.Sprintf("record %d %s", i, strings.Repeat("x", i%300))
		want[data] = pk
		mustPut(t, p, pk, "", []byte(data), tags)
	}
	mustFlush(t, p)
	got := readKCL(t, f)
	checkExactlyOnce(t, f, got, want, tags)
	st := p.Stats()
	if st.UserRecordsDelivered != 5000 || st.UserRecordsDropped != 0 || st.BufferedRecords != 0 {
		t.Errorf("stats: %+v", st)
	}
	if n := f.storedRecords(); n >= 5000/10 {
		t.Errorf("%d Kinesis records for 5000 small user records: aggregation is not working", n)
	}
	if len(f.rejected) > 0 {
		t.Errorf("requests over the API limits: %v", f.rejected)
	}
}

func TestProducerPutCopiesData(t *testing.T) {
	f := newFakeKinesis("s", 2)
	p := newTestProducer(t, f, testConfig("s"))
	buf := []byte("first")
	mustPut(t, p, "a", "", buf, nil)
	copy(buf, "XXXXX")
	mustPut(t, p, "b", "", buf, nil)
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), map[string]string{"first": "a", "XXXXX": "b"}, nil)
}

func TestProducerExplicitHashKey(t *testing.T) {
	f := newFakeKinesis("s", 4)
	p := newTestProducer(t, f, testConfig("s"))
	// The business key "order-1" routed by an explicit hash key to the last shard.
	ehk := aggregation.MaxHashKey.String()
	mustPut(t, p, "order-1", ehk, []byte("x"), nil)
	mustPut(t, p, "order-2", "", []byte("y"), nil)
	mustFlush(t, p)
	got := readKCL(t, f)
	if len(got) != 2 {
		t.Fatalf("got %d user records", len(got))
	}
	for _, u := range got {
		if u.pk == "order-1" && (u.ehk != ehk || u.shard != f.shards[3].id) {
			t.Errorf("order-1: ehk %q on %s", u.ehk, u.shard)
		}
	}
}

func TestProducerAggregationOff(t *testing.T) {
	f := newFakeKinesis("s", 4)
	cfg := testConfig("s")
	cfg.DisableAggregation = true
	p := newTestProducer(t, f, cfg)
	want := map[string]string{}
	for i := range 1200 {
		pk := fmt.Sprintf("k%d", i)
		d := fmt.Sprintf("plain %d", i)
		want[d] = pk
		mustPut(t, p, pk, "", []byte(d), []aggregation.Tag{{Key: "ignored"}})
	}
	mustFlush(t, p)
	got := readPlain(t, f)
	checkExactlyOnce(t, f, got, want, nil)
	for _, u := range got {
		if u.ehk != "" {
			t.Fatalf("plain record with explicit hash key %q", u.ehk)
		}
	}
	if put, _ := f.calls(); put < 3 {
		t.Errorf("%d requests for 1200 plain records; batch_count is 500", put)
	}
}

func TestProducerPutRefusesBadRecords(t *testing.T) {
	f := newFakeKinesis("s", 1)
	p := newTestProducer(t, f, testConfig("s"))
	ctx := t.Context()
	cases := []struct {
		name    string
		pk, ehk string
		data    int
		want    error
		msg     string
	}{
		{"empty key", "", "", 1, ErrInvalidRecord, "empty"},
		{"long key", strings.Repeat("ä", 257), "", 1, ErrInvalidRecord, "257 characters"},
		{"bad utf8", "\xff", "", 1, ErrInvalidRecord, "UTF-8"},
		{"bad ehk", "k", "0123", 1, ErrInvalidRecord, "hash key"},
		{"too large", "k", "", DefaultRecordBytes, ErrRecordTooLarge, "1048576"},
	}
	for _, c := range cases {
		err := p.Put(ctx, c.pk, c.ehk, make([]byte, c.data), nil)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.msg)
		}
	}
	// 256 characters of two bytes each is a valid key.
	mustPut(t, p, strings.Repeat("ä", 256), "", []byte("ok"), nil)
	// The largest data MaxDataSize allows goes through; one more byte does not.
	tags := []aggregation.Tag{{Key: "a", Value: "b"}}
	n := p.MaxDataSize("k", "", tags)
	if n <= DefaultRecordBytes-100 || n >= DefaultRecordBytes {
		t.Fatalf("MaxDataSize = %d", n)
	}
	mustPut(t, p, "k", "", make([]byte, n), tags)
	if err := p.Put(ctx, "k", "", make([]byte, n+1), tags); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("MaxDataSize+1: %v", err)
	}
	mustFlush(t, p)
	if len(f.rejected) > 0 {
		t.Errorf("the fake stream refused: %v", f.rejected)
	}
	if st := p.Stats(); st.UserRecordsPut != 2 || st.UserRecordsDelivered != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerRecordLimitFromStream(t *testing.T) {
	f := newFakeKinesis("s", 1)
	f.recordLimit = 2 << 20
	kib := int32(2048)
	f.maxKiB = &kib
	p := newTestProducer(t, f, testConfig("s"))
	mustPut(t, p, "k", "", make([]byte, 1500<<10), nil)
	mustFlush(t, p)
	if st := p.Stats(); st.UserRecordsDelivered != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerLargeRecordsGoAlone(t *testing.T) {
	f := newFakeKinesis("s", 1)
	p := newTestProducer(t, f, testConfig("s"))
	want := map[string]string{}
	for i := range 30 {
		d := fmt.Sprintf("%d%s", i, strings.Repeat("z", 60000+i*1000))
		want[d] = "k"
		mustPut(t, p, "k", "", []byte(d), nil)
	}
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
	if n := f.storedRecords(); n != 30 {
		t.Errorf("%d Kinesis records for 30 user records above aggregate_batch_size", n)
	}
}

func TestProducerRespectsBatchLimits(t *testing.T) {
	f := newFakeKinesis("s", 4)
	cfg := testConfig("s")
	cfg.BatchCount = 7
	cfg.BatchSize = 300_000
	p := newTestProducer(t, f, cfg)
	want := map[string]string{}
	for i := range 400 {
		d := fmt.Sprintf("%d-%s", i, strings.Repeat("b", 3000))
		want[d] = fmt.Sprint(i)
		mustPut(t, p, fmt.Sprint(i), "", []byte(d), nil)
	}
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
	// The fake refuses only beyond the API's limits; check ours by request.
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rejected) > 0 {
		t.Errorf("refused: %v", f.rejected)
	}
}

func TestProducerRetriesThrottledEntries(t *testing.T) {
	f := newFakeKinesis("s", 4)
	var n atomic.Int64
	f.entryErr = func(call, i int) string {
		switch n.Add(1) % 10 {
		case 0, 5:
			return "ProvisionedThroughputExceededException"
		case 7:
			return "InternalFailure"
		}
		return ""
	}
	p := newTestProducer(t, f, testConfig("s"))
	want := map[string]string{}
	for i := range 3000 {
		d := fmt.Sprintf("r%d%s", i, strings.Repeat("-", 1000))
		want[d] = fmt.Sprintf("k%d", i)
		mustPut(t, p, want[d], "", []byte(d), nil)
	}
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
	st := p.Stats()
	if st.Throttles == 0 || st.Retries == 0 || st.UserRecordsDropped != 0 || st.PossibleDuplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerRetriesFailedRequests(t *testing.T) {
	f := newFakeKinesis("s", 2)
	f.putErr = func(call int) error {
		switch call % 3 {
		case 1:
			return apiError("ServiceUnavailable", "503", smithy.FaultServer)
		case 2:
			return fmt.Errorf("send: %w", &net503{})
		}
		return nil
	}
	p := newTestProducer(t, f, testConfig("s"))
	want := map[string]string{}
	for i := range 500 {
		d := fmt.Sprintf("r%d", i)
		want[d] = fmt.Sprintf("k%d", i)
		mustPut(t, p, want[d], "", []byte(d), nil)
	}
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
	if st := p.Stats(); st.RequestsFailed == 0 || st.PossibleDuplicates == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerRefusedRequestsAreNotPossibleDuplicates(t *testing.T) {
	// A request the service refused with a 4xx status stored nothing: its
	// records are sent again but not counted as possible duplicates. A 5xx
	// may have followed a write, so its records are.
	for _, c := range []struct {
		name string
		err  error
		dups bool
	}{
		{"ResourceInUseException", opErr(httpErr(400, apiError("ResourceInUseException", "stream is updating", smithy.FaultClient))), false},
		{"InternalFailure", opErr(httpErr(500, &types.InternalFailureException{})), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeKinesis("s", 1)
			f.putErr = func(call int) error {
				if call == 1 {
					return c.err
				}
				return nil
			}
			p := newTestProducer(t, f, testConfig("s"))
			mustPut(t, p, "k", "", []byte("x"), nil)
			mustPut(t, p, "k", "", []byte("y"), nil)
			mustFlush(t, p)
			checkExactlyOnce(t, f, readKCL(t, f), map[string]string{"x": "k", "y": "k"}, nil)
			s := p.Stats()
			if s.RequestsFailed != 1 || s.Retries != 1 || s.UserRecordsDelivered != 2 {
				t.Errorf("stats %+v", s)
			}
			if got := s.PossibleDuplicates != 0; got != c.dups {
				t.Errorf("PossibleDuplicates = %d after %s", s.PossibleDuplicates, c.name)
			}
		})
	}
}

// net503 is a connection error as the SDK reports one.
type net503 struct{}

func (*net503) Error() string         { return "connection reset by peer" }
func (*net503) ConnectionError() bool { return true }

func TestProducerPermanentErrorFailsFast(t *testing.T) {
	f := newFakeKinesis("s", 2)
	f.putErr = func(int) error {
		return apiError("AccessDeniedException", "not authorized to perform kinesis:PutRecords", smithy.FaultClient)
	}
	var dropped atomic.Int64
	var reasons sync.Map
	cfg := testConfig("s")
	cfg.Hooks = []Hook{HookDroppedFunc(func(d *DropError) {
		dropped.Add(int64(d.Records))
		reasons.Store(d.Error(), true)
	})}
	p := newTestProducer(t, f, cfg)
	for i := range 100 {
		mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
	}
	err := p.Flush(t.Context())
	var de *DropError
	if !errors.As(err, &de) || !errors.Is(err, ErrPermanent) || de.Reason != DropPermanent || de.Records != 100 {
		t.Fatalf("Flush: %v", err)
	}
	for _, s := range []string{`"s"`, "AccessDeniedException", "not authorized"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if dropped.Load() != 100 {
		t.Errorf("the hook saw %d records", dropped.Load())
	}
	put, _ := f.calls()
	if put != 1 {
		t.Errorf("%d requests for one batch refused permanently", put)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Errorf("second Flush reported again: %v", err)
	}
}

func TestProducerRetriesExhausted(t *testing.T) {
	f := newFakeKinesis("s", 1)
	f.entryErr = func(int, int) string { return "InternalFailure" }
	cfg := testConfig("s")
	cfg.MaxRetries = 3
	p := newTestProducer(t, f, cfg)
	mustPut(t, p, "k", "", []byte("x"), nil)
	err := p.Flush(t.Context())
	var de *DropError
	if !errors.As(err, &de) || !errors.Is(err, ErrRetriesExhausted) || de.Attempts != 4 {
		t.Fatalf("Flush: %v", err)
	}
	if put, _ := f.calls(); put != 4 {
		t.Errorf("%d requests, want 4 (1 + max_retries 3)", put)
	}
}

func TestProducerStreamNotFound(t *testing.T) {
	f := newFakeKinesis("s", 1)
	cfg := testConfig("missing")
	_, err := New(t.Context(), f, cfg)
	if err == nil || !strings.Contains(err.Error(), `"missing"`) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("New: %v", err)
	}
}

func TestProducerInvalidConfig(t *testing.T) {
	cfg := testConfig("s")
	cfg.BatchCount = 1000
	_, err := New(t.Context(), newFakeKinesis("s", 1), cfg)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "batch_count = 1000") {
		t.Fatalf("New: %v", err)
	}
}

func TestProducerReshardingSplit(t *testing.T) {
	f := newFakeKinesis("s", 2)
	cfg := testConfig("s")
	cfg.ShardMapRefresh = time.Hour // only wrong-shard results refresh it
	p := newTestProducer(t, f, cfg)
	want := map[string]string{}
	put := func(from, to int) {
		for i := from; i < to; i++ {
			d := fmt.Sprintf("r%d", i)
			want[d] = fmt.Sprintf("k%d", i%500)
			mustPut(t, p, want[d], "", []byte(d), nil)
		}
	}
	put(0, 2000)
	mustFlush(t, p)
	f.split(f.shards[0].rng.Start)
	put(2000, 6000) // aggregated for the old map, land on children
	mustFlush(t, p)
	put(6000, 8000)
	mustFlush(t, p)
	got, discarded := f.readBack(t, true)
	checkExactlyOnce(t, f, got, want, nil)
	st := p.Stats()
	if st.WrongShard == 0 || st.Shards != 3 {
		t.Errorf("stats %+v", st)
	}
	// Aggregates built for the parent that landed on a child holding only
	// part of them are discarded by the KCL; the producer sent their user
	// records again, so a KCL reader loses nothing and sees no duplicate.
	if int64(discarded) != st.WrongShardResends {
		t.Errorf("KCL discards %d user records, the producer resent %d", discarded, st.WrongShardResends)
	}
	t.Logf("wrong shard: %d records, %d user records resent", st.WrongShard, st.WrongShardResends)
}

func TestProducerSplitWhileRetrying(t *testing.T) {
	// Records fail while the shard splits under them: when their retry is
	// due they are taken apart and aggregated again per child shard.
	f := newFakeKinesis("s", 1)
	var fail atomic.Bool
	fail.Store(true)
	f.entryErr = func(int, int) string {
		if fail.Load() {
			return "ProvisionedThroughputExceededException"
		}
		return ""
	}
	cfg := testConfig("s")
	cfg.MinBackoff = 50 * time.Millisecond
	cfg.MaxBackoff = 100 * time.Millisecond
	p := newTestProducer(t, f, cfg)
	want := map[string]string{}
	for i := range 1000 {
		d := fmt.Sprintf("r%d", i)
		want[d] = fmt.Sprintf("k%d", i)
		mustPut(t, p, want[d], "", []byte(d), nil)
	}
	p.mu.Lock()
	p.sealAllLocked()
	p.st.force = true
	p.mu.Unlock()
	p.poke()
	for p.Stats().Throttles == 0 {
		time.Sleep(time.Millisecond)
	}
	f.split(f.shards[0].rng.Start)
	p.askRefresh()
	for p.Stats().Shards != 2 {
		time.Sleep(time.Millisecond)
	}
	fail.Store(false)
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
	if st := p.Stats(); st.Splits == 0 {
		t.Errorf("no aggregate was split: %+v", st)
	}
}

func TestProducerFallbackWithoutListShards(t *testing.T) {
	f := newFakeKinesis("s", 4)
	var deny atomic.Bool
	deny.Store(true)
	f.listErr = func(int) error {
		if deny.Load() {
			return apiError("AccessDeniedException", "no kinesis:ListShards", smithy.FaultClient)
		}
		return nil
	}
	var handled []error
	var hmu sync.Mutex
	restore := setErrorHandler(func(err error) { hmu.Lock(); handled = append(handled, err); hmu.Unlock() })
	defer restore()
	cfg := testConfig("s")
	cfg.ShardMapRefresh = time.Hour
	p := newTestProducer(t, f, cfg)
	if !p.Stats().Fallback {
		t.Fatal("not in fallback mode")
	}
	want := map[string]string{}
	for i := range 600 {
		d := fmt.Sprintf("r%d", i)
		want[d] = fmt.Sprintf("k%d", i%20)
		mustPut(t, p, want[d], "", []byte(d), nil)
	}
	mustFlush(t, p)
	got := readKCL(t, f) // checks the KCL rule
	checkExactlyOnce(t, f, got, want, nil)
	hmu.Lock()
	n := 0
	for _, e := range handled {
		if strings.Contains(e.Error(), "without a shard map") {
			n++
		}
	}
	hmu.Unlock()
	if n != 1 {
		t.Errorf("fallback reported %d times: %v", n, handled)
	}
	deny.Store(false)
	p.askRefresh()
	for p.Stats().Fallback {
		time.Sleep(time.Millisecond)
	}
}

func TestProducerBacklogBlocksPut(t *testing.T) {
	f := newFakeKinesis("s", 1)
	f.block = make(chan struct{})
	cfg := testConfig("s")
	cfg.BacklogCount = 50
	cfg.AggregateBatchCount = 1 // every user record its own Kinesis record, queued at once
	cfg.MaxConnections = 1
	cfg.BatchCount = 10
	p := newTestProducer(t, f, cfg)
	// One request of at most 10 records stalls; 50 more wait; then Put blocks.
	accepted := 0
	var err error
	for accepted <= 60 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		err = p.Put(ctx, "k", "", []byte(fmt.Sprint(accepted)), nil)
		cancel()
		if err != nil {
			break
		}
		accepted++
	}
	if accepted < 50 || accepted > 60 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "backlog full (50 user records waiting") {
		t.Fatalf("after %d records, Put on a full backlog: %v", accepted, err)
	}
	close(f.block)
	mustPut(t, p, "k", "", []byte("after"), nil)
	mustFlush(t, p)
	if st := p.Stats(); st.UserRecordsDelivered != int64(accepted+1) {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerShutdownFlushes(t *testing.T) {
	f := newFakeKinesis("s", 2)
	cfg := testConfig("s")
	cfg.FlushInterval = time.Hour
	p, err := New(t.Context(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(readKCL(t, f)); n != 100 {
		t.Errorf("%d user records delivered", n)
	}
	if err := p.Put(t.Context(), "k", "", []byte("late"), nil); !errors.Is(err, ErrShutdown) {
		t.Errorf("Put after Shutdown: %v", err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Errorf("Flush after Shutdown: %v", err)
	}
}

func TestProducerShutdownExpiredContext(t *testing.T) {
	f := newFakeKinesis("s", 2)
	f.block = make(chan struct{}) // never answers
	var dropped atomic.Int64
	cfg := testConfig("s")
	cfg.BacklogCount = 10000
	cfg.Hooks = []Hook{HookDroppedFunc(func(d *DropError) {
		if !errors.Is(d, ErrShutdown) {
			t.Errorf("drop reason %v", d)
		}
		dropped.Add(int64(d.Records))
	})}
	p, err := New(t.Context(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "dropped 1000 user records") {
		t.Fatalf("Shutdown: %v", err)
	}
	if dropped.Load() != 1000 {
		t.Errorf("the hook saw %d", dropped.Load())
	}
	st := p.Stats()
	if st.UserRecordsDropped != 1000 || st.BufferedRecords != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProducerConcurrentPutFlush(t *testing.T) {
	f := newFakeKinesis("s", 3)
	var n atomic.Int64
	f.entryErr = func(int, int) string {
		if n.Add(1)%7 == 0 {
			return "ProvisionedThroughputExceededException"
		}
		return ""
	}
	cfg := testConfig("s")
	cfg.BacklogCount = 300
	p := newTestProducer(t, f, cfg)
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[string]string{}
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				d := fmt.Sprintf("g%d-%d", g, i)
				pk := fmt.Sprintf("k%d", i%50)
				mu.Lock()
				want[d] = pk
				mu.Unlock()
				mustPut(t, p, pk, "", []byte(d), nil)
				if i%250 == 0 {
					mustFlush(t, p)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			mustFlush(t, p)
		}
	})
	wg.Wait()
	mustFlush(t, p)
	checkExactlyOnce(t, f, readKCL(t, f), want, nil)
}

func TestProducerMetrics(t *testing.T) {
	f := newFakeKinesis("s", 2)
	reader := metric.NewManualReader()
	cfg := testConfig("s")
	cfg.MeterProvider = metric.NewMeterProvider(metric.WithReader(reader))
	p := newTestProducer(t, f, cfg)
	for i := range 100 {
		mustPut(t, p, fmt.Sprint(i), "", []byte("0123456789"), nil)
	}
	mustFlush(t, p)
	got := collectMetrics(t, reader)
	for name, want := range map[string]int64{
		"otelkinesis.producer.user_records":             100,
		"otelkinesis.producer.user_records.delivered":   100,
		"otelkinesis.producer.aggregation.user_records": 100,
		"otelkinesis.producer.buffered.user_records":    0,
		"otelkinesis.producer.user_records.size":        100 * (10 + 2),
	} {
		if got[name] != want && !(name == "otelkinesis.producer.user_records.size" && got[name] > 1000) {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
	if got["otelkinesis.producer.requests"] < 1 || got["otelkinesis.producer.request.duration"] < 1 {
		t.Errorf("requests not measured: %v", got)
	}
	if limit := got["otelkinesis.producer.memory.limit"]; limit != p.cfg.BacklogBytes {
		t.Errorf("memory.limit = %d, want backlog_bytes %d", limit, p.cfg.BacklogBytes)
	}
	// Delivered: what is held is at most kept buffers.
	if usage := got["otelkinesis.producer.memory.used"]; usage < 0 || usage > p.cfg.BacklogBytes {
		t.Errorf("memory.used = %d, want 0 to %d", usage, p.cfg.BacklogBytes)
	}
}

// TestProducerMemoryMetric: the memory gauges report what Stats.MemoryBytes counts while
// aggregates are held, and the budget.
func TestProducerMemoryMetric(t *testing.T) {
	f := newFakeKinesis("s", 2)
	reader := metric.NewManualReader()
	cfg := testConfig("s")
	cfg.FlushInterval = time.Hour // nothing leaves before the Flush below
	cfg.BacklogBytes = 8 << 20
	cfg.MeterProvider = metric.NewMeterProvider(metric.WithReader(reader))
	p := newTestProducer(t, f, cfg)
	for i := range 100 {
		mustPut(t, p, fmt.Sprint(i), "", make([]byte, 1000), nil)
	}
	got := collectMetrics(t, reader)
	held := p.Stats().MemoryBytes
	if usage := got["otelkinesis.producer.memory.used"]; usage != held || usage < 100*1000 {
		t.Errorf("memory.used = %d; Stats.MemoryBytes %d, holding 100 records of 1000 bytes", usage, held)
	}
	if limit := got["otelkinesis.producer.memory.limit"]; limit != 8<<20 {
		t.Errorf("memory.limit = %d, want %d", limit, 8<<20)
	}
	mustFlush(t, p)
}

// collectMetrics collects reader's metrics by name: the sum of a sum's data points, of an
// integer histogram's sums and of a float histogram's counts.
func collectMetrics(t *testing.T, reader *metric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					got[m.Name] += dp.Value
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					got[m.Name] += int64(dp.Sum)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					got[m.Name] += int64(dp.Count)
				}
			}
		}
	}
	return got
}

// setErrorHandler routes otel.Handle to fn until the returned func is called.
func setErrorHandler(fn func(error)) (restore func()) {
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(fn))
	return func() { otel.SetErrorHandler(prev) }
}

// readKCL reads the fake stream back as a KCL reader and fails the test if
// any aggregate breaks the KCL rule.
func readKCL(t testing.TB, f *fakeKinesis) []userRecord {
	t.Helper()
	got, discarded := f.readBack(t, true)
	if discarded > 0 {
		t.Errorf("KCL rule broken: a KCL reader discards aggregates holding %d user records", discarded)
	}
	return got
}

func readPlain(t testing.TB, f *fakeKinesis) []userRecord {
	t.Helper()
	got, _ := f.readBack(t, false)
	return got
}

func TestProducerHeapBoundedByBacklog(t *testing.T) {
	f := newFakeKinesis("s", 4)
	f.block = make(chan struct{}) // a stalled endpoint
	cfg := testConfig("s")
	cfg.BacklogCount = 1 << 30
	cfg.BacklogBytes = 16 << 20
	cfg.RequestTimeout = time.Hour
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	p, err := New(t.Context(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3000)
	refused := 0
	for i := 0; refused < 20; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		if err := p.Put(ctx, fmt.Sprint(i), "", data, nil); err != nil {
			refused++
		}
		cancel()
	}
	grew := heap() - before
	st := p.Stats()
	t.Logf("%d user records (%d bytes) held, heap grew %d bytes", st.BufferedRecords, st.BufferedBytes, grew)
	if st.BufferedBytes > cfg.BacklogBytes || grew > cfg.BacklogBytes*3/2 {
		t.Errorf("held %d bytes, heap grew %d: budget %d", st.BufferedBytes, grew, cfg.BacklogBytes)
	}
	close(f.block)
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestProducerOneRequestPerRateLimitedShard(t *testing.T) {
	// Batches that fill up mid-shard still mark the shard busy: no two
	// requests in flight carry records of the same rate-limited shard.
	f := newFakeKinesis("s", 2)
	var mu sync.Mutex
	inflight := map[string]int{}
	var overlap atomic.Int64
	f.block = nil
	cfg := testConfig("s")
	cfg.BatchCount = 3
	cfg.AggregateBatchCount = 1
	cfg.MaxConnections = 8
	cfg.RateLimit = 1000
	c := &watchClient{fakeKinesis: f, before: func(in []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range in {
			if inflight[id] > 0 {
				overlap.Add(1)
			}
			inflight[id]++
		}
	}, after: func(in []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range in {
			inflight[id]--
		}
	}}
	p, err := New(t.Context(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(t.Context())
	for i := range 300 {
		mustPut(t, p, fmt.Sprint(i), "", []byte("x"), nil)
	}
	mustFlush(t, p)
	if n := overlap.Load(); n > 0 {
		t.Errorf("%d times a shard had two requests in flight", n)
	}
}

// watchClient calls before and after around each PutRecords with the shards
// its entries route to.
type watchClient struct {
	*fakeKinesis
	before, after func(shards []string)
}

func (w *watchClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	seen := map[string]bool{}
	var ids []string
	w.fakeKinesis.mu.Lock()
	for _, e := range in.Records {
		h, _ := aggregation.ParseHashKey(*e.ExplicitHashKey)
		id := w.fakeKinesis.route(h).id
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	w.fakeKinesis.mu.Unlock()
	w.before(ids)
	time.Sleep(2 * time.Millisecond)
	defer w.after(ids)
	return w.fakeKinesis.PutRecords(ctx, in, opts...)
}

func TestProducerRetriesMalformedAnswer(t *testing.T) {
	// An answer with fewer results than records says nothing about which
	// were stored: all are sent again, counted as possible duplicates.
	f := newFakeKinesis("s", 1)
	c := &shortClient{fakeKinesis: f}
	p, err := New(t.Context(), c, testConfig("s"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(t.Context())
	mustPut(t, p, "k", "", []byte("x"), nil)
	mustFlush(t, p)
	if s := p.Stats(); s.UserRecordsDelivered != 1 || s.Retries != 1 || s.PossibleDuplicates != 1 {
		t.Errorf("stats %+v", s)
	}
}

// shortClient answers its first PutRecords with no results.
type shortClient struct {
	*fakeKinesis
	calls atomic.Int64
}

func (c *shortClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out, err := c.fakeKinesis.PutRecords(ctx, in, opts...)
	if c.calls.Add(1) == 1 && err == nil {
		out.Records = nil
	}
	return out, err
}
