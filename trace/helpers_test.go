package trace_test

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
)

func TestMain(m *testing.M) {
	benchendpoint.MaybeServe() // when a benchmark runs this binary as its endpoint
	goleak.VerifyTestMain(m,
		// Kinesis clients of the emulator tests keep idle keep-alive connections.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

type recorderProvider struct {
	tp  *sdktrace.TracerProvider
	rec *tracetest.SpanRecorder
}

func newRecorderProvider() recorderProvider {
	rec := tracetest.NewSpanRecorder()
	return recorderProvider{tp: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), rec: rec}
}
