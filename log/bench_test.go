package log_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
)

// realisticLogs returns 512 log records like an HTTP service's: a message body, a
// severity, 6 attributes, and a trace context on most of them (over 32 traces).
func realisticLogs() []sdklog.Record {
	var c capture
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(&c),
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "ip-10-0-0-1"))))
	lg := lp.Logger("example.com/checkout")
	for i := 0; i < 512; i++ {
		ctx := context.Background()
		if i%8 != 0 {
			var tid oteltrace.TraceID
			tid[0], tid[15] = byte(i%32), 1
			sid := oteltrace.SpanID{byte(i), 1}
			ctx = oteltrace.ContextWithSpanContext(ctx, oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: 1}))
		}
		var r otellog.Record
		r.SetTimestamp(time.Unix(1_700_000_000, int64(i)))
		r.SetSeverity(otellog.SeverityInfo)
		r.SetSeverityText("INFO")
		r.SetBody(attribute.StringValue(fmt.Sprintf("handled GET /api/v1/items/%d in 12ms", i)))
		r.AddAttributes(attribute.String("http.method", "GET"), attribute.String("http.route", "/api/v1/items/{id}"),
			attribute.Int("http.status_code", 200), attribute.String("user.id", "u-12345"), attribute.Float64("duration_ms", 12.5),
			attribute.Bool("cache.hit", i%3 == 0))
		lg.Emit(ctx, r)
	}
	return c.recs
}

// BenchmarkExport compares, in one run, the CPU and allocations per log record of
// otelkinesis (to kinesistest, delivery included) and otlploghttp (to an OTLP/HTTP sink),
// each endpoint in a child process.
//
//	go test -run '^$' -bench Export -count=10 ./log/ | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /exporter bench.txt
func BenchmarkExport(b *testing.B) {
	recs := realisticLogs()
	ctx := context.Background()
	b.Run("exporter=otelkinesis", func(b *testing.B) {
		url := benchendpoint.Start(b, benchendpoint.Kinesis)
		exp, err := kinesislog.New(ctx, otelkinesis.WithStreamName(benchendpoint.Stream), otelkinesis.WithEndpointURL(url),
			otelkinesis.WithAWSConfig(testpeers.Config(url)), otelkinesis.WithRateLimit(1000))
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		benchendpoint.Loop(b, len(recs), "record", func() error {
			if err := exp.Export(ctx, recs); err != nil {
				return err
			}
			return exp.ForceFlush(ctx) // delivery included
		})
	})
	b.Run("exporter=otlploghttp", func(b *testing.B) {
		url := benchendpoint.Start(b, benchendpoint.OTLP)
		exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(url+"/v1/logs"))
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		benchendpoint.Loop(b, len(recs), "record", func() error { return exp.Export(ctx, recs) })
	})
}
