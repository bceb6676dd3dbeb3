package otlpwire_test

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// Encode splits a batch into one record per trace, each a complete
// ExportTraceServiceRequest under the trace ID as partition key.
func ExampleTraceEncoder_Encode() {
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	scope := instrumentation.Scope{Name: "example"}
	var stubs tracetest.SpanStubs
	for i := range 3 {
		tid := trace.TraceID{0xab, byte(i % 2)} // two traces
		sid := trace.SpanID{1, byte(i)}
		stubs = append(stubs, tracetest.SpanStub{
			Name:                 fmt.Sprint("op", i),
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}),
			StartTime:            time.Unix(1_700_000_000, 0),
			EndTime:              time.Unix(1_700_000_001, 0),
			Resource:             res,
			InstrumentationScope: scope,
		})
	}

	enc, err := otlpwire.NewTraceEncoder(otlpwire.TraceConfig{MaxRecordSize: 64 << 10})
	if err != nil {
		panic(err)
	}
	result, err := enc.Encode(stubs.Snapshots(), func(key string, data []byte) error {
		// data is reused for the next record: decode (or copy) it now.
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			return err
		}
		spans := req.ResourceSpans[0].ScopeSpans[0].Spans
		fmt.Printf("%s: %d spans, first %q\n", key, len(spans), spans[0].Name)
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(result.Records, "records,", result.Spans, "spans,", len(result.Dropped), "dropped")
	// Output:
	// ab000000000000000000000000000000: 2 spans, first "op0"
	// ab010000000000000000000000000000: 1 spans, first "op1"
	// 2 records, 3 spans, 0 dropped
}
