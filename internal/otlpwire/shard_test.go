package otlpwire

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// evenShards is a ShardMap of n shards dividing the hash key space evenly,
// as a new stream's shards do.
type evenShards uint64

func (n evenShards) Shard(hi, _ uint64) int {
	s, _ := bits.Mul64(hi, uint64(n)) // floor(hi·n / 2^64)
	return int(s)
}

// unknownShards knows the shard of no hash key whose top bit is set.
type unknownShards struct{}

func (unknownShards) Shard(hi, _ uint64) int {
	if hi>>63 == 1 {
		return -1
	}
	return 0
}

// mapper hands out a fixed ShardMap (nil: no map known) and counts calls.
type mapper struct {
	m     ShardMap
	calls int
}

func (m *mapper) ShardMap() ShardMap { m.calls++; return m.m }

// shardOfKey is the shard m gives a partition key.
func shardOfKey(m ShardMap, key string) int {
	d := md5.Sum([]byte(key))
	return m.Shard(binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:]))
}

// checkShardRecords checks what PartitionByShard promises for one batch on
// top of what checkRecords checks for every partitioning: each record is
// keyed by the trace ID of its first span and holds only traces of that key's
// shard (each unknown-shard trace alone); a protobuf record is byte for byte
// otlptrace's transform of its spans, in record order, through proto.Marshal;
// the records of one shard follow each other, each filled until the next
// span did not fit.
func checkShardRecords(t *testing.T, cfg TraceConfig, view ShardMap, spans []sdktrace.ReadOnlySpan, invalidUTF8 bool) {
	t.Helper()
	checkRecords(t, cfg, spans, invalidUTF8)
	e := newEncoder(t, cfg)
	cfg = e.Config()
	recs, _ := encodeAll(t, e, spans)
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range representatives(spans) {
		if s != nil {
			byID[s.SpanContext().SpanID()] = s
		}
	}
	shardOfTrace := func(tid trace.TraceID) int { return shardOfKey(view, tid.String()) }
	done := map[int]bool{} // shards whose records are all behind
	prevShard := 0
	var prevSub []sdktrace.ReadOnlySpan
	for i, r := range recs {
		req := decodeRecord(t, cfg.Encoding, r.data)
		var sub []sdktrace.ReadOnlySpan
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					sub = append(sub, byID[trace.SpanID(sp.SpanId)])
				}
			}
		}
		first := sub[0].SpanContext().TraceID()
		if r.key != first.String() {
			t.Fatalf("record %d: key %q, want the trace ID of its first span, %s", i, r.key, first)
		}
		shard := shardOfTrace(first)
		for _, s := range sub {
			tid := s.SpanContext().TraceID()
			if shard < 0 && tid != first || shard >= 0 && shardOfTrace(tid) != shard {
				t.Fatalf("record %d, keyed for shard %d, holds trace %s of shard %d", i, shard, tid, shardOfTrace(tid))
			}
		}
		if cfg.Encoding == Protobuf {
			want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: oracle(t, sub)}
			if invalidUTF8 {
				sanitizeStrings(want.ProtoReflect())
			}
			checkEncoding(t, r.data, want, &coltracepb.ExportTraceServiceRequest{})
		}
		if shard >= 0 {
			if i > 0 && shard == prevShard {
				if n := len(e.AppendRequest(nil, append(slices.Clone(prevSub), sub[0]))); n <= cfg.MaxRecordSize {
					t.Fatalf("record %d closed at %d bytes though the next span of its shard fitted (%d)", i-1, len(recs[i-1].data), n)
				}
			} else if done[shard] {
				t.Fatalf("record %d: shard %d has records apart", i, shard)
			}
			done[prevShard] = true
		}
		prevShard, prevSub = shard, sub
	}
}

func TestEncodeByShardRecords(t *testing.T) {
	limits := []int{0, 300, 1200, 5000, 40000}
	for seed := range propertyCases(240) {
		g := newSpanGen(seed)
		g.invalidUTF8 = seed%6 == 0
		g.huge = seed%10 == 0
		spans := g.spans(1 + g.r.IntN(60))
		var view ShardMap = evenShards(1 + seed%5)
		if seed%7 == 3 {
			view = unknownShards{}
		}
		cfg := TraceConfig{
			Encoding:      []Encoding{Protobuf, JSON}[seed%2],
			MaxRecordSize: limits[g.r.IntN(len(limits))],
			Partitioning:  PartitionByShard,
			Shards:        &mapper{m: view},
		}
		t.Run(fmt.Sprintf("%d/%v/%v/%d", seed, cfg.Encoding, view, cfg.MaxRecordSize), func(t *testing.T) {
			checkShardRecords(t, cfg, view, spans, g.invalidUTF8)
		})
	}
}

// TestEncodeByShardGroupsTraces checks the point of the mode: realistic
// traces bound for one shard share one record, one map read per batch.
func TestEncodeByShardGroupsTraces(t *testing.T) {
	spans := realisticSpans(512) // 64 traces of 8 spans
	for _, enc := range []Encoding{Protobuf, JSON} {
		m := &mapper{m: evenShards(4)}
		e := newEncoder(t, TraceConfig{Encoding: enc, Partitioning: PartitionByShard, Shards: m})
		recs, res := encodeAll(t, e, spans)
		if len(recs) != 4 || res.Spans != 512 || m.calls != 1 {
			t.Fatalf("%v: %d records of %d spans after %d map reads; want 4 records (one per shard), 512 spans, 1 read",
				enc, len(recs), res.Spans, m.calls)
		}
		shards := map[int]bool{}
		for _, r := range recs {
			shards[shardOfKey(evenShards(4), r.key)] = true
		}
		if len(shards) != 4 {
			t.Fatalf("%v: records keyed for %d shards, want 4", enc, len(shards))
		}
		checkShardRecords(t, e.Config(), evenShards(4), spans, false)
	}
}

// TestEncodeByShardWithoutMap checks the fallback: with no shard map known a
// batch is partitioned exactly as by trace ID.
func TestEncodeByShardWithoutMap(t *testing.T) {
	spans := realisticSpans(128)
	for _, enc := range []Encoding{Protobuf, JSON} {
		byTrace, _ := encodeAll(t, newEncoder(t, TraceConfig{Encoding: enc}), spans)
		m := &mapper{}
		e := newEncoder(t, TraceConfig{Encoding: enc, Partitioning: PartitionByShard, Shards: m})
		got, _ := encodeAll(t, e, spans)
		if len(got) != len(byTrace) || m.calls != 1 {
			t.Fatalf("%v: %d records after %d map reads, by trace ID %d", enc, len(got), m.calls, len(byTrace))
		}
		for i := range got {
			if got[i].key != byTrace[i].key || string(got[i].data) != string(byTrace[i].data) {
				t.Fatalf("%v: record %d differs from partitioning by trace ID", enc, i)
			}
		}
		// A map known again: grouping resumes.
		m.m = evenShards(2)
		if got, _ := encodeAll(t, e, spans); len(got) != 2 {
			t.Fatalf("%v: %d records with a 2-shard map, want 2", enc, len(got))
		}
	}
}

func TestEncodeByShardConfig(t *testing.T) {
	if _, err := NewTraceEncoder(TraceConfig{Partitioning: PartitionByShard}); err == nil || !strings.Contains(err.Error(), "ShardMapper") {
		t.Fatalf("no mapper: %v", err)
	}
	if s := PartitionByShard.String(); s != "shard" {
		t.Fatalf("String %q", s)
	}
	// The other signals' encoders do not take the mode.
	if _, err := NewLogEncoder(LogConfig{Partitioning: PartitionByShard}); err == nil {
		t.Fatal("log encoder took PartitionByShard")
	}
}

func TestEncodeByShardAllocations(t *testing.T) {
	spans := realisticSpans(512)
	e := newEncoder(t, TraceConfig{Partitioning: PartitionByShard, Shards: &mapper{m: evenShards(4)}})
	emit := func(string, []byte) error { return nil }
	_, _ = e.Encode(spans, emit) // warm the scratch
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := e.Encode(spans, emit); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4+2 { // one key string per record
		t.Errorf("%v allocations per batch of 512, want at most 6", allocs)
	}
}
