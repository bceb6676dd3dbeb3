package log_test

import (
	"context"
	"fmt"
	stdlog "log"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
)

func TestMain(m *testing.M) {
	benchendpoint.MaybeServe() // when a benchmark runs this binary as its endpoint
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// tee hands every batch to the official exporter (the oracle) and then to ours, with a
// context the processor cannot cancel halfway.
type tee struct {
	*kinesislog.Exporter
	official sdklog.Exporter
}

func (t tee) Export(ctx context.Context, records []sdklog.Record) error {
	ctx = context.WithoutCancel(ctx)
	if err := t.official.Export(ctx, records); err != nil {
		return err
	}
	return t.Exporter.Export(ctx, records)
}

// emit logs n records of every body kind, half of them inside a span.
func emit(lp *sdklog.LoggerProvider, n int) {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	lg := lp.Logger("example.com/shop", otellog.WithInstrumentationVersion("1.0"), otellog.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))
	bodies := []attribute.Value{
		attribute.StringValue("order placed é"), attribute.Int64Value(42), attribute.Float64Value(1.5), attribute.BoolValue(true),
		attribute.ByteSliceValue([]byte{0, 1, 2}), attribute.SliceValue(attribute.StringValue("a"), attribute.IntValue(1)),
		attribute.MapValue(attribute.String("k", "v"), attribute.Map("nested", attribute.Slice("s", attribute.BoolValue(false)))),
		attribute.StringSliceValue([]string{"x", "y"}), {},
	}
	for i := 0; i < n; i++ {
		c := ctx
		sctx, sp := tp.Tracer("t").Start(ctx, "op")
		if i%2 == 0 {
			c = sctx
		}
		var r otellog.Record
		r.SetTimestamp(time.Unix(1_700_000_000, int64(i)))
		r.SetObservedTimestamp(time.Unix(1_700_000_001, int64(i)))
		r.SetSeverity(otellog.Severity(1 + i%24))
		r.SetSeverityText(fmt.Sprintf("SEV%d", i%24))
		r.SetBody(bodies[i%len(bodies)])
		r.SetEventName(fmt.Sprintf("event.%d", i%3))
		r.AddAttributes(attribute.String("user", "u"), attribute.Int("i", i), attribute.Map("m", attribute.Bool("b", true)),
			attribute.Slice("sl", attribute.Float64Value(0.25)), attribute.ByteSlice("raw", []byte("x")))
		lg.Emit(c, r)
		sp.End()
	}
}

// TestRoundTrip logs every body and attribute kind through a LoggerProvider with a batch
// processor into kinesalite and kinesis-local, reads the stream back and checks the log
// records are exactly those otlploghttp sent for the same batches, field for field, and
// that records of one trace share a shard.
func TestRoundTrip(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
			for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone, otelkinesis.CompressionZstd} {
				t.Run(fmt.Sprintf("%s/%s/%s", peer.Name, enc, comp), func(t *testing.T) {
					t.Parallel()
					roundTrip(t, peer, enc, comp)
				})
			}
		}
	}
}

func roundTrip(t *testing.T, peer testpeers.Peer, enc otelkinesis.Encoding, comp otelkinesis.Compression) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)
	exp, err := kinesislog.New(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client),
		otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp), otelkinesis.WithFlushInterval(20*time.Millisecond),
		otelkinesis.WithRequestTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sink := exportertest.NewSink(t, func() *collogspb.ExportLogsServiceRequest { return &collogspb.ExportLogsServiceRequest{} })
	official, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(sink.URL+"/v1/logs"))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "shop"))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(tee{exp, official}, sdklog.WithExportMaxBatchSize(100))))
	emit(lp, 1000)
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	want := map[string]int{}
	for _, r := range sink.Requests() {
		for k, n := range teststream.Multiset(teststream.LogRecords(r)) {
			want[k] += n
		}
	}
	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	shardOf := map[string]string{}
	total := 0
	for _, r := range recs {
		if r.Telemetry.Logs == nil {
			t.Fatalf("user record tagged %+v, want logs", r.Telemetry.Format)
		}
		keys := teststream.LogRecords(r.Telemetry.Logs)
		total += len(keys)
		for k, n := range teststream.Multiset(keys) {
			got[k] += n
		}
		if prev, ok := shardOf[r.PartitionKey]; ok && prev != r.Shard {
			t.Errorf("key %s on shards %s and %s", r.PartitionKey, prev, r.Shard)
		}
		shardOf[r.PartitionKey] = r.Shard
	}
	if total != 1000 {
		t.Errorf("read %d log records, want 1000", total)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("a log record otlploghttp sent %d times arrived %d times", n, got[k])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d distinct log records read, otlploghttp sent %d", len(got), len(want))
	}
	t.Logf("%d log records in %d user records under %d keys, equal to otlploghttp's", total, len(recs), len(shardOf))
}

func newTestExporter(t *testing.T, opts ...kinesislog.Option) (*kinesistest.Server, *kinesislog.Exporter) {
	t.Helper()
	srv, base := exportertest.Kinesis[kinesislog.Option](t, "logs")
	exp, err := kinesislog.New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, exp
}

// records returns n SDK log records, captured through a LoggerProvider.
func records(n int) []sdklog.Record {
	var c capture
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(&c))
	lg := lp.Logger("t")
	for i := 0; i < n; i++ {
		var r otellog.Record
		r.SetBody(attribute.IntValue(i))
		lg.Emit(context.Background(), r)
	}
	return c.recs
}

// capture is a processor keeping clones of what is emitted.
type capture struct{ recs []sdklog.Record }

func (c *capture) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.recs = append(c.recs, r.Clone())
	return nil
}
func (c *capture) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *capture) Shutdown(context.Context) error                         { return nil }
func (c *capture) ForceFlush(context.Context) error                       { return nil }

func countLogs(t *testing.T, srv *kinesistest.Server) int {
	return exportertest.ReadCount(t, srv, "logs", func(r teststream.Record) int { return len(teststream.LogRecords(r.Telemetry.Logs)) })
}

// TestSurvivesFaults: throttled entries and failing requests lose no log record.
func TestSurvivesFaults(t *testing.T) {
	srv, exp := newTestExporter(t, otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom), otelkinesis.WithAggregateBatchCount(2))
	var mu sync.Mutex
	seen := 0
	srv.InjectEntryFunc(func(kinesistest.EntryInfo) kinesistest.EntryFault {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen%5 == 1 { // every fifth entry throttled
			return kinesistest.EntryThrottled
		}
		return kinesistest.EntryOK
	})
	batch := records(100)
	exportertest.SurvivesFaults(t, srv, 20, func(ctx context.Context) error { return exp.Export(ctx, batch) }, exp.Shutdown,
		func() int { return countLogs(t, srv) }, 2000)
}

// TestPermanentFailure: AccessDenied fails fast and Shutdown reports the drop.
func TestPermanentFailure(t *testing.T) {
	srv, exp := newTestExporter(t)
	exportertest.PermanentFailure(t, srv, func(ctx context.Context) error { return exp.Export(ctx, records(10)) }, exp.Shutdown)
}

// TestShutdownSemantics: after Shutdown, Export returns ErrExporterShutdown; Shutdown and
// ForceFlush return nil.
func TestShutdownSemantics(t *testing.T) {
	_, exp := newTestExporter(t)
	exportertest.ShutdownSemantics(t, func(ctx context.Context) error { return exp.Export(ctx, records(1)) }, exp.Shutdown, exp.ForceFlush,
		sdklog.ErrExporterShutdown, nil)
}

// TestConcurrentSafe: Export, ForceFlush and Shutdown from many goroutines (run with
// -race -count=20).
func TestConcurrentSafe(t *testing.T) {
	_, exp := newTestExporter(t)
	batch := records(20)
	exportertest.ConcurrentSafe(t, func(ctx context.Context) error { return exp.Export(ctx, batch) }, exp.ForceFlush, exp.Shutdown,
		sdklog.ErrExporterShutdown, otelkinesis.ErrShutdown)
}

// Wire the exporter into a LoggerProvider with a batch processor. The stream here is an
// in-process kinesistest endpoint; against AWS, set only the stream and the region.
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("telemetry", 2); err != nil {
		stdlog.Fatal(err)
	}
	ctx := context.Background()
	exp, err := kinesislog.New(ctx,
		otelkinesis.WithStreamName("telemetry"),
		otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()),
	)
	if err != nil {
		stdlog.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	var r otellog.Record
	r.SetSeverity(otellog.SeverityInfo)
	r.SetBody(attribute.StringValue("order placed"))
	lp.Logger("example").Emit(ctx, r)

	// Shutdown flushes the batch processor into the exporter and shuts the exporter down,
	// which delivers everything it holds.
	if err := lp.Shutdown(ctx); err != nil {
		stdlog.Fatal(err)
	}
	fmt.Println("Kinesis records on the stream:", len(srv.Stream("telemetry").AllRecords()))
	// Output: Kinesis records on the stream: 1
}
