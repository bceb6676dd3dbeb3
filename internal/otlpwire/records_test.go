package otlpwire

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// record is one record an encoder emitted, copied.
type record struct {
	key  string
	data []byte
	n    int // items in it: RecordSpans or RecordLogs during emit
}

// encodeRecords runs one encoder's Encode over items and returns every record it emitted,
// with count (its RecordSpans or RecordLogs) read during each emit, and the result.
func encodeRecords[I, R any](t *testing.T, encode func([]I, EmitFunc) (R, error), count func() int, items []I) ([]record, R) {
	t.Helper()
	var recs []record
	res, err := encode(items, func(key string, data []byte) error {
		recs = append(recs, record{key, bytes.Clone(data), count()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, res
}

func encodeAll(t *testing.T, e *TraceEncoder, spans []sdktrace.ReadOnlySpan) ([]record, TraceResult) {
	t.Helper()
	return encodeRecords(t, e.Encode, e.RecordSpans, spans)
}

// canonical sorts the resources and scopes of req by their encoding, so that
// two requests grouping the same spans alike compare equal whatever order
// their containers come in. Spans keep their order.
func canonical(req *coltracepb.ExportTraceServiceRequest) {
	key := func(m proto.Message, url string) string {
		b, _ := deterministic.Marshal(m)
		return string(b) + "\x00" + url
	}
	for _, rs := range req.ResourceSpans {
		slices.SortStableFunc(rs.ScopeSpans, func(a, b *tracepb.ScopeSpans) int {
			return strings.Compare(key(a.Scope, a.SchemaUrl), key(b.Scope, b.SchemaUrl))
		})
	}
	slices.SortStableFunc(req.ResourceSpans, func(a, b *tracepb.ResourceSpans) int {
		return strings.Compare(key(a.Resource, a.SchemaUrl), key(b.Resource, b.SchemaUrl))
	})
}

// decodeRecord decodes a record in the encoder's encoding.
func decodeRecord(t *testing.T, enc Encoding, data []byte) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	req := &coltracepb.ExportTraceServiceRequest{}
	if enc == JSON {
		if err := unmarshalOTLPJSON(data, req); err != nil {
			t.Fatalf("record does not decode: %v\n%s", err, data)
		}
		return req
	}
	if err := proto.Unmarshal(data, req); err != nil {
		t.Fatalf("record does not decode: %v", err)
	}
	return req
}

var hexKey = regexp.MustCompile(`^[0-9a-f]+$`)

// representatives returns spans with each span's resource replaced by the
// first resource of the batch with equivalent attributes: the resource
// otlptrace (and Encode) write for the whole group. Any subset of the result
// then transforms into exactly the containers a record of the batch holds.
func representatives(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	first := map[attribute.Distinct]*resource.Resource{}
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		if s == nil {
			continue
		}
		d := s.Resource().Equivalent()
		r, ok := first[d]
		if !ok {
			r = s.Resource()
			first[d] = r
		}
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Resource = r
		out[i] = stub.Snapshot()
	}
	return out
}

// checkRecords verifies every promise Encode makes for one batch.
func checkRecords(t *testing.T, cfg TraceConfig, spans []sdktrace.ReadOnlySpan, invalidUTF8 bool) {
	t.Helper()
	e := newEncoder(t, cfg)
	cfg = e.Config()
	recs, res := encodeAll(t, e, spans)
	// Run twice: the second run reuses the scratch and must give the same.
	recs2, _ := encodeAll(t, e, spans)
	if len(recs) != len(recs2) {
		t.Fatalf("second run: %d records, first %d", len(recs2), len(recs))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range representatives(spans) {
		if s != nil {
			byID[s.SpanContext().SpanID()] = s
		}
	}
	dropped := map[trace.SpanID]bool{}
	for _, d := range res.Dropped {
		s := byID[d.SpanID]
		if s == nil || s.SpanContext().TraceID() != d.TraceID || d.Limit != cfg.MaxRecordSize {
			t.Fatalf("dropped %+v names no span of the batch", d)
		}
		alone := e.encodeAlone(s)
		if d.Size != alone || alone <= cfg.MaxRecordSize {
			t.Fatalf("dropped span %s: reported size %d, alone it takes %d, limit %d", d.SpanID, d.Size, alone, cfg.MaxRecordSize)
		}
		dropped[d.SpanID] = true
	}
	seen := map[trace.SpanID]bool{}
	perTrace := map[trace.TraceID]int{}
	total := 0
	for i, r := range recs {
		if !bytes.Equal(r.data, recs2[i].data) || r.key != recs2[i].key && cfg.Partitioning != PartitionRandom {
			t.Fatalf("record %d differs between two runs", i)
		}
		if len(r.data) > cfg.MaxRecordSize {
			t.Fatalf("record %d: %d bytes, over the limit %d", i, len(r.data), cfg.MaxRecordSize)
		}
		req := decodeRecord(t, cfg.Encoding, r.data)
		var sub []sdktrace.ReadOnlySpan
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					id := trace.SpanID(sp.SpanId)
					s := byID[id]
					if s == nil || seen[id] || dropped[id] {
						t.Fatalf("record %d: span %s unknown, repeated or dropped", i, id)
					}
					seen[id] = true
					sub = append(sub, s)
				}
			}
		}
		if r.n != len(sub) {
			t.Fatalf("record %d: RecordSpans said %d, holds %d", i, r.n, len(sub))
		}
		total += len(sub)
		// The record equals otlptrace's transform of its spans.
		want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: oracle(t, sub)}
		if invalidUTF8 {
			sanitizeStrings(want.ProtoReflect())
		}
		canonical(want)
		canonical(req)
		if !proto.Equal(req, want) {
			t.Fatalf("record %d differs from otlptrace's transform of its %d spans", i, len(sub))
		}
		// Partition promises.
		switch cfg.Partitioning {
		case PartitionByTraceID:
			tid := sub[0].SpanContext().TraceID()
			for _, s := range sub {
				if s.SpanContext().TraceID() != tid {
					t.Fatalf("record %d mixes traces %s and %s", i, tid, s.SpanContext().TraceID())
				}
			}
			if r.key != tid.String() {
				t.Fatalf("record %d: key %q, want trace ID %s", i, r.key, tid)
			}
			perTrace[tid]++
		case PartitionByResource:
			if len(req.ResourceSpans) != 1 || len(r.key) != 16 || !hexKey.MatchString(r.key) {
				t.Fatalf("record %d: %d resources under key %q", i, len(req.ResourceSpans), r.key)
			}
		case PartitionRandom:
			if len(r.key) != 32 || !hexKey.MatchString(r.key) {
				t.Fatalf("record %d: key %q is not 32 hex digits", i, r.key)
			}
		case PartitionByKey:
			for _, s := range sub {
				if k := cfg.PartitionKey(s); k != r.key {
					t.Fatalf("record %d under key %q holds a span of key %q", i, r.key, k)
				}
			}
		}
		// Greedy fill: the next record of the same partition did not fit.
		if i+1 < len(recs) && recs[i+1].key == r.key && cfg.Partitioning != PartitionRandom {
			next := decodeRecord(t, cfg.Encoding, recs[i+1].data)
			first := byID[trace.SpanID(next.ResourceSpans[0].ScopeSpans[0].Spans[0].SpanId)]
			if n := len(e.AppendRequest(nil, append(slices.Clone(sub), first))); n <= cfg.MaxRecordSize {
				t.Fatalf("record %d closed at %d bytes though the next span fitted (%d)", i, len(r.data), n)
			}
		}
	}
	if total != res.Spans || len(recs) != res.Records {
		t.Fatalf("result says %d records, %d spans; emitted %d, %d", res.Records, res.Spans, len(recs), total)
	}
	for id := range byID {
		if !seen[id] && !dropped[id] {
			t.Fatalf("span %s neither written nor dropped", id)
		}
	}
	// One trace, one record, when the whole trace fits.
	if cfg.Partitioning == PartitionByTraceID {
		for tid, n := range perTrace {
			var ts []sdktrace.ReadOnlySpan
			for _, s := range byID {
				if s.SpanContext().TraceID() == tid && !dropped[s.SpanContext().SpanID()] {
					ts = append(ts, s)
				}
			}
			if n > 1 && len(e.AppendRequest(nil, ts)) <= cfg.MaxRecordSize {
				t.Fatalf("trace %s split into %d records though it fits in one", tid, n)
			}
		}
	}
}

// encodeAlone is the size of a record holding only s.
func (e *TraceEncoder) encodeAlone(s sdktrace.ReadOnlySpan) int {
	return len(e.AppendRequest(nil, []sdktrace.ReadOnlySpan{s}))
}

func TestEncodeRecords(t *testing.T) {
	limits := []int{0, 300, 1200, 5000, 40000}
	parts := []Partitioning{PartitionByTraceID, PartitionByResource, PartitionRandom, PartitionByKey}
	for seed := range propertyCases(240) {
		g := newSpanGen(seed)
		g.invalidUTF8 = seed%6 == 0
		g.huge = seed%10 == 0
		spans := g.spans(1 + g.r.IntN(60))
		cfg := TraceConfig{
			Encoding:      []Encoding{Protobuf, JSON}[seed%2],
			MaxRecordSize: limits[g.r.IntN(len(limits))],
			Partitioning:  parts[seed%4],
			PartitionKey: func(s sdktrace.ReadOnlySpan) string {
				return fmt.Sprint("k", s.SpanKind(), len(s.Name())%3)
			},
		}
		t.Run(fmt.Sprintf("%d/%v/%v/%d", seed, cfg.Encoding, cfg.Partitioning, cfg.MaxRecordSize), func(t *testing.T) {
			checkRecords(t, cfg, spans, g.invalidUTF8)
		})
	}
}

func TestEncodeOneTraceOneRecord(t *testing.T) {
	spans := realisticSpans(512) // 8 spans per trace
	for _, enc := range []Encoding{Protobuf, JSON} {
		e := newEncoder(t, TraceConfig{Encoding: enc})
		recs, res := encodeAll(t, e, spans)
		if len(recs) != 64 || res.Spans != 512 || len(res.Dropped) != 0 {
			t.Fatalf("%v: %d records, %d spans, %d dropped; want 64, 512, 0", enc, len(recs), res.Spans, len(res.Dropped))
		}
		for _, r := range recs {
			if r.n != 8 {
				t.Fatalf("%v: record of %d spans, want 8", enc, r.n)
			}
		}
	}
}

func TestEncodeEmitError(t *testing.T) {
	e := newEncoder(t, TraceConfig{})
	boom := errors.New("boom")
	calls := 0
	res, err := e.Encode(realisticSpans(64), func(string, []byte) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || res.Records != 2 || res.Spans != 16 || calls != 3 {
		t.Fatalf("got err %v, %d records, %d spans after %d calls", err, res.Records, res.Spans, calls)
	}
	// The encoder is still usable.
	recs, res := encodeAll(t, e, realisticSpans(64))
	if len(recs) != 8 || res.Spans != 64 {
		t.Fatalf("after an error: %d records, %d spans", len(recs), res.Spans)
	}
}

func TestEncodeDropsOversizeSpans(t *testing.T) {
	spans := realisticSpans(3)
	e := newEncoder(t, TraceConfig{MaxRecordSize: 100, Partitioning: PartitionRandom})
	recs, res := encodeAll(t, e, spans)
	if len(recs) != 0 || len(res.Dropped) != 3 {
		t.Fatalf("%d records, %d dropped; want 0, 3", len(recs), len(res.Dropped))
	}
	d := res.Dropped[0]
	sc := spans[0].SpanContext()
	if d.TraceID != sc.TraceID() || d.SpanID != sc.SpanID() || d.Size != e.encodeAlone(spans[0]) || d.Limit != 100 {
		t.Fatalf("dropped %+v", d)
	}
	msg := d.Error()
	for _, want := range []string{sc.TraceID().String(), sc.SpanID().String(), fmt.Sprint(d.Size), "100"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("%q does not say %q", msg, want)
		}
	}
}

func TestNewTraceEncoderRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  TraceConfig
		want string
	}{
		{TraceConfig{Encoding: "otlp_xml"}, `encoding "otlp_xml"`},
		{TraceConfig{MaxRecordSize: -1}, "max record size -1"},
		{TraceConfig{Partitioning: 9}, "partitioning 9"},
		{TraceConfig{Partitioning: PartitionByKey}, "PartitionKey"},
	} {
		if _, err := NewTraceEncoder(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", c.cfg, err, c.want)
		}
	}
	e := newEncoder(t, TraceConfig{})
	if c := e.Config(); c.MaxRecordSize != DefaultMaxRecordSize || c.Encoding != Protobuf || c.Partitioning != PartitionByTraceID {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEncodeAllocations(t *testing.T) {
	spans := realisticSpans(512)
	for _, c := range []struct {
		cfg TraceConfig
		max float64 // per batch
	}{
		{TraceConfig{}, 64 + 2},                             // one key string per trace
		{TraceConfig{Partitioning: PartitionByResource}, 0}, // the resource's key is kept
		{TraceConfig{Partitioning: PartitionRandom}, 3},
		{TraceConfig{Encoding: JSON}, 64 + 2},
	} {
		e := newEncoder(t, c.cfg)
		emit := func(string, []byte) error { return nil }
		_, _ = e.Encode(spans, emit) // warm the scratch
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := e.Encode(spans, emit); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > c.max {
			t.Errorf("%v/%v: %v allocations per batch of 512, want at most %v", c.cfg.Encoding, c.cfg.Partitioning, allocs, c.max)
		}
	}
}
