package kpl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// blackHole is an endpoint that takes connections and never reads from
// them: a stalled Kinesis whose requests cost this process nothing but what
// the client holds (the kernel's socket buffers are not Go heap).
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// stalledSDK is the fake stream's shard map with PutRecords sent by the AWS
// SDK, bodies written through putrecords as the exporters' clients do, to
// an endpoint that never answers.
type stalledSDK struct {
	*fakeKinesis
	sdk *kinesis.Client
}

func (c stalledSDK) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return c.sdk.PutRecords(ctx, in, opts...)
}

// TestProducerMemoryBoundedUnderStall fills a producer whose requests all
// stall, with spans-like records of mixed sizes, until Puts are refused,
// and checks that what it holds stays within backlog_bytes: by its own
// count at every moment, and on the heap, where the records, their
// aggregates, the request bodies (base64, 4/3 of the data) and the buffers
// kept for reuse must all fit the budget plus 1 MiB. Before the budget
// counted all of these, the heap held about 2.5 times it.
func TestProducerMemoryBoundedUnderStall(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("aggregation=%v", !plain), func(t *testing.T) {
			testMemoryUnderStall(t, plain)
		})
	}
}

func testMemoryUnderStall(t *testing.T, plain bool) {
	const budget = 16 << 20
	// What the heap may hold beyond the budget: the bookkeeping of the
	// requests, the HTTP connections and this test.
	const slack = 1 << 20

	cfg := testConfig("s")
	cfg.BacklogCount = 1 << 30
	cfg.BacklogBytes = budget
	cfg.RequestTimeout = time.Hour
	cfg.DisableAggregation = plain
	c := stalledSDK{newFakeKinesis("s", 8), kinesis.NewFromConfig(testpeers.Config(blackHole(t)), putrecords.WithPutRecords)}

	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		time.Sleep(100 * time.Millisecond) // goroutines of earlier requests end
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	data := make([]byte, 64<<10)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%032x", rand.Uint64())
	}
	sizes := telemetryMix(1<<16, 3)
	before := heap()

	defer setErrorHandler(func(error) {})() // the drops at the end are expected
	p, err := New(t.Context(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The producer's own count, sampled while Puts fill it.
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak.Store(max(peak.Load(), p.Stats().MemoryBytes))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	accepted, refused := 0, 0
	for i := 0; refused < 20; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		err := p.Put(ctx, keys[i%len(keys)], "", data[:min(sizes[i%len(sizes)], len(data))], nil)
		cancel()
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, context.DeadlineExceeded):
			refused++
		default:
			t.Fatalf("Put: %v", err)
		}
	}
	// Let every request that can start start.
	for last := -1; ; time.Sleep(200 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.st.flights)
		p.mu.Unlock()
		if n > 0 && n == last {
			break
		}
		last = n
	}
	grew := heap() - before
	close(stop)
	<-sampled
	s := p.Stats()
	p.mu.Lock()
	inflight := len(p.st.flights)
	p.mu.Unlock()
	t.Logf("%d user records accepted (%d bytes of user data), %d requests in flight; charged %d bytes now, %d at most; heap grew %d bytes; budget %d",
		accepted, s.BufferedBytes, inflight, s.MemoryBytes, peak.Load(), grew, int64(budget))
	if peak.Load() > budget || s.MemoryBytes > budget {
		t.Errorf("charged %d bytes, %d at most: over the budget of %d", s.MemoryBytes, peak.Load(), budget)
	}
	if grew > budget+slack {
		t.Errorf("heap grew %d bytes, over the budget of %d plus %d", grew, budget, slack)
	}
	// Each record's data is charged with its body entry (4/3 of it): the
	// budget holds 3/7 of its size in user data.
	if s.BufferedBytes < budget*3/7*8/10 {
		t.Errorf("only %d bytes of user records held", s.BufferedBytes)
	}
	if inflight == 0 {
		t.Error("no request in flight")
	}

	// Everything held is dropped, and said, when Shutdown gives up.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if s := p.Stats(); s.UserRecordsDropped != int64(accepted) || s.BufferedBytes != 0 {
		t.Errorf("%d of %d user records dropped, %d bytes still held", s.UserRecordsDropped, accepted, s.BufferedBytes)
	}
	checkReleased(t, p)
}

// TestBodyEntries holds the producer's count of a request body (requestFrame,
// entryLen) to the body writer's (putrecords.BodySize): equal for the keys
// and names seen in practice, never below it for others.
func TestBodyEntries(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	keys := []string{"k", "0123456789abcdef0123456789abcdef", `quote"back\slash`, "tab\there", "é€😀", maxHashKey}
	for i := range 500 {
		cfg := Config{StreamName: "stream-" + strconv.Itoa(i)}
		if i%3 == 0 {
			cfg.StreamARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/" + cfg.StreamName
		}
		if i%5 == 0 {
			cfg.StreamName = ""
		}
		in := &kinesis.PutRecordsInput{Records: []types.PutRecordsRequestEntry{}}
		if cfg.StreamName != "" {
			in.StreamName = aws.String(cfg.StreamName)
		}
		if cfg.StreamARN != "" {
			in.StreamARN = aws.String(cfg.StreamARN)
		}
		sum, plain := int64(requestFrame(&cfg))-1, true
		for range 1 + r.IntN(20) {
			pk, ehk := keys[r.IntN(len(keys))], ""
			if r.IntN(2) == 0 {
				ehk = strconv.FormatUint(r.Uint64(), 10)
			}
			e := types.PutRecordsRequestEntry{Data: make([]byte, r.IntN(3000)), PartitionKey: aws.String(pk)}
			if ehk != "" {
				e.ExplicitHashKey = aws.String(ehk)
			}
			in.Records = append(in.Records, e)
			sum += entryLen(len(e.Data), pk, ehk) + 1
			plain = plain && jsonLen(pk) == int64(len(pk)+2)
		}
		if got := int64(putrecords.BodySize(in)); got > sum || plain && got != sum {
			t.Fatalf("input %d: BodySize %d, the producer counts %d", i, got, sum)
		}
	}
}

// TestChargeBounds checks the accounting's promises on aggregates of random
// user records, in bins used again and again: admitting a user record adds
// at most its chargeBound, and closing an aggregate adds at most what its
// bin, kept for the next aggregate, is charged (dropping it would leave the
// producer holding no more than before).
func TestChargeBounds(t *testing.T) {
	f := newFakeKinesis("s", 1)
	cfg := testConfig("s")
	cfg.FlushInterval = time.Hour
	p := newTestProducer(t, f, cfg)
	r := rand.New(rand.NewPCG(6, 7))
	keys := []string{"k", "0123456789abcdef0123456789abcdef", `quote"back\slash`, "é€😀"}
	tags := [][]aggregation.Tag{nil, {{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/x-protobuf"}}}
	data := make([]byte, 200_000)
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 300 {
		b := p.getBinLocked()
		for range 1 + r.IntN(60) {
			pk, ehk, tg := keys[r.IntN(len(keys))], "", tags[r.IntN(len(tags))]
			if r.IntN(3) == 0 {
				ehk = strconv.FormatUint(r.Uint64(), 10)
			}
			n := r.IntN(1 << (4 + r.IntN(14)))
			d := data[:n]
			h := aggregation.HashPartitionKey(pk)
			alone := aloneBound(pk, ehk, n, tg)
			if alone > p.aggMax {
				alone = (&aggregation.Aggregator{}).SizeWith(pk, ehk, n, tg) + len(pk)
			}
			before := p.st.mem
			p.addToBinLocked(b, h, pk, ehk, d, tg, userSize(pk, ehk, n, tg), 1)
			if grew, bound := p.st.mem-before, chargeBound(alone, pk, ehk); grew > bound {
				t.Fatalf("a user record of %d bytes added %d, over its bound %d", n, grew, bound)
			}
			if b.agg.Size() > p.aggMax {
				break
			}
		}
		before, kept := p.st.mem, p.st.idleBytes
		rec := p.recordFromBin(b, p.st.shards[0], 1)
		if kept = p.st.idleBytes - kept; p.st.mem-before > max(kept, 0) {
			t.Fatalf("closing an aggregate into a record of %d bytes added %d, %d of it kept for reuse",
				len(rec.data), p.st.mem-before, kept)
		}
		p.freeRecordLocked(rec)
		if p.st.mem != p.st.idleBytes {
			t.Fatalf("%d bytes charged with nothing held but %d kept", p.st.mem, p.st.idleBytes)
		}
	}
}

// TestBinCap measures what bins filled to aggregate_batch_size take on the
// heap, for user records from one byte with one-character keys (the most
// bookkeeping per byte) to one filling the aggregate, and holds binCap to
// it: binCap must bound what the aggregator really keeps.
func TestBinCap(t *testing.T) {
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	tags := []aggregation.Tag{{Key: "otel.signal", Value: "traces"}, {Key: "content-type", Value: "application/x-protobuf"}}
	for _, c := range []struct {
		size, keyLen int
		ehk          bool
		tags         []aggregation.Tag
	}{{1, 1, false, nil}, {1, 8, false, tags}, {10, 32, false, nil}, {200, 32, true, tags}, {3000, 32, false, tags}, {20000, 32, false, nil}, {51000, 32, false, nil}} {
		keys := make([]string, 20000)
		for i := range keys {
			keys[i] = fmt.Sprintf("%0*d", c.keyLen, i)
		}
		ehk := ""
		if c.ehk {
			ehk = maxHashKey
		}
		data := make([]byte, c.size)
		bins := make([]*bin, 50)
		before := heap()
		var bound int64
		for i := range bins {
			b := new(bin)
			for k := 0; k < len(keys) && b.agg.SizeWith(keys[k], ehk, len(data), c.tags)+len(keys[k]) <= DefaultAggregateBatchSize; k++ {
				b.add(aggregation.HashKey{}, keys[k], ehk, data, c.tags, 1, 1)
			}
			bound += binCap(b.agg.Size(), b.agg.Count())
			bins[i] = b
		}
		used := heap() - before
		t.Logf("user records of %d bytes, keys of %d: %d user records a bin, %d bytes of heap, binCap %d",
			c.size, c.keyLen, bins[0].agg.Count(), used/int64(len(bins)), bound/int64(len(bins)))
		if used > bound {
			t.Errorf("user records of %d bytes, keys of %d: bins take %d bytes, binCap says %d", c.size, c.keyLen, used, bound)
		}
		runtime.KeepAlive(bins)
		runtime.KeepAlive(keys)
	}
}

// TestProducerTightBudgetNeverDeadlocks gives the producer a budget smaller
// than what one user record and its request body cost: each is then taken
// only when nothing else is held, and its request goes although it is larger
// than the budget, since nothing else is in flight. Everything arrives, and
// the producer never holds more than one record's worth.
func TestProducerTightBudgetNeverDeadlocks(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("aggregation=%v", !plain), func(t *testing.T) {
			f := newFakeKinesis("s", 4)
			cfg := testConfig("s")
			cfg.BacklogBytes = 1 << 10
			cfg.DisableAggregation = plain
			p := newTestProducer(t, f, cfg)
			want := map[string]string{}
			var wg sync.WaitGroup
			var most atomic.Int64
			one := chargeBound(aloneBound("0-00", "", 3005, nil), "0-00", "") + p.perReq
			for w := range 4 {
				wg.Go(func() {
					for i := range 25 {
						d := fmt.Sprintf("%d-%d-%s", w, i, make([]byte, 3000))
						mustPut(t, p, d[:4], "", []byte(d), nil)
						most.Store(max(most.Load(), p.Stats().MemoryBytes))
					}
				})
				for i := range 25 {
					d := fmt.Sprintf("%d-%d-%s", w, i, make([]byte, 3000))
					want[d] = d[:4]
				}
			}
			wg.Wait()
			mustFlush(t, p)
			if plain {
				checkExactlyOnce(t, f, readPlain(t, f), want, nil)
			} else {
				checkExactlyOnce(t, f, readKCL(t, f), want, nil)
			}
			if m := most.Load(); m > one {
				t.Errorf("held %d bytes at once, more than one user record's worth (%d)", m, one)
			}
		})
	}
}

// TestProducerKeepsBuffersWithinBudget checks that the buffers a producer
// keeps for reuse are charged, give way to records, and are dropped after a
// flush interval with no request.
func TestProducerKeepsBuffersWithinBudget(t *testing.T) {
	f := newFakeKinesis("s", 2)
	cfg := testConfig("s")
	// Long enough that a loaded machine still looks at the kept buffers before a whole
	// interval without a request drops them.
	cfg.FlushInterval = 300 * time.Millisecond
	p := newTestProducer(t, f, cfg)
	data := make([]byte, 20_000)
	for i := range 200 {
		mustPut(t, p, strconv.Itoa(i), "", data, nil)
	}
	mustFlush(t, p)
	p.mu.Lock()
	kept, n := p.st.idleBytes, len(p.st.idle)+len(p.st.recIdle)
	p.mu.Unlock()
	if kept == 0 || n == 0 {
		t.Fatalf("no buffer kept after a flush: %d bytes in %d", kept, n)
	}
	checkReleased(t, p)
	if s := p.Stats(); s.MemoryBytes != kept {
		t.Errorf("MemoryBytes %d, kept buffers %d", s.MemoryBytes, kept)
	}
	// A budget taken by kept buffers still admits records.
	p.mu.Lock()
	p.cfg.BacklogBytes = kept
	p.mu.Unlock()
	mustPut(t, p, "k", "", data, nil)
	if s := p.Stats(); s.MemoryBytes > kept {
		t.Errorf("holding %d bytes over a budget of %d", s.MemoryBytes, kept)
	}
	mustFlush(t, p)
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().MemoryBytes != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("kept buffers not dropped: %d bytes", p.Stats().MemoryBytes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProducerPacksPutUnits: with aggregates allowed to span many PUT payload units, an
// aggregate that fills its units to within 1 % is closed rather than filled on into a unit
// the next user records fill only in part. 130 user records of 17,600 bytes: closed at
// the size limit, aggregates of 14 pay 10 units for 9.65 of data (93 in all); closed when
// packed, aggregates of 13 pay 9 for 8.96 (90, the ideal). Every record arrives.
func TestProducerPacksPutUnits(t *testing.T) {
	for _, c := range []struct {
		aggregate int
		want      int // PUT payload units
	}{
		{256000, 90},
		{51200, 130}, // the default: one user record to a unit, as before
	} {
		t.Run(fmt.Sprint(c.aggregate), func(t *testing.T) {
			f := newFakeKinesis("s", 1)
			cfg := testConfig("s")
			cfg.FlushInterval = time.Hour
			cfg.AggregateBatchSize = c.aggregate
			p := newTestProducer(t, f, cfg)
			want := map[string]string{}
			for i := range 130 {
				data := bytes.Repeat([]byte{byte(i)}, 17_600)
				pk := fmt.Sprintf("%032d", i)
				mustPut(t, p, pk, "", data, nil)
				want[string(data)] = pk
			}
			mustFlush(t, p)
			units, ideal := 0, 0
			f.mu.Lock()
			for _, s := range f.shards {
				for _, r := range s.recs {
					n := len(r.data) + len(r.pk)
					units += (n + putUnit - 1) / putUnit
					ideal += n
				}
			}
			f.mu.Unlock()
			if units != c.want {
				t.Errorf("%d PUT payload units for %d bytes (%.2f units), want %d", units, ideal, float64(ideal)/putUnit, c.want)
			}
			checkExactlyOnce(t, f, readKCL(t, f), want, nil)
		})
	}
}
