package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	awskinesis "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awskinesisexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// batchSize is the batch processor's default batch: every export call carries 512 spans.
const batchSize = 512

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures a benchmark whose op exports batch items: start it after ResetTimer and
// call stop after StopTimer. It reports wall ns/span, the process's CPU ns/span (every
// goroutine: encoding, compression, signing, HTTP; the endpoint runs in another process),
// allocs/span and B/span, and, when the endpoint is given, what arrived there per span and
// per 10,000 spans.
type meter struct {
	b        *testing.B
	batch    int
	ep       *endpoint
	cpu0     time.Duration
	mallocs0 uint64
	bytes0   uint64
	st0      endpointStats
	// cpuPerSpan is the CPU ns/span stop reported.
	cpuPerSpan float64
}

func startMeter(b *testing.B, batch int, ep *endpoint) *meter {
	m := &meter{b: b, batch: batch, ep: ep}
	if ep != nil {
		m.st0 = ep.Stats(b)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.cpu0, m.mallocs0, m.bytes0 = cpuTime(), ms.Mallocs, ms.TotalAlloc
	return m
}

func (m *meter) stop() {
	cpu := cpuTime() - m.cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := float64(m.b.N * m.batch)
	m.b.ReportMetric(float64(m.b.Elapsed().Nanoseconds())/n, "ns/span")
	m.cpuPerSpan = float64(cpu.Nanoseconds()) / n
	m.b.ReportMetric(m.cpuPerSpan, "cpu-ns/span")
	m.b.ReportMetric(float64(ms.Mallocs-m.mallocs0)/n, "allocs/span")
	m.b.ReportMetric(float64(ms.TotalAlloc-m.bytes0)/n, "B/span")
	m.b.ReportMetric(0, "ns/op") // per span is what compares across batch shapes
	if m.ep == nil {
		return
	}
	st := m.ep.Stats(m.b).sub(m.st0)
	m.b.ReportMetric(float64(st.WireBytes)/n, "wire-B/span")
	if st.Records > 0 {
		per10k := 10000 / n
		m.b.ReportMetric(float64(st.RecordBytes)/n, "record-B/span")
		m.b.ReportMetric(float64(st.Records)*per10k, "records/10k-spans")
		m.b.ReportMetric(float64(st.Units)*per10k, "put-units/10k-spans")
		m.b.ReportMetric(float64(st.Requests)*per10k, "requests/10k-spans")
		m.b.ReportMetric(float64(st.Retried)*per10k, "sdk-retried-records/10k-spans")
	}
}

// BenchmarkSpanExport compares, in one run, exporting the same realistic spans
// (recordSpans, 512 per export call) end to end:
//
//   - exporter=otelkinesis: ours, each encoding and compression, to a loopback
//     kinesistest endpoint; each op exports a batch, as a batch span processor does, and
//     the measurement ends with a ForceFlush, so delivery of every span is included;
//   - exporter=otlptracehttp: the OpenTelemetry OTLP/HTTP exporter to a loopback OTLP sink,
//     uncompressed and gzip;
//   - exporter=awskinesis: the Collector contrib awskinesisexporter, handed the same spans
//     already as pdata (it skips the SDK-to-OTLP transform ours and otlptracehttp do), to
//     the same kinesistest endpoint, with its sending queue and retries off so that each
//     op is synchronous.
//
// Every endpoint runs in a child process, so cpu-ns/span and allocs/span are the
// exporter's own.
//
//	go test -run '^$' -bench SpanExport -benchmem -count=10 . | tee results/spans.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '.unit:cpu-ns/span' results/spans.txt
func BenchmarkSpanExport(b *testing.B) {
	spans := recordSpans(batchSize, 1)
	ctx := context.Background()

	for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
		for _, comp := range []otelkinesis.Compression{otelkinesis.CompressionNone, otelkinesis.CompressionGzip, otelkinesis.CompressionZstd} {
			b.Run(fmt.Sprintf("exporter=otelkinesis/encoding=%s/compression=%s", enc, comp), func(b *testing.B) {
				runOurs(b, "kinesis", spans, otelkinesis.WithEncoding(enc), otelkinesis.WithCompression(comp))
			})
		}
	}

	for _, comp := range []string{"none", "gzip"} {
		b.Run("exporter=otlptracehttp/encoding=otlp_proto/compression="+comp, func(b *testing.B) {
			ep := startEndpoint(b, "otlp")
			opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(ep.URL + "/v1/traces"), otlptracehttp.WithInsecure()}
			if comp == "gzip" {
				opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
			}
			exp, err := otlptracehttp.New(ctx, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer exp.Shutdown(ctx)
			runExport(b, ep, func() error { return exp.ExportSpans(ctx, spans) }, nil)
		})
	}

	runCollector(b, "kinesis", spans)
}

// runOurs runs ours with opts on spans, batch after batch, to a loopback kinesistest
// endpoint of the given kind (see startEndpoint), ending with a ForceFlush.
func runOurs(b *testing.B, kind string, spans []sdktrace.ReadOnlySpan, opts ...kinesistrace.Option) {
	ctx := context.Background()
	ep := startEndpoint(b, kind)
	exp, err := kinesistrace.New(ctx, append([]kinesistrace.Option{otelkinesis.WithStreamName(benchStream),
		otelkinesis.WithEndpointURL(ep.URL), otelkinesis.WithAWSConfig(testpeers.Config(ep.URL)),
		otelkinesis.WithRateLimit(1000)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	runExport(b, ep, func() error { return exp.ExportSpans(ctx, spans) },
		func() error { return exp.ForceFlush(ctx) })
}

// runCollector runs the Collector's exporter on spans (as pdata), each encoding with and
// without gzip, as sub-benchmarks exporter=awskinesis/..., to an endpoint of the given
// kind.
func runCollector(b *testing.B, kind string, spans []sdktrace.ReadOnlySpan) {
	ctx := context.Background()
	td := asPdata(b, spans)
	for _, enc := range []string{"otlp_proto", "otlp_json"} {
		for _, comp := range []string{"none", "gzip"} {
			b.Run(fmt.Sprintf("exporter=awskinesis/encoding=%s/compression=%s", enc, comp), func(b *testing.B) {
				ep := startEndpoint(b, kind)
				exp := newCollectorExporter(b, ep.URL, enc, comp)
				runExport(b, ep, func() error { return exp.ConsumeTraces(ctx, td) }, nil)
			})
		}
	}
}

// runExport runs export b.N times, then flush (nil for an exporter that delivers before
// export returns), measured by a meter: every span of the measurement is delivered
// within it.
func runExport(b *testing.B, ep *endpoint, export, flush func() error) {
	measureExport(b, ep, nil, export, flush)
}

// measureExport is runExport, with a CPU profile of the measured part written to prof
// unless prof is nil. It returns the meter, stopped.
func measureExport(b *testing.B, ep *endpoint, prof io.Writer, export, flush func() error) *meter {
	if flush == nil {
		flush = func() error { return nil }
	}
	// One export first: connections, pools and the endpoint's stream warmed up.
	if err := export(); err != nil {
		b.Fatal(err)
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			b.Fatalf("CPU profile (not with -cpuprofile): %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	m := startMeter(b, batchSize, ep)
	for range b.N {
		if err := export(); err != nil {
			b.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	m.stop()
	return m
}

// newCollectorExporter builds and starts the Collector's awskinesisexporter for the
// stream of the endpoint at url, with its defaults except: the given encoding and
// compression, no sending queue and no retries (each ConsumeTraces call sends before it
// returns). exporter.Settings is built by hand (exportertest would pull in newer
// Collector modules than resolve here). The exporter reads credentials and
// region from the environment, as in a Collector.
func newCollectorExporter(b testing.TB, url, encoding, compression string) exporter.Traces {
	b.Helper()
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	b.Setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
	if os.Getenv("AWS_CA_BUNDLE") != "" {
		b.Setenv("AWS_CA_BUNDLE", os.Getenv("AWS_CA_BUNDLE"))
	}
	f := awskinesis.NewFactory()
	cfg := f.CreateDefaultConfig().(*awskinesis.Config)
	cfg.AWS.StreamName = benchStream
	cfg.AWS.KinesisEndpoint = url
	cfg.AWS.Region = "us-east-1"
	cfg.Encoding.Name = encoding
	cfg.Encoding.Compression = compression
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	set := exporter.Settings{
		ID: component.NewID(f.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         zap.NewNop(),
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	ctx := context.Background()
	exp, err := f.CreateTraces(ctx, set, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, nopHost{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = exp.Shutdown(ctx) })
	return exp
}

// nopHost is a component.Host with no extensions.
type nopHost struct{}

func (nopHost) GetExtensions() map[component.ID]component.Component { return nil }

var _ sdktrace.SpanExporter = (*kinesistrace.Exporter)(nil)
