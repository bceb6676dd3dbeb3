package otlpwire_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	collogpb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// logExporter is a sdk/log.Exporter that encodes each batch it is given.
type logExporter struct{ enc *otlpwire.LogEncoder }

func (e logExporter) Export(_ context.Context, records []sdklog.Record) error {
	_, err := e.enc.Encode(records, func(key string, data []byte) error {
		// data is reused for the next record: decode (or copy) it now.
		var req collogpb.ExportLogsServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			return err
		}
		for _, lr := range req.ResourceLogs[0].ScopeLogs[0].LogRecords {
			fmt.Printf("%s: %s\n", key, lr.Body.GetStringValue())
		}
		return nil
	})
	return err
}
func (logExporter) Shutdown(context.Context) error   { return nil }
func (logExporter) ForceFlush(context.Context) error { return nil }

// Encode puts the log records of a trace under the trace's ID (the key its
// spans get), and the others under their resource's key.
func ExampleLogEncoder_Encode() {
	enc, err := otlpwire.NewLogEncoder(otlpwire.LogConfig{})
	if err != nil {
		panic(err)
	}
	lp := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(logExporter{enc})),
	)
	logger := lp.Logger("example")
	inTrace := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xab, 1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled,
	}))
	for _, c := range []struct {
		ctx  context.Context
		body string
	}{{context.Background(), "starting"}, {inTrace, "order placed"}} {
		var r log.Record
		r.SetBody(attribute.StringValue(c.body))
		logger.Emit(c.ctx, r)
	}
	_ = lp.Shutdown(context.Background())
	// Output:
	// 4831d134ce24c50d: starting
	// ab010000000000000000000000000000: order placed
}
