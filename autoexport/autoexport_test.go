package autoexport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/autoexport"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestMain fails the package's tests if any goroutine they started is still running when
// they end: the last Shutdown of a producer's exporters stops it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// setEnv clears the OTEL_ and AWS_ variables for the rest of t and sets those that
// select kinesis for the three signals and point it at stream on endpoint, with test
// credentials and a short flush interval.
func setEnv(t *testing.T, endpoint, stream string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") || strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range map[string]string{
		"OTEL_TRACES_EXPORTER":                 autoexport.Name,
		"OTEL_METRICS_EXPORTER":                autoexport.Name,
		"OTEL_LOGS_EXPORTER":                   autoexport.Name,
		"OTEL_EXPORTER_KINESIS_STREAM_NAME":    stream,
		"OTEL_EXPORTER_KINESIS_ENDPOINT":       endpoint,
		"OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL": "10",
		"OTEL_EXPORTER_KINESIS_MAX_BACKOFF":    "20",
		"AWS_REGION":                           "us-east-1",
		"AWS_ACCESS_KEY_ID":                    "AKIDENV",
		"AWS_SECRET_ACCESS_KEY":                "secret",
		"AWS_CONFIG_FILE":                      filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE":          filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
}

// pipeline is what autoexport's three constructors return, in providers.
type pipeline struct {
	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
	lp *sdklog.LoggerProvider
}

func newPipeline(ctx context.Context, t *testing.T) pipeline {
	t.Helper()
	spans, err := contrib.NewSpanExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := contrib.NewMetricReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := contrib.NewLogExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline{
		tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans)),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		lp: sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logs))),
	}
}

// emit starts n traces through p (exportertest.Emit) and returns their trace IDs.
func (p pipeline) emit(ctx context.Context, t *testing.T, n int) map[string]bool {
	t.Helper()
	return exportertest.Emit(ctx, t, p.tp, p.mp, p.lp, n)
}

// shutdown shuts the providers down, traces first: the producer must stay up for the
// others.
func (p pipeline) shutdown(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := p.tp.Shutdown(ctx); err != nil {
		t.Errorf("TracerProvider.Shutdown: %v", err)
	}
	if err := p.mp.Shutdown(ctx); err != nil {
		t.Errorf("MeterProvider.Shutdown: %v", err)
	}
	if err := p.lp.Shutdown(ctx); err != nil {
		t.Errorf("LoggerProvider.Shutdown: %v", err)
	}
}

// check reads stream back and checks that every span, data point and log record of the
// traces ids arrived, and each trace's log records on its spans' shard.
func check(ctx context.Context, t *testing.T, client *kinesis.Client, stream string, ids map[string]bool) {
	t.Helper()
	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	spans, points, logs := 0, 0, 0
	spanShard, logShard := map[string]string{}, map[string]string{}
	for _, r := range recs {
		tel := r.Telemetry
		switch {
		case tel.Traces != nil:
			for _, rs := range tel.Traces.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					spans += len(ss.Spans)
					for _, s := range ss.Spans {
						spanShard[fmt.Sprintf("%x", s.TraceId)] = r.Shard
					}
				}
			}
		case tel.Metrics != nil:
			points += len(teststream.DataPoints(tel.Metrics))
		case tel.Logs != nil:
			for _, rl := range tel.Logs.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					logs += len(sl.LogRecords)
					for _, l := range sl.LogRecords {
						logShard[fmt.Sprintf("%x", l.TraceId)] = r.Shard
					}
				}
			}
		}
	}
	if spans != len(ids) || points != 4 || logs != len(ids) {
		t.Fatalf("read %d spans, %d data points, %d log records; want %d, 4, %d", spans, points, logs, len(ids), len(ids))
	}
	for id := range ids {
		if spanShard[id] == "" || logShard[id] != spanShard[id] {
			t.Errorf("trace %s: spans on shard %q, logs on %q", id, spanShard[id], logShard[id])
		}
	}
}

func newServer(t *testing.T, streams ...string) *kinesistest.Server {
	t.Helper()
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	for _, s := range streams {
		if _, err := srv.CreateStream(s, 4); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// TestThreeSignalsOneProducer: with OTEL_*_EXPORTER=kinesis and the shared variables,
// autoexport's three constructors create exporters sharing one producer (one startup
// check: one DescribeStreamSummary and one ListShards); spans, metrics and logs arrive on
// the stream, each trace's logs on its spans' shard; the producer lives until the last of
// the three shuts down, and goes then (a later exporter checks the stream again; TestMain
// checks no goroutine is left).
func TestThreeSignalsOneProducer(t *testing.T) {
	srv := newServer(t, "telemetry")
	setEnv(t, srv.URL(), "telemetry")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	p := newPipeline(ctx, t)
	for _, op := range []string{"DescribeStreamSummary", "ListShards"} {
		if n := len(srv.RequestsFor(op)); n != 1 {
			t.Errorf("%d %s requests for three exporters, want 1: one producer", n, op)
		}
	}
	ids := p.emit(ctx, t, 40)

	// Traces and metrics shut down: the producer stays for the logs, and a new exporter
	// of the stream joins it without a startup check.
	if err := p.tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.mp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := contrib.NewSpanExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.RequestsFor("DescribeStreamSummary")); n != 1 {
		t.Errorf("%d DescribeStreamSummary requests: an exporter created while the producer lives made its own", n)
	}
	if err := again.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := again.Shutdown(ctx); err != nil { // a second Shutdown releases nothing more
		t.Fatal(err)
	}
	if err := p.lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	check(ctx, t, testpeers.Client(t, srv.URL()), "telemetry", ids)

	// The last exporter shut the producer down: a new exporter creates a new one.
	late, err := contrib.NewLogExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.RequestsFor("DescribeStreamSummary")); n != 2 {
		t.Errorf("%d DescribeStreamSummary requests after the producer's last exporter shut down and a new one came; want 2", n)
	}
	if err := late.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestKinesalite is TestThreeSignalsOneProducer's delivery on kinesalite, a real Kinesis
// emulator.
func TestKinesalite(t *testing.T) {
	peer := testpeers.Kinesalite(t)
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)
	setEnv(t, peer.Endpoint, stream)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	p := newPipeline(ctx, t)
	ids := p.emit(ctx, t, 30)
	p.shutdown(ctx, t)
	check(ctx, t, client, stream, ids)
}

// TestMetricInterval: the reader exports every OTEL_METRIC_EXPORT_INTERVAL, as the SDK's
// PeriodicReader reads it: metrics arrive with no flush.
func TestMetricInterval(t *testing.T) {
	srv := newServer(t, "telemetry")
	setEnv(t, srv.URL(), "telemetry")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "50")
	ctx := context.Background()
	reader, err := contrib.NewMetricReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	counter, _ := mp.Meter("m").Int64Counter("c")
	counter.Add(ctx, 1)
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Stream("telemetry").AllRecords()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no metrics on the stream 10s after an increment with OTEL_METRIC_EXPORT_INTERVAL=50")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSignalSpecificStream: a signal-specific stream variable sends that signal to its
// own stream, through a producer of its own; the others share theirs.
func TestSignalSpecificStream(t *testing.T) {
	srv := newServer(t, "telemetry", "spans")
	setEnv(t, srv.URL(), "telemetry")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_STREAM_NAME", "spans")
	ctx := context.Background()
	p := newPipeline(ctx, t)
	if n := len(srv.RequestsFor("DescribeStreamSummary")); n != 2 {
		t.Errorf("%d DescribeStreamSummary requests, want 2: one producer per stream", n)
	}
	p.emit(ctx, t, 5)
	p.shutdown(ctx, t)
	signals := func(stream string) map[string]bool {
		out := map[string]bool{}
		for _, r := range readAll(ctx, t, srv, stream) {
			switch {
			case r.Telemetry.Traces != nil:
				out["traces"] = true
			case r.Telemetry.Metrics != nil:
				out["metrics"] = true
			case r.Telemetry.Logs != nil:
				out["logs"] = true
			}
		}
		return out
	}
	if got := signals("spans"); !got["traces"] || got["metrics"] || got["logs"] {
		t.Errorf("stream spans holds %v, want traces only", got)
	}
	if got := signals("telemetry"); got["traces"] || !got["metrics"] || !got["logs"] {
		t.Errorf("stream telemetry holds %v, want metrics and logs", got)
	}
}

func readAll(ctx context.Context, t *testing.T, srv *kinesistest.Server, stream string) []teststream.Record {
	t.Helper()
	recs, err := teststream.Read(ctx, testpeers.Client(t, srv.URL()), stream)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestErrors: a bad variable, a missing stream and a failed startup check are the
// constructors' errors, saying "otelkinesis:" once and naming the exporter and the
// variable, and leave nothing running (TestMain checks).
func TestErrors(t *testing.T) {
	srv := newServer(t, "telemetry")
	ctx := context.Background()
	cases := []struct {
		name   string
		env    map[string]string
		create func(context.Context) error
		want   string
	}{
		{"bad producer variable", map[string]string{"OTEL_EXPORTER_KINESIS_TRACES_MAX_RETRIES": "lots"}, spanExporter,
			"otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_TRACES_MAX_RETRIES=lots: not a whole number; allowed 0 to 100 (option WithMaxRetries)"},
		{"bad exporter variable", map[string]string{"OTEL_EXPORTER_KINESIS_LOGS_COMPRESSION": "brotli"}, logExporter,
			"otelkinesis: logs exporter: OTEL_EXPORTER_KINESIS_LOGS_COMPRESSION=brotli: not a compression"},
		{"no stream", map[string]string{"OTEL_EXPORTER_KINESIS_STREAM_NAME": ""}, metricReader,
			"otelkinesis: metrics exporter: no stream: set one with WithStreamName or WithStreamARN, or OTEL_EXPORTER_KINESIS_STREAM_NAME or OTEL_EXPORTER_KINESIS_STREAM_ARN"},
		{"stream not found", map[string]string{"OTEL_EXPORTER_KINESIS_METRICS_STREAM_NAME": "missing"}, metricReader,
			`otelkinesis: metrics exporter: stream "missing" at ` + srv.URL() + ` (region us-east-1): startup check failed: ResourceNotFoundException`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t, srv.URL(), "telemetry")
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			err := c.create(ctx)
			if err == nil {
				t.Fatal("created")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant one starting %q", err, c.want)
			}
			if n := strings.Count(err.Error(), "otelkinesis:"); n != 1 {
				t.Errorf("error says otelkinesis: %d times: %v", n, err)
			}
		})
	}
}

func spanExporter(ctx context.Context) error {
	e, err := contrib.NewSpanExporter(ctx)
	if err == nil {
		_ = e.Shutdown(ctx)
	}
	return err
}

func metricReader(ctx context.Context) error {
	r, err := contrib.NewMetricReader(ctx)
	if err == nil {
		_ = r.Shutdown(ctx)
	}
	return err
}

func logExporter(ctx context.Context) error {
	e, err := contrib.NewLogExporter(ctx)
	if err == nil {
		_ = e.Shutdown(ctx)
	}
	return err
}
