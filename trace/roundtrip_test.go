package trace_test

import (
	"context"
	"encoding/hex"
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
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
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

// oracle returns what otlptrace's transform makes of spans.
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
