package trace_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// newFaultyExporter starts kinesistest with a 4-shard stream and an exporter on it with
// short backoffs.
func newFaultyExporter(t *testing.T, opts ...kinesistrace.Option) (*kinesistest.Server, *kinesistrace.Exporter, string) {
	t.Helper()
	const stream = "traces"
	srv, base := exportertest.Kinesis[kinesistrace.Option](t, stream)
	exp, err := kinesistrace.New(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, exp, stream
}

// readSpans reads the stream back from srv and counts each span by trace/span ID.
func readSpans(t *testing.T, srv *kinesistest.Server, stream string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, r := range exportertest.Read(t, srv, stream) {
		for _, rs := range r.Telemetry.Traces.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					seen[spanKey(sp)]++
				}
			}
		}
	}
	return seen
}

// TestSurvivesFaults: with a fifth of the entries throttled, some failing internally,
// 503s, throttled requests and dropped connections, every span arrives exactly once
// within the retry budget.
func TestSurvivesFaults(t *testing.T) {
	srv, exp, stream := newFaultyExporter(t)
	srv.InjectEntryRate(kinesistest.EntryThrottled, 0.2, 1)
	srv.InjectRequests(2, kinesistest.ServiceUnavailable(), "PutRecords")
	srv.InjectRequests(2, kinesistest.Throttling(), "PutRecords")
	srv.InjectRequests(2, kinesistest.KMSThrottling(), "PutRecords")
	srv.InjectRequests(2, kinesistest.DropConnection(), "PutRecords")
	spans := makeSpans(t, exp, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	seen := readSpans(t, srv, stream)
	for _, s := range spans {
		k := s.SpanContext().TraceID().String() + "/" + s.SpanContext().SpanID().String()
		if seen[k] != 1 {
			t.Fatalf("span %s arrived %d times, want once", k, seen[k])
		}
	}
	st := srv.Stats()
	if st.RecordsThrottled == 0 || st.InjectedFaults < 8 {
		t.Errorf("faults did not happen: %+v", st)
	}
	t.Logf("server: %+v", st)
}

// TestPermanentFailure: a stream that refuses every PutRecords with AccessDenied fails
// fast: Shutdown reports the drop, otel.Handle hears of it with the number of spans lost,
// and the exporter does not retry (a bounded number of requests).
func TestPermanentFailure(t *testing.T) {
	var mu sync.Mutex
	var handled []error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		handled = append(handled, err)
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })

	srv, exp, _ := newFaultyExporter(t)
	srv.InjectRequests(1000, kinesistest.AccessDenied(), "PutRecords")
	makeSpans(t, exp, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := exp.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "traces") {
		t.Fatalf("Shutdown = %v, want the AccessDenied drop naming the stream", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v: permanent errors must fail fast", d)
	}
	if n := len(srv.RequestsFor("PutRecords")); n > 20 {
		t.Errorf("%d PutRecords requests for a permanent error: a retry storm", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// The producer counts the dropped spans as the telemetry items of its user
	// records; they may be spread over several requests (one per shard batch), so
	// the drops reported must add up to every span.
	var items int64
	for _, e := range handled {
		var d *kpl.DropError
		if errors.As(e, &d) && strings.Contains(d.Error(), "AccessDenied") {
			items += d.Items
		}
	}
	if items != 200 {
		t.Errorf("otel.Handle heard of %d dropped spans, want 200: %v", items, handled)
	}
}

// TestExportAfterShutdown: ExportSpans after Shutdown returns ErrShutdown, and Shutdown is
// idempotent.
func TestExportAfterShutdown(t *testing.T) {
	_, exp, _ := newFaultyExporter(t)
	ctx := context.Background()
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	stub := tracetestSpans(1)
	if err := exp.ExportSpans(ctx, stub); !errors.Is(err, kinesistrace.ErrShutdown) {
		t.Fatalf("ExportSpans after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestExportHonoursContext: with the endpoint stalled and a tiny backlog, ExportSpans
// returns when its context ends, naming the spans it could not hand over.
func TestExportHonoursContext(t *testing.T) {
	srv, exp, _ := newFaultyExporter(t, otelkinesis.WithBacklogCount(1), otelkinesis.WithAggregateBatchCount(1))
	srv.InjectRequestFunc(func(r kinesistest.RequestInfo) (kinesistest.Fault, bool) {
		return kinesistest.Stall(), r.Operation == "PutRecords"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var spans []sdktrace.ReadOnlySpan
	for i := 0; i < 50; i++ {
		spans = append(spans, tracetestSpans(1)...) // 50 traces: 50 user records
	}
	err := exp.ExportSpans(ctx, spans)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "spans not exported") {
		t.Fatalf("ExportSpans = %v, want the deadline and a count of spans not exported", err)
	}
	srv.ClearFaults()
	srv.Release()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	_ = exp.Shutdown(sctx)
}

// TestConcurrentSafe: ExportSpans, ForceFlush and Shutdown from many goroutines at once.
// Run with -race -count=20 to shake out ordering bugs.
func TestConcurrentSafe(t *testing.T) {
	_, exp, _ := newFaultyExporter(t)
	batch := tracetestSpans(10)
	exportertest.ConcurrentSafe(t, func(ctx context.Context) error { return exp.ExportSpans(ctx, batch) }, exp.ForceFlush, exp.Shutdown,
		kinesistrace.ErrShutdown)
}

// tracetestSpans returns n ended spans of one trace.
func tracetestSpans(n int) []sdktrace.ReadOnlySpan {
	rec := newRecorderProvider()
	tr := rec.tp.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	for i := 1; i < n; i++ {
		_, s := tr.Start(ctx, "child")
		s.End()
	}
	root.End()
	return rec.rec.Ended()
}

// TestOversizeSpanDropped: on a stream whose records may hold 1 MiB, a span of 1.2 MB is
// dropped and named (trace ID, span ID, size, limit) in ExportSpans' error, while the
// other spans of the batch are delivered.
func TestOversizeSpanDropped(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("small", 2, kinesistest.WithMaxRecordSizeKiB(1024)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName("small"), otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorderProvider()
	tr := rec.tp.Tracer("t")
	_, big := tr.Start(ctx, "big", oteltrace.WithAttributes(attribute.String("blob", strings.Repeat("x", 1_200_000))))
	big.End()
	for i := 0; i < 5; i++ {
		_, s := tr.Start(ctx, "small")
		s.End()
	}
	spans := rec.rec.Ended()
	err = exp.ExportSpans(ctx, spans)
	bigCtx := big.SpanContext()
	if err == nil || !strings.Contains(err.Error(), bigCtx.TraceID().String()) || !strings.Contains(err.Error(), bigCtx.SpanID().String()) {
		t.Fatalf("ExportSpans = %v, want the big span named", err)
	}
	// The size named is that of a record holding the span alone: at least its blob, and
	// over the limit named with it.
	m := regexp.MustCompile(`would take (\d+) bytes, over the record size limit of (\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("ExportSpans = %v, want the span's size and the limit", err)
	}
	size, _ := strconv.Atoi(m[1])
	limit, _ := strconv.Atoi(m[2])
	if size < 1_200_000 || size > 1_201_000 || limit >= size || limit > 1<<20 {
		t.Errorf("dropped span reported at %d bytes over a limit of %d, want about 1,200,000 over at most 1 MiB", size, limit)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	seen := readSpans(t, srv, "small")
	if len(seen) != 5 {
		t.Fatalf("read %d spans, want the 5 small ones", len(seen))
	}
	if _, ok := seen[bigCtx.TraceID().String()+"/"+bigCtx.SpanID().String()]; ok {
		t.Fatal("the oversize span arrived")
	}
}

// TestFullBudgetPolicy: while the producer's budget is full (the endpoint stalled),
// ExportSpans waits until its context ends, then drops what it could not hand over, says
// how many in its error and counts them as not_accepted; what it handed over is held and
// delivered once the endpoint answers again. Handed plus dropped is every span.
func TestFullBudgetPolicy(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	srv, exp, stream := newFaultyExporter(t, otelkinesis.WithBacklogCount(3), otelkinesis.WithAggregateBatchCount(1),
		otelkinesis.WithMaxConnections(1), otelkinesis.WithMeterProvider(mp))
	srv.InjectRequestFunc(func(r kinesistest.RequestInfo) (kinesistest.Fault, bool) {
		return kinesistest.Stall(), r.Operation == "PutRecords"
	})
	var spans []sdktrace.ReadOnlySpan
	for range 40 {
		spans = append(spans, tracetestSpans(1)...) // 40 traces: 40 user records
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := exp.ExportSpans(ctx, spans)
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("ExportSpans returned after %v, before its context ended", waited)
	}
	m := regexp.MustCompile(`(\d+) of 40 spans not exported`).FindStringSubmatch(fmt.Sprint(err))
	if !errors.Is(err, context.DeadlineExceeded) || m == nil {
		t.Fatalf("ExportSpans = %v, want the deadline and how many of the 40 spans were not exported", err)
	}
	notExported, _ := strconv.Atoi(m[1])
	if notExported == 0 || notExported == 40 {
		t.Fatalf("%d of 40 not exported: the budget held none or all", notExported)
	}
	if got := exportertest.Dropped(t, reader)["not_accepted/traces"]; got != int64(notExported) {
		t.Errorf("not_accepted counted %d, the error says %d", got, notExported)
	}
	srv.ClearFaults()
	srv.Release()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := exp.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	seen := readSpans(t, srv, stream)
	if len(seen) != 40-notExported {
		t.Errorf("%d spans stored, want the %d handed over", len(seen), 40-notExported)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("span %s stored %d times", k, n)
		}
	}
}
