package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	"github.com/otelkinesis/otelkinesis/sdk"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// emit starts n traces on tel (exportertest.Emit) and returns their trace IDs.
func emit(ctx context.Context, t *testing.T, tel *sdk.Providers, n int) map[string]bool {
	t.Helper()
	return exportertest.Emit(ctx, t, tel.TracerProvider(), tel.MeterProvider(), tel.LoggerProvider(), n)
}

// counts is what a stream holds, by signal.
type counts struct {
	spans, points, logs int
	spanShard, logShard map[string]string // by trace ID
	formats             map[string]string // content type by signal
}

func count(t *testing.T, recs []teststream.Record) counts {
	t.Helper()
	c := counts{spanShard: map[string]string{}, logShard: map[string]string{}, formats: map[string]string{}}
	for _, r := range recs {
		tel := r.Telemetry
		switch {
		case tel.Traces != nil:
			c.formats["traces"] = tel.Format.ContentType
			for _, rs := range tel.Traces.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					c.spans += len(ss.Spans)
					for _, s := range ss.Spans {
						c.spanShard[fmt.Sprintf("%x", s.TraceId)] = r.Shard
					}
				}
			}
		case tel.Metrics != nil:
			c.formats["metrics"] = tel.Format.ContentType
			c.points += len(teststream.DataPoints(tel.Metrics))
		case tel.Logs != nil:
			c.formats["logs"] = tel.Format.ContentType
			for _, rl := range tel.Logs.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					c.logs += len(sl.LogRecords)
					for _, l := range sl.LogRecords {
						c.logShard[fmt.Sprintf("%x", l.TraceId)] = r.Shard
					}
				}
			}
		}
	}
	return c
}

// checkAll checks that recs hold every span, data point and log record of the traces ids
// (n traces, a counter over 4 routes), and each trace's logs on its spans' shard.
func checkAll(t *testing.T, recs []teststream.Record, ids map[string]bool) counts {
	t.Helper()
	c := count(t, recs)
	if c.spans != len(ids) || c.points != 4 || c.logs != len(ids) {
		t.Fatalf("read %d spans, %d data points, %d log records; want %d, 4, %d", c.spans, c.points, c.logs, len(ids), len(ids))
	}
	for id := range ids {
		if c.spanShard[id] == "" || c.logShard[id] != c.spanShard[id] {
			t.Errorf("trace %s: spans on shard %q, logs on %q", id, c.spanShard[id], c.logShard[id])
		}
	}
	return c
}

// TestOneProducer: New checks the stream once (one DescribeStreamSummary, one ListShards:
// one producer), the three signals arrive on the one stream, each trace's log records on
// its spans' shard, and Shutdown stops everything (TestMain checks no goroutine is left).
func TestOneProducer(t *testing.T) {
	srv, opts := exportertest.Kinesis[sdk.Option](t, "telemetry")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tel, err := sdk.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"DescribeStreamSummary", "ListShards"} {
		if n := len(srv.RequestsFor(op)); n != 1 {
			t.Errorf("%d %s requests at setup, want 1: one producer", n, op)
		}
	}
	ids := emit(ctx, t, tel, 40)
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c := checkAll(t, exportertest.Read(t, srv, "telemetry"), ids)
	for _, signal := range []string{"traces", "metrics", "logs"} {
		if c.formats[signal] != "application/x-protobuf" {
			t.Errorf("%s written as %q, want protobuf", signal, c.formats[signal])
		}
	}
	if n := len(srv.RequestsFor("DescribeStreamSummary")); n != 1 {
		t.Errorf("%d DescribeStreamSummary requests in all, want 1", n)
	}
}

// TestKinesalite is TestOneProducer on kinesalite, a real Kinesis emulator, through the
// AWS SDK's client that New builds from an endpoint and an AWS configuration.
func TestKinesalite(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tel, err := sdk.New(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithEndpointURL(peer.Endpoint),
		otelkinesis.WithAWSConfig(testpeers.Config(peer.Endpoint)), otelkinesis.WithFlushInterval(20*time.Millisecond),
		sdk.WithResource(resource.NewSchemaless(attribute.String("service.name", "kinesalite-check"))))
	if err != nil {
		t.Fatal(err)
	}
	ids := emit(ctx, t, tel, 30)
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, recs, ids)
}

// TestOptions: the SDK's options and the per-exporter options reach what they configure:
// the resource of all three providers, the sampler, the reader's interval (metrics
// arrive with no flush), an encoding for metrics alone, and ForceFlush delivers before
// Shutdown.
func TestOptions(t *testing.T) {
	srv, opts := exportertest.Kinesis[sdk.Option](t, "telemetry")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	tel, err := sdk.New(ctx, append(opts,
		sdk.WithResource(res),
		sdk.WithTracerProviderOptions(sdktrace.WithSampler(sdktrace.AlwaysSample())),
		sdk.WithBatchSpanProcessorOptions(sdktrace.WithMaxExportBatchSize(7)),
		sdk.WithPeriodicReaderOptions(sdkmetric.WithInterval(50*time.Millisecond)),
		sdk.WithMetricExporterOptions(otelkinesis.WithEncoding(otelkinesis.EncodingJSON),
			kinesismetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector)),
		sdk.WithTraceExporterOptions(kinesistrace.WithPartitionKey(func(sdktrace.ReadOnlySpan) string { return "one-key" })),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)

	counter, _ := tel.MeterProvider().Meter("m").Int64Counter("c")
	counter.Add(ctx, 3)
	// The reader's 50 ms interval exports without a flush.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := count(t, exportertest.Read(t, srv, "telemetry")); c.points > 0 {
			if c.formats["metrics"] != "application/json" {
				t.Errorf("metrics written as %q, want application/json", c.formats["metrics"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no metrics on the stream 10s after the increment: the reader's interval was not applied")
		}
		time.Sleep(20 * time.Millisecond)
	}

	tracer := tel.TracerProvider().Tracer("t")
	for range 10 {
		_, span := tracer.Start(ctx, "op")
		span.End()
	}
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	var spans int
	for _, r := range exportertest.Read(t, srv, "telemetry") {
		if tr := r.Telemetry.Traces; tr != nil {
			if r.PartitionKey != "one-key" {
				t.Errorf("span record keyed %q, want the partition function's key", r.PartitionKey)
			}
			if r.Telemetry.Format.ContentType != "application/x-protobuf" {
				t.Errorf("spans written as %q, want protobuf (the JSON encoding was for metrics)", r.Telemetry.Format.ContentType)
			}
			for _, rs := range tr.ResourceSpans {
				if got := fmt.Sprint(rs.GetResource().GetAttributes()); !strings.Contains(got, "checkout") {
					t.Errorf("span resource %s, want service.name checkout", got)
				}
				for _, ss := range rs.ScopeSpans {
					spans += len(ss.Spans)
				}
			}
		}
	}
	if spans != 10 {
		t.Errorf("%d spans on the stream after ForceFlush, want 10", spans)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownTwice: Shutdown may be called again, and concurrently: every call returns
// the first one's result; ForceFlush afterwards does nothing; telemetry after it is not
// exported and nothing panics.
func TestShutdownTwice(t *testing.T) {
	srv, opts := exportertest.Kinesis[sdk.Option](t, "telemetry")
	ctx := context.Background()
	tel, err := sdk.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	emit(ctx, t, tel, 5)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = tel.Shutdown(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Shutdown call %d: %v", i, err)
		}
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown after Shutdown: %v", err)
	}
	if err := tel.ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush after Shutdown: %v", err)
	}
	before := len(srv.RequestsFor("PutRecords"))
	emit(ctx, t, tel, 5)
	if err := tel.Producer().Put(ctx, "k", "", []byte("x"), nil); !errors.Is(err, otelkinesis.ErrShutdown) {
		t.Errorf("Put after Shutdown: %v, want ErrShutdown", err)
	}
	time.Sleep(50 * time.Millisecond)
	if after := len(srv.RequestsFor("PutRecords")); after != before {
		t.Errorf("%d PutRecords requests after Shutdown", after-before)
	}
}

// TestShutdownEndsByContext: with Kinesis unreachable and a context that ends, Shutdown
// returns by then, with every step's error joined, each line saying "otelkinesis:" once,
// and no goroutine left running.
func TestShutdownEndsByContext(t *testing.T) {
	srv, opts := exportertest.Kinesis[sdk.Option](t, "telemetry")
	tel, err := sdk.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartOutage(kinesistest.OutageUnanswered); err != nil {
		t.Fatal(err)
	}
	emit(context.Background(), t, tel, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = tel.Shutdown(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Shutdown took %v with a 300ms context", took)
	}
	if err == nil {
		t.Fatal("Shutdown with Kinesis unanswered and a 300ms context returned nil")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the error does not wrap the context's: %v", err)
	}
	onePrefix(t, err)
	if !strings.Contains(err.Error(), "otelkinesis: shutting down the producer: ") {
		t.Errorf("the error does not say the producer dropped what it held: %v", err)
	}
	srv.EndOutage()
}

// onePrefix checks that every line of err starts with "otelkinesis: " and says it once.
func onePrefix(t *testing.T, err error) {
	t.Helper()
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "otelkinesis: ") || strings.Count(line, "otelkinesis:") != 1 {
			t.Errorf("error line not prefixed with one otelkinesis: %q", line)
		}
	}
}

// TestNewErrors: every refusal of New starts with one "otelkinesis:", names what is
// wrong, and leaves nothing running (TestMain checks the goroutines).
func TestNewErrors(t *testing.T) {
	srv, opts := exportertest.Kinesis[sdk.Option](t, "telemetry")
	ctx := context.Background()
	exportertest.ClearEnv(t, "OTEL_EXPORTER_KINESIS_")
	cases := []struct {
		name string
		env  [2]string
		opts []sdk.Option
		want string
	}{
		{name: "no stream", opts: opts[1:], want: "otelkinesis: producer: no stream"},
		{name: "stream not found", opts: append([]sdk.Option{otelkinesis.WithStreamName("missing")}, opts[1:]...),
			want: "ResourceNotFoundException"},
		{name: "bad producer variable", env: [2]string{"OTEL_EXPORTER_KINESIS_MAX_RETRIES", "many"}, opts: opts,
			want: "otelkinesis: producer: OTEL_EXPORTER_KINESIS_MAX_RETRIES=many: not a whole number"},
		// The exporters fail after the producer started: New stops it again.
		{name: "bad exporter variable", env: [2]string{"OTEL_EXPORTER_KINESIS_LOGS_ENCODING", "xml"}, opts: opts,
			want: "otelkinesis: logs exporter: OTEL_EXPORTER_KINESIS_LOGS_ENCODING=xml: not an encoding"},
		{name: "WithProducer", opts: append([]sdk.Option{otelkinesis.WithProducer(nil)}, opts...),
			want: "otelkinesis: sdk.New: WithProducer: New creates the producer itself"},
		{name: "producer option for one exporter", opts: append([]sdk.Option{
			sdk.WithTraceExporterOptions(otelkinesis.WithBatchCount(10))}, opts...),
			want: "otelkinesis: sdk.WithTraceExporterOptions: WithBatchCount configures the producer, which the three exporters share"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			before := len(srv.RequestsFor("PutRecords"))
			tel, err := sdk.New(ctx, c.opts...)
			if err == nil {
				_ = tel.Shutdown(ctx)
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			onePrefix(t, err)
			if n := len(srv.RequestsFor("PutRecords")) - before; n != 0 {
				t.Errorf("%d PutRecords requests from a failed New", n)
			}
		})
	}
}

// TestEnvironment: with the stream, the endpoint, the region and credentials in the
// environment only, New(ctx) with no options works.
func TestEnvironment(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("from-env", 2); err != nil {
		t.Fatal(err)
	}
	exportertest.ClearEnv(t, "OTEL_", "AWS_")
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "from-env")
	t.Setenv("OTEL_EXPORTER_KINESIS_ENDPOINT", srv.URL())
	t.Setenv("OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL", "10")
	t.Setenv("OTEL_EXPORTER_KINESIS_METRICS_COMPRESSION", "gzip")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	tel, err := sdk.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := emit(ctx, t, tel, 10)
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recs := exportertest.Read(t, srv, "from-env")
	checkAll(t, recs, ids)
	for _, r := range recs {
		if r.Telemetry.Metrics != nil && r.Telemetry.Format.ContentEncoding != "gzip" {
			t.Errorf("metrics not gzip-compressed as OTEL_EXPORTER_KINESIS_METRICS_COMPRESSION says: %+v", r.Telemetry.Format)
		}
		if r.Telemetry.Traces != nil && r.Telemetry.Format.ContentEncoding != "" {
			t.Errorf("spans compressed (%+v): the metrics variable applies to metrics only", r.Telemetry.Format)
		}
	}
}
