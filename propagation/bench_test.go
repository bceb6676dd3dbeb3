package propagation

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/cputime"
)

// benchmarkRoundTrip measures what one record costs a producer and a consumer:
// inject the context into a PutRecords entry, then extract it from the
// record's key and data and build the consumer's context.
func benchmarkRoundTrip(b *testing.B, f Format, prop propagation.TextMapPropagator) {
	p := mustProducer(b, WithFormat(f), WithPropagator(prop))
	c := mustConsumer(b, WithPropagator(prop))
	ctx := trace.ContextWithSpanContext(context.Background(), testSC(b, ""))
	key := aws.String("5f0c8a5e-3d1b-4c55-9f0e-8d2f4e6c7a10") // a UUID business key
	data := benchData()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	defer func() { reportCPU(b, cputime.Process()-cpu) }()
	for i := 0; i < b.N; i++ {
		e := types.PutRecordsRequestEntry{PartitionKey: key, Data: data}
		if _, err := p.InjectEntry(ctx, &e); err != nil {
			b.Fatal(err)
		}
		m := c.Extract(context.Background(), *e.PartitionKey, e.Data, nil)
		if !trace.SpanContextFromContext(m.Context()).IsValid() {
			b.Fatal("no context")
		}
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	w3c := propagation.TraceContext{}
	composite := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	b.Run("key/tracecontext", func(b *testing.B) { benchmarkRoundTrip(b, FormatKey, w3c) })
	b.Run("envelope/tracecontext", func(b *testing.B) { benchmarkRoundTrip(b, FormatEnvelope, w3c) })
	b.Run("json/tracecontext", func(b *testing.B) { benchmarkRoundTrip(b, FormatJSON, w3c) })
	b.Run("key/composite", func(b *testing.B) { benchmarkRoundTrip(b, FormatKey, composite) })
	b.Run("envelope/composite", func(b *testing.B) { benchmarkRoundTrip(b, FormatEnvelope, composite) })
}

// BenchmarkExtractPlain is the cost for a record without context, the common
// case of a consumer that looks for every format.
func BenchmarkExtractPlain(b *testing.B) {
	c := mustConsumer(b, WithPropagator(propagation.TraceContext{}))
	data := benchData()
	b.ReportAllocs()
	cpu := cputime.Process()
	defer func() { reportCPU(b, cputime.Process()-cpu) }()
	for i := 0; i < b.N; i++ {
		m := c.Extract(context.Background(), "5f0c8a5e-3d1b-4c55-9f0e-8d2f4e6c7a10", data, nil)
		if m.Format != FormatNone {
			b.Fatal(m.Format)
		}
	}
}

// reportCPU reports the process CPU time per operation as cpu-ns/op (see
// processCPU).
func reportCPU(b *testing.B, d time.Duration) {
	if d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// benchData is a 1 KiB JSON object, a typical business event.
func benchData() []byte {
	data := []byte(`{"event":"created","pad":"`)
	for len(data) < 1022 {
		data = append(data, 'x')
	}
	return append(data, '"', '}')
}
