package trace_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// kclRecord is a user record as a KCL application gets it, with the shard it was read from.
type kclRecord struct {
	consumer.UserRecord
	shard string
	tel   consumer.Telemetry
}

// shardReading is a whole stream read back as the KCL reads it.
type shardReading struct {
	records []kclRecord
	ranges  map[string]aggregation.HashRange // every shard's, closed ones included
	// discarded counts the Kinesis records the KCL would throw away whole, because a user
	// record inside hashes outside the shard they are on (the producer sends those user
	// records again once it knows the new shard map).
	discarded int
}

// readKCL reads every shard of stream, deaggregates each Kinesis record and, as the KCL
// does, discards a whole aggregated record when a user record inside it hashes outside its
// shard; the others are decoded.
func readKCL(t *testing.T, ctx context.Context, c *kinesis.Client, stream string) shardReading {
	t.Helper()
	byShard, err := testpeers.ReadStream(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	shards, err := testpeers.ListShards(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := consumer.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	deagg, err := consumer.NewDeaggregator()
	if err != nil {
		t.Fatal(err)
	}
	out := shardReading{ranges: map[string]aggregation.HashRange{}}
	for _, s := range shards {
		rng, err := aggregation.ParseHashRange(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
		if err != nil {
			t.Fatal(err)
		}
		out.ranges[aws.ToString(s.ShardId)] = rng
	}
	for id, recs := range byShard {
		for _, kr := range recs {
			urs, err := deagg.DeaggregateRecord(kr)
			if err != nil {
				t.Fatalf("shard %s record %s: %v", id, aws.ToString(kr.SequenceNumber), err)
			}
			inside := true
			for _, ur := range urs {
				inside = inside && out.ranges[id].Contains(aggregation.HashPartitionKey(ur.PartitionKey))
			}
			if !inside {
				out.discarded++
				continue
			}
			for _, ur := range urs {
				tel, err := dec.Decode(ur)
				if err != nil {
					t.Fatalf("shard %s: %v", id, err)
				}
				out.records = append(out.records, kclRecord{ur, id, tel})
			}
		}
	}
	return out
}

// shardCheck is what checkByShard found.
type shardCheck struct {
	traceShard map[string]string // trace ID → the one shard its spans are on
	multi      int               // user records holding more than one trace
}

// checkByShard checks a stream written with partition_by=shard against the spans
// exported: every span exactly once, equal field by field to otlptrace's transform under
// the right resource and scope and, in protobuf, byte for byte what proto.Marshal writes
// for it; each user record keyed by the trace ID of one of the traces it holds, every one
// of which maps to the shard it is on (so each trace is whole on the shard its trace ID
// maps to); the tags as configured.
func checkByShard(t *testing.T, rd shardReading, spans []sdktrace.ReadOnlySpan, enc otelkinesis.Encoding, comp otelkinesis.Compression) shardCheck {
	t.Helper()
	want := oracle(t, spans)
	got := map[string]placedSpan{}
	res := shardCheck{traceShard: map[string]string{}}
	for _, r := range rd.records {
		f := r.tel.Format
		if f.Signal != "traces" || f.ContentType != contentTypes[enc] || f.ContentEncoding != contentEncodings[comp] {
			t.Fatalf("user record tagged %+v, want traces/%s/%q", f, contentTypes[enc], contentEncodings[comp])
		}
		flatten(t, r.tel.Traces.ResourceSpans, got)
		traces := traceIDs(r.tel.Traces.ResourceSpans)
		if !traces[r.PartitionKey] {
			t.Errorf("user record keyed %q holds traces %v, not its key's", r.PartitionKey, traces)
		}
		if len(traces) > 1 {
			res.multi++
		}
		for tid := range traces {
			if !rd.ranges[r.shard].Contains(aggregation.HashPartitionKey(tid)) {
				t.Errorf("trace %s is on shard %s, which its trace ID does not map to", tid, r.shard)
			}
			if prev, ok := res.traceShard[tid]; ok && prev != r.shard {
				t.Errorf("trace %s on shards %s and %s", tid, prev, r.shard)
			}
			res.traceShard[tid] = r.shard
		}
		if enc == otelkinesis.EncodingProto {
			checkSpanBytes(t, r.Data, comp, want)
		}
	}
	compareSpans(t, got, want)
	return res
}

// traceIDs returns the trace IDs (lowercase hex) of the spans in rss.
func traceIDs(rss []*tracepb.ResourceSpans) map[string]bool {
	ids := map[string]bool{}
	for _, rs := range rss {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				ids[hex.EncodeToString(sp.TraceId)] = true
			}
		}
	}
	return ids
}

var (
	contentTypes     = map[otelkinesis.Encoding]string{otelkinesis.EncodingProto: "application/x-protobuf", otelkinesis.EncodingJSON: "application/json"}
	contentEncodings = map[otelkinesis.Compression]string{otelkinesis.CompressionNone: "", otelkinesis.CompressionGzip: "gzip", otelkinesis.CompressionZstd: "zstd"}
)

// checkSpanBytes decompresses a protobuf user record and checks that every span in it is
// byte for byte what proto.Marshal writes for otlptrace's transform of that span.
func checkSpanBytes(t *testing.T, data []byte, comp otelkinesis.Compression, want map[string]placedSpan) {
	t.Helper()
	data = decompress(t, data, comp)
	// ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans (2) →
	// ScopeSpans.spans (2).
	for _, rs := range fields(t, data, 1) {
		for _, ss := range fields(t, rs, 2) {
			for _, raw := range fields(t, ss, 2) {
				var sp tracepb.Span
				if err := proto.Unmarshal(raw, &sp); err != nil {
					t.Fatal(err)
				}
				w, ok := want[spanKey(&sp)]
				if !ok {
					t.Fatalf("span %s was not exported", spanKey(&sp))
				}
				wb, err := proto.Marshal(w.span)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, wb) {
					t.Fatalf("span %s: %d bytes differ from proto.Marshal's %d", spanKey(&sp), len(raw), len(wb))
				}
			}
		}
	}
}

// decompress undoes comp on a user record's data, with decompressors of its own (not the
// consumer's).
func decompress(t *testing.T, data []byte, comp otelkinesis.Compression) []byte {
	t.Helper()
	var err error
	switch comp {
	case otelkinesis.CompressionGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(data)); err == nil {
			data, err = io.ReadAll(zr)
		}
	case otelkinesis.CompressionZstd:
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(nil); err == nil {
			data, err = zr.DecodeAll(data, nil)
			zr.Close()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fields returns the bytes of every length-delimited field numbered num in msg.
func fields(t *testing.T, msg []byte, num protowire.Number) [][]byte {
	t.Helper()
	var out [][]byte
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(l))
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				t.Fatalf("bad field %d: %v", num, protowire.ParseError(l))
			}
			out = append(out, v)
			msg = msg[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			t.Fatalf("bad field %d: %v", n, protowire.ParseError(l))
		}
		msg = msg[l:]
	}
	return out
}

// TestRoundTripByShard is TestRoundTrip with partition_by=shard on a 4-shard stream of
// kinesalite and kinesis-local: every trace whole on the shard its trace ID maps to,
// several traces sharing user records, every span exactly once and as otlptrace makes it.
// 2,000 spans in each format are enough for several shared records per shard, and keep
// the single-threaded emulators from dominating make test.
func TestRoundTripByShard(t *testing.T) {
	eachFormat(t, 2000, roundTripByShard)
}

func roundTripByShard(t *testing.T, peer testpeers.Peer, enc otelkinesis.Encoding, comp otelkinesis.Compression, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, stream, spans := exportThrough(t, ctx, peer, 4, n, otelkinesis.WithPartitionBy(otelkinesis.PartitionByShard),
		otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp))
	rd := readKCL(t, ctx, client, stream)
	if rd.discarded != 0 {
		t.Errorf("%d Kinesis records break the KCL rule", rd.discarded)
	}
	res := checkByShard(t, rd, spans, enc, comp)
	shards := map[string]bool{}
	for _, s := range res.traceShard {
		shards[s] = true
	}
	// How many traces share a record depends on the batches the SDK's batch processor
	// makes, and on the record limit (uncompressed records are cut at about 25 KiB).
	if len(shards) != 4 || res.multi == 0 {
		t.Errorf("%d traces in %d user records (%d holding several) on %d shards: want the traces grouped, on all 4 shards",
			len(res.traceShard), len(rd.records), res.multi, len(shards))
	}
	t.Logf("%d spans of %d traces in %d user records", len(spans), len(res.traceShard), len(rd.records))
}

// shardSpans makes traces of perTrace spans each, named by phase, from two resources.
func shardSpans(t *testing.T, phase string, traces, perTrace int) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	var tps []*sdktrace.TracerProvider
	for _, svc := range []string{"checkout", "payments"} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", svc))))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		tps = append(tps, tp)
	}
	for i := range traces {
		tr := tps[i%2].Tracer("scope")
		ctx, root := tr.Start(context.Background(), fmt.Sprintf("%s %d", phase, i))
		for j := 1; j < perTrace; j++ {
			_, sp := tr.Start(ctx, "child", oteltrace.WithAttributes(attribute.Int("j", j), attribute.String("phase", phase)))
			sp.End()
		}
		root.End()
	}
	return rec.Ended()
}

func exportAll(t *testing.T, exp *kinesistrace.Exporter, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for i := 0; i < len(spans); i += 512 {
		if err := exp.ExportSpans(context.Background(), spans[i:min(i+512, len(spans))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := exp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestByShardKinesistest runs the check on kinesistest, and checks that without a shard map
// (ListShards refused) the mode writes exactly what partitioning by trace ID writes: one
// trace per user record, keyed by it.
func TestByShardKinesistest(t *testing.T) {
	for _, c := range []struct {
		noMap bool
		comp  otelkinesis.Compression
	}{{false, otelkinesis.CompressionGzip}, {true, otelkinesis.CompressionGzip}, {false, otelkinesis.CompressionNone}} {
		noMap := c.noMap
		t.Run(fmt.Sprintf("without-map=%v/%s", noMap, c.comp), func(t *testing.T) {
			srv, opts := exportertest.Kinesis[kinesistrace.Option](t, "s")
			if noMap {
				srv.InjectRequests(-1, kinesistest.AccessDenied(), "ListShards")
			}
			exp, err := kinesistrace.New(context.Background(), append(opts, otelkinesis.WithPartitionBy(otelkinesis.PartitionByShard),
				otelkinesis.WithCompression(c.comp))...)
			if err != nil {
				t.Fatal(err)
			}
			spans := shardSpans(t, "a", 200, 10)
			exportAll(t, exp, spans)
			if err := exp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			srv.ClearFaults()
			rd := readKCL(t, context.Background(), kinesis.NewFromConfig(srv.AWSConfig()), "s")
			res := checkByShard(t, rd, spans, otelkinesis.EncodingProto, c.comp)
			if c.comp == otelkinesis.CompressionNone {
				// Uncompressed records are cut so that two fill an aggregate of the default
				// aggregate_batch_size: each at most one PUT payload unit.
				for _, r := range rd.records {
					if len(r.Data) > 25600 {
						t.Fatalf("uncompressed user record of %d bytes", len(r.Data))
					}
				}
				if res.multi == 0 {
					t.Error("no user record holds several traces")
				}
				return
			}
			pieces := map[string]bool{} // a trace's spans in one export call
			for i, s := range spans {
				pieces[fmt.Sprint(i/512, s.SpanContext().TraceID())] = true
			}
			if noMap {
				if res.multi != 0 || len(rd.records) != len(pieces) {
					t.Errorf("without a shard map: %d user records, %d holding several traces; want %d, one trace each",
						len(rd.records), res.multi, len(pieces))
				}
			} else if len(rd.records) != 4*4 { // 4 export calls, 4 shards
				t.Errorf("%d user records, want 16: one per shard and export call", len(rd.records))
			}
		})
	}
}

// TestByShardResharding reshards a kinesistest stream from 4 to 8 shards between export
// calls. Before the reshard, and once the producer has read the new map, every trace is
// whole on the shard its trace ID maps to; in between, the records grouped by the old map
// still pass the KCL check (or are sent again), each trace of one export call stays on one
// shard, and no span is lost or doubled.
func TestByShardResharding(t *testing.T) {
	srv, opts := exportertest.Kinesis[kinesistrace.Option](t, "s")
	exp, err := kinesistrace.New(context.Background(), append(opts, otelkinesis.WithPartitionBy(otelkinesis.PartitionByShard))...)
	if err != nil {
		t.Fatal(err)
	}
	// The export under the stale map is one call: spans of one trace in two calls could
	// be grouped by two maps.
	before, during, after := shardSpans(t, "before", 100, 10), shardSpans(t, "during", 50, 10), shardSpans(t, "after", 100, 10)
	exportAll(t, exp, before)
	st := srv.Stream("s")
	if err := st.UpdateShardCount(8); err != nil {
		t.Fatal(err)
	}
	exportAll(t, exp, during) // grouped by the old map; the producer learns of the new one
	deadline := time.Now().Add(10 * time.Second)
	for kinesistrace.ShardCount(exp) != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("the producer knows %d shards, want 8", kinesistrace.ShardCount(exp))
		}
		time.Sleep(5 * time.Millisecond)
	}
	exportAll(t, exp, after)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	rd := readKCL(t, context.Background(), kinesis.NewFromConfig(srv.AWSConfig()), "s")
	all := append(append(append([]sdktrace.ReadOnlySpan(nil), before...), during...), after...)
	// checkByShard holds every trace to the shard its ID maps to; a trace of the
	// export made under the stale map may be elsewhere, so check those apart.
	var stable shardReading
	stable.ranges = rd.ranges
	var stale []kclRecord
	duringIDs := map[string]bool{}
	for _, s := range during {
		duringIDs[s.SpanContext().TraceID().String()] = true
	}
	for _, r := range rd.records {
		if duringIDs[r.PartitionKey] {
			stale = append(stale, r)
		} else {
			stable.records = append(stable.records, r)
		}
	}
	res := checkByShard(t, stable, append(append([]sdktrace.ReadOnlySpan(nil), before...), after...), otelkinesis.EncodingProto, otelkinesis.CompressionNone)
	open := map[string]bool{}
	for _, id := range st.OpenShards() {
		open[id] = true
	}
	for _, s := range after {
		if sh := res.traceShard[s.SpanContext().TraceID().String()]; !open[sh] {
			t.Fatalf("a trace exported after the producer read the new map is on shard %s, not an open one", sh)
		}
	}
	// The stale records: each trace on one shard, every span once.
	staleShard := map[string]string{}
	got := map[string]placedSpan{}
	for _, r := range stale {
		flatten(t, r.tel.Traces.ResourceSpans, got)
		for tid := range traceIDs(r.tel.Traces.ResourceSpans) {
			if !duringIDs[tid] {
				t.Fatalf("user record keyed by trace %s of the stale export holds trace %s of another", r.PartitionKey, tid)
			}
			if prev, ok := staleShard[tid]; ok && prev != r.shard {
				t.Errorf("trace %s on shards %s and %s", tid, prev, r.shard)
			}
			staleShard[tid] = r.shard
		}
	}
	if len(got) != len(during) {
		t.Errorf("read %d spans of the export under the stale map, want %d", len(got), len(during))
	}
	off := 0
	for tid, sh := range staleShard {
		if !rd.ranges[sh].Contains(aggregation.HashPartitionKey(tid)) {
			off++
		}
	}
	t.Logf("%d spans; under the stale map %d of %d traces landed off their trace ID's shard; %d Kinesis records discarded by the KCL rule and sent again",
		len(all), off, len(staleShard), rd.discarded)
}
