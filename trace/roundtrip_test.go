package trace_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// oracleClient is an otlptrace.Client that keeps what otlptrace's own SDK→OTLP transform
// produced: the reference our encoder must equal.
type oracleClient struct {
	mu sync.Mutex
	rs []*tracepb.ResourceSpans
}

func (c *oracleClient) Start(context.Context) error { return nil }
func (c *oracleClient) Stop(context.Context) error  { return nil }
func (c *oracleClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rs = append(c.rs, rs...)
	return nil
}

// placedSpan is one span with the resource and scope it was written under.
type placedSpan struct {
	resource *tracepb.ResourceSpans // Resource and SchemaUrl only
	scope    *tracepb.ScopeSpans    // Scope and SchemaUrl only
	span     *tracepb.Span
}

func spanKey(s *tracepb.Span) string {
	return hex.EncodeToString(s.TraceId) + "/" + hex.EncodeToString(s.SpanId)
}

// flatten indexes the spans of rss by trace and span ID, failing on a duplicate.
func flatten(t *testing.T, rss []*tracepb.ResourceSpans, into map[string]placedSpan) {
	t.Helper()
	for _, rs := range rss {
		res := &tracepb.ResourceSpans{Resource: rs.Resource, SchemaUrl: rs.SchemaUrl}
		for _, ss := range rs.ScopeSpans {
			sc := &tracepb.ScopeSpans{Scope: ss.Scope, SchemaUrl: ss.SchemaUrl}
			for _, sp := range ss.Spans {
				k := spanKey(sp)
				if _, dup := into[k]; dup {
					t.Errorf("span %s read more than once", k)
				}
				into[k] = placedSpan{res, sc, sp}
			}
		}
	}
}

// makeSpans produces n spans through two TracerProviders (two resources, two scopes each)
// with the attribute shapes of real instrumentation, exported both to exp and to a
// recorder, and returns what the recorder saw.
func makeSpans(t *testing.T, exp sdktrace.SpanExporter, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	var tps []*sdktrace.TracerProvider
	for i, svc := range []string{"checkout", "payments"} {
		res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
			attribute.String("service.name", svc), attribute.Int("service.instance", i), attribute.String("host.name", "h-é"))
		tps = append(tps, sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSpanProcessor(rec),
			sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBatchTimeout(50*time.Millisecond),
				sdktrace.WithMaxQueueSize(4096), sdktrace.WithBlocking()),
		))
	}
	perTrace := 20
	for i := 0; i < n/perTrace; i++ {
		tp := tps[i%2]
		tr := tp.Tracer(fmt.Sprintf("scope-%d", i%4/2), oteltrace.WithInstrumentationVersion("1.2.3"),
			oteltrace.WithSchemaURL("https://opentelemetry.io/schemas/1.25.0"))
		rctx, root := tr.Start(ctx, fmt.Sprintf("GET /orders/%d", i), oteltrace.WithSpanKind(oteltrace.SpanKindServer),
			oteltrace.WithAttributes(attribute.String("http.method", "GET"), attribute.Int("http.status_code", 200)))
		for j := 1; j < perTrace; j++ {
			_, sp := tr.Start(rctx, "db.query", oteltrace.WithSpanKind(oteltrace.SpanKindClient),
				oteltrace.WithLinks(oteltrace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.Bool("l", true)}}),
				oteltrace.WithAttributes(
					attribute.String("db.system", "postgresql"), attribute.String("db.statement", strings.Repeat("SELECT 1;", j)),
					attribute.Int64("rows", int64(j)), attribute.Float64("ratio", float64(j)/3), attribute.Bool("cached", j%2 == 0),
					attribute.StringSlice("tags", []string{"a", "b"}), attribute.Int64Slice("ids", []int64{1, 2, 3}),
					attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{true, false}),
					attribute.String("unicode", "日本語 ✓"),
				))
			sp.AddEvent("retry", oteltrace.WithAttributes(attribute.Int("attempt", j)))
			if j%7 == 0 {
				sp.SetStatus(codes.Error, "boom")
			}
			sp.End()
		}
		root.SetStatus(codes.Ok, "")
		root.End()
	}
	for _, tp := range tps {
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		// The caller shuts the exporter down and checks the result; the providers' own
		// Shutdown, at cleanup, only stops their goroutines (a second exporter Shutdown
		// returns the first one's result).
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	}
	return rec.Ended()
}

// oracle returns what otlptrace's transform makes of spans, with each link's trace state,
// which that transform leaves out and the exporter writes, set from the SDK's link.
func oracle(t *testing.T, spans []sdktrace.ReadOnlySpan) map[string]placedSpan {
	t.Helper()
	c := &oracleClient{}
	exp, err := otlptrace.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	out := map[string]placedSpan{}
	flatten(t, c.rs, out)
	for _, s := range spans {
		if len(s.Links()) == 0 {
			continue
		}
		sc := s.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		p, ok := out[spanKey(&tracepb.Span{TraceId: tid[:], SpanId: sid[:]})]
		if !ok || len(p.span.Links) != len(s.Links()) {
			t.Fatalf("span %s/%s: otlptrace did not write it with its %d links", tid, sid, len(s.Links()))
		}
		for i, l := range s.Links() {
			p.span.Links[i].TraceState = l.SpanContext.TraceState().String()
		}
	}
	return out
}

// TestRoundTrip exports spans through a TracerProvider into kinesalite and kinesis-local,
// with 10,000 spans in every encoding and compression, reads the stream back and checks
// that every span arrived exactly once, equal field by field to what otlptrace makes of
// it, under the right resource and scope, each trace whole on one shard, each user record
// keyed by its one trace ID and tagged as it should be.
func TestRoundTrip(t *testing.T) {
	eachFormat(t, 10000, roundTrip)
}

// eachFormat runs test in parallel subtests for each emulator, encoding and compression,
// each with n spans.
func eachFormat(t *testing.T, n int, test func(t *testing.T, peer testpeers.Peer, enc otelkinesis.Encoding, comp otelkinesis.Compression, n int)) {
	for _, peer := range testpeers.Emulators(t) {
		for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
			for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone, otelkinesis.CompressionGzip, otelkinesis.CompressionZstd} {
				t.Run(fmt.Sprintf("%s/%s/%s", peer.Name, enc, comp), func(t *testing.T) {
					t.Parallel()
					test(t, peer, enc, comp, n)
				})
			}
		}
	}
}

func roundTrip(t *testing.T, peer testpeers.Peer, enc otelkinesis.Encoding, comp otelkinesis.Compression, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, stream, spans := exportThrough(t, ctx, peer, 2, n, otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp))
	want := oracle(t, spans)

	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]placedSpan{}
	shardOfTrace := map[string]string{}
	wantContentType, wantEncoding := contentTypes[enc], contentEncodings[comp]
	for _, r := range recs {
		f := r.Telemetry.Format
		if f.Signal != "traces" || f.ContentType != wantContentType || f.ContentEncoding != wantEncoding {
			t.Fatalf("user record tagged %+v, want traces/%s/%q", f, wantContentType, wantEncoding)
		}
		if !r.Aggregated {
			t.Errorf("user record %q was not aggregated", r.PartitionKey)
		}
		before := len(got)
		flatten(t, r.Telemetry.Traces.ResourceSpans, got)
		traces := traceIDs(r.Telemetry.Traces.ResourceSpans)
		if len(traces) != 1 || !traces[r.PartitionKey] {
			t.Errorf("user record keyed %q holds traces %v, want exactly that one", r.PartitionKey, traces)
		}
		if len(got) == before {
			t.Errorf("user record %q holds no spans", r.PartitionKey)
		}
		if prev, ok := shardOfTrace[r.PartitionKey]; ok && prev != r.Shard {
			t.Errorf("trace %s on shards %s and %s", r.PartitionKey, prev, r.Shard)
		}
		shardOfTrace[r.PartitionKey] = r.Shard
	}
	shards := map[string]bool{}
	for _, s := range shardOfTrace {
		shards[s] = true
	}
	if len(shards) != 2 {
		t.Errorf("traces landed on %d shards, want both", len(shards))
	}
	compareSpans(t, got, want)
	t.Logf("%d spans in %d user records over %d traces", len(got), len(recs), len(shardOfTrace))
}

// exportThrough creates a stream of the given shards on peer, exports n spans into it
// through TracerProviders (makeSpans) and an exporter with opts, shuts the exporter down,
// and returns the client, the stream's name and the spans.
func exportThrough(t *testing.T, ctx context.Context, peer testpeers.Peer, shards int32, n int, opts ...kinesistrace.Option) (*kinesis.Client, string, []sdktrace.ReadOnlySpan) {
	t.Helper()
	return exportThroughWith(t, ctx, peer, shards, n, makeSpans, opts...)
}

// exportThroughWith is exportThrough with the spans made by makeSpans.
func exportThroughWith(t *testing.T, ctx context.Context, peer testpeers.Peer, shards int32, n int,
	makeSpans func(*testing.T, sdktrace.SpanExporter, int) []sdktrace.ReadOnlySpan, opts ...kinesistrace.Option) (*kinesis.Client, string, []sdktrace.ReadOnlySpan) {
	t.Helper()
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, shards)
	exp, err := kinesistrace.New(ctx, append([]kinesistrace.Option{otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client),
		otelkinesis.WithFlushInterval(20 * time.Millisecond),
		// The emulators are slow with large requests on a busy machine: smaller requests and a
		// longer timeout keep a slow answer from being retried (and its records stored twice).
		otelkinesis.WithBatchSize(1 << 20), otelkinesis.WithRequestTimeout(2 * time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	spans := makeSpans(t, exp, n)
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if len(spans) != n {
		t.Fatalf("recorded %d spans, want %d", len(spans), n)
	}
	return client, stream, spans
}

// compareSpans checks that got holds every span of want, and nothing else, each equal to
// its counterpart field by field, under an equal resource and scope.
func compareSpans(t *testing.T, got, want map[string]placedSpan) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("read %d distinct spans, want %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("span %s missing", k)
			bad++
		} else if !proto.Equal(g.span, w.span) || !proto.Equal(g.resource, w.resource) || !proto.Equal(g.scope, w.scope) {
			t.Errorf("span %s differs:\n got %v\n     %v %v\nwant %v\n     %v %v", k, g.span, g.resource, g.scope, w.span, w.resource, w.scope)
			bad++
		}
		if bad > 5 {
			t.Fatal("too many differences")
		}
	}
}

// makeLinkedSpans produces n spans through a TracerProvider exporting to exp and to a
// recorder, and returns what the recorder saw: traces of 10 spans continuing a remote
// parent that carries a trace state (which every span of the trace then has), each child
// linked to a remote span context with a trace state of its own, some of them needing
// JSON escapes, and to one without.
func makeLinkedSpans(t *testing.T, exp sdktrace.SpanExporter, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "consumer"))),
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBatchTimeout(50*time.Millisecond),
			sdktrace.WithMaxQueueSize(4096), sdktrace.WithBlocking()),
	)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer("links")
	remote := func(i, j int, state string) oteltrace.SpanContext {
		ts, err := oteltrace.ParseTraceState(state)
		if err != nil {
			t.Fatal(err)
		}
		return oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
			TraceID: oteltrace.TraceID{0xa5, byte(i >> 8), byte(i), byte(j), 1}, SpanID: oteltrace.SpanID{byte(i >> 8), byte(i), byte(j), 2},
			TraceFlags: oteltrace.FlagsSampled, TraceState: ts, Remote: true,
		})
	}
	const perTrace = 10
	for i := 0; i < n/perTrace; i++ {
		parent := remote(i, 0, fmt.Sprintf("ot=th:%x,tenant%d@vendor=p%d", i%16, i%3, i))
		rctx, root := tr.Start(oteltrace.ContextWithRemoteSpanContext(ctx, parent), fmt.Sprintf("consume %d", i),
			oteltrace.WithSpanKind(oteltrace.SpanKindConsumer))
		for j := 1; j < perTrace; j++ {
			state := fmt.Sprintf("vendor=v%d-%d,congo=t61rcWkgMzE", i, j)
			if j%3 == 0 {
				state = `q=say "hi",w=back\slash`
			}
			_, sp := tr.Start(rctx, "handle", oteltrace.WithLinks(
				oteltrace.Link{SpanContext: remote(i, j, state), Attributes: []attribute.KeyValue{attribute.Int("j", j)}},
				oteltrace.Link{SpanContext: remote(i, j+100, "")},
			))
			sp.End()
		}
		root.End()
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.Ended()
}

// TestRoundTripLinkTraceState exports spans whose links carry trace states through
// kinesalite and kinesis-local, in every encoding and compression, reads the stream back
// and decodes each user record with the official OTLP messages (proto.Unmarshal, or
// protojson once the hex IDs are base64): every link's trace state, and every span's own,
// is the SDK's. The consumer's reading of the same records equals otlptrace's transform
// with the links' trace states added.
func TestRoundTripLinkTraceState(t *testing.T) {
	eachFormat(t, 1000, roundTripLinkTraceState)
}

func roundTripLinkTraceState(t *testing.T, peer testpeers.Peer, enc otelkinesis.Encoding, comp otelkinesis.Compression, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, stream, spans := exportThroughWith(t, ctx, peer, 2, n, makeLinkedSpans,
		otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp))
	sdk := map[string]sdktrace.ReadOnlySpan{}
	wantStates := 0
	for _, s := range spans {
		sc := s.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		sdk[spanKey(&tracepb.Span{TraceId: tid[:], SpanId: sid[:]})] = s
		for _, l := range s.Links() {
			if l.SpanContext.TraceState().Len() > 0 {
				wantStates++
			}
		}
	}
	if wantStates == 0 {
		t.Fatal("no link has a trace state")
	}

	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	gotStates := 0
	got := map[string]placedSpan{}
	for _, r := range recs {
		var req coltracepb.ExportTraceServiceRequest
		data := decompress(t, r.Data, comp)
		if enc == otelkinesis.EncodingJSON {
			err = unmarshalOTLPJSON(data, &req)
		} else {
			err = proto.Unmarshal(data, &req)
		}
		if err != nil {
			t.Fatalf("user record %q: %v", r.PartitionKey, err)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					k := spanKey(sp)
					s, ok := sdk[k]
					if !ok || seen[k] {
						t.Fatalf("span %s was not exported, or was read twice", k)
					}
					seen[k] = true
					if want := s.SpanContext().TraceState().String(); sp.TraceState != want {
						t.Errorf("span %s: trace state %q, want %q", k, sp.TraceState, want)
					}
					if len(sp.Links) != len(s.Links()) {
						t.Fatalf("span %s: %d links, want %d", k, len(sp.Links), len(s.Links()))
					}
					for i, l := range s.Links() {
						gl, tid, sid := sp.Links[i], l.SpanContext.TraceID(), l.SpanContext.SpanID()
						want := l.SpanContext.TraceState().String()
						if !bytes.Equal(gl.TraceId, tid[:]) || !bytes.Equal(gl.SpanId, sid[:]) || gl.TraceState != want {
							t.Errorf("span %s link %d: %x/%x trace state %q, want %s/%s %q", k, i, gl.TraceId, gl.SpanId, gl.TraceState, tid, sid, want)
						}
						if gl.TraceState != "" {
							gotStates++
						}
					}
				}
			}
		}
		flatten(t, r.Telemetry.Traces.ResourceSpans, got)
	}
	if len(seen) != n || gotStates != wantStates {
		t.Errorf("read %d spans with %d link trace states, want %d with %d", len(seen), gotStates, n, wantStates)
	}
	compareSpans(t, got, oracle(t, spans))
}

// unmarshalOTLPJSON reads OTLP/JSON into m with protojson, which reads the same mapping
// but for trace and span IDs: base64 there, hex in OTLP/JSON.
func unmarshalOTLPJSON(data []byte, m proto.Message) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	var rewrite func(v any) error
	rewrite = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
					b, err := hex.DecodeString(s)
					if err != nil {
						return fmt.Errorf("%s %q: %w", k, s, err)
					}
					v[k] = base64.StdEncoding.EncodeToString(b)
				} else if err := rewrite(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range v {
				if err := rewrite(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := rewrite(v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(b, m)
}
