package trace

import (
	"context"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// ErrShutdown is wrapped by the error of ExportSpans after Shutdown. It is
// otelkinesis.ErrShutdown.
var ErrShutdown = otelkinesis.ErrShutdown

// Exporter is an sdktrace.SpanExporter that writes spans to a Kinesis stream. It is safe
// for concurrent use: ExportSpans calls from several goroutines encode in parallel (each
// with its own pooled encoder) and share one producer; ForceFlush and Shutdown may be
// called at any time, from any goroutine.
type Exporter struct {
	core     *exporter.Core
	encoders *exporter.Pool[*otlpwire.TraceEncoder]
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// Option is an option of [New]: [WithPartitionKey], and the options of package
// otelkinesis, [otelkinesis.Option] (stream, AWS and producer settings) and
// [otelkinesis.ExporterOption] (encoding, compression, partitioning, a shared producer).
// The options of the metric and log exporters are not trace options: given to New, they
// do not compile.
type Option interface {
	config.TraceOption
}

// The shared options are options of New.
var (
	_ Option = otelkinesis.Option(nil)
	_ Option = otelkinesis.ExporterOption(nil)
)

// New returns an exporter configured by opts and the OTEL_EXPORTER_KINESIS_* environment
// (OTEL_EXPORTER_KINESIS_TRACES_* first; see the package documentation for every
// variable). It checks the settings, that the stream exists and reads its shard map,
// unless a producer is shared with [otelkinesis.WithProducer].
func New(ctx context.Context, opts ...Option) (*Exporter, error) {
	core, err := exporter.Start(ctx, config.Traces, config.TraceOptions(opts))
	if err != nil {
		return nil, err
	}
	encCfg := core.TraceConfig()
	if fn := core.Config().SpanPartitionKey; fn != nil {
		encCfg.Partitioning = otlpwire.PartitionByKey
		encCfg.PartitionKey = func(s sdktrace.ReadOnlySpan) string {
			return exporter.CheckPartitionKey(fn(s), s.SpanContext().TraceID().String())
		}
	}
	encoders, err := exporter.NewPool(ctx, core, func() (*otlpwire.TraceEncoder, error) { return otlpwire.NewTraceEncoder(encCfg) })
	if err != nil {
		return nil, err
	}
	return &Exporter{core: core, encoders: encoders}, nil
}

// WithPartitionKey partitions spans by the key fn returns for each span, instead of by
// trace ID, resource or at random. Spans with the same key go to the same shard. A key
// Kinesis would refuse (empty, or over 256 characters) is replaced by the span's trace ID,
// and the first such key is reported through otel.Handle. Default: none
// (otelkinesis.WithPartitionBy decides). A nil fn means none.
func WithPartitionKey(fn func(sdktrace.ReadOnlySpan) string) Option {
	return config.ForTraces(&config.Option{Name: "WithPartitionKey", Settings: []string{"span_partition_key"},
		Set: func(c *config.Config) { c.SpanPartitionKey = fn }})
}

// ExportSpans encodes spans into OTLP user records and hands them to the producer before
// it returns, so the SDK may reuse spans at once. Delivery is asynchronous: ForceFlush
// waits for it. A span too large for any record is dropped; spans the producer could not
// take (the context ended while the backlog was full, or the exporter was shut down) are
// dropped too. Both are named in the returned error and, with self-observability on, counted
// in otel.sdk.exporter.span.exported with the error.type too_large or not_accepted. Spans
// the producer gives up on later are counted there too, with the producer's reason, and
// reported through otel.Handle and ForceFlush or Shutdown.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.core.Stopped() {
		return exporter.ErrStopped
	}
	op := e.core.Begin(countNonNil(spans))
	if err := ctx.Err(); err != nil {
		return e.core.Abort(op, err)
	}
	if len(spans) == 0 {
		return e.core.Finish(op, exporter.Outcome{}, "spans")
	}
	enc := e.encoders.Get()
	defer e.encoders.Put(enc)

	res, err := enc.Encode(spans, e.core.Emit(ctx, op, enc.RecordSpans))
	o := exporter.Outcome{Handed: res.Spans, Err: err}
	for _, d := range res.Dropped {
		o.TooLarge = append(o.TooLarge, d)
	}
	return e.core.Finish(op, o, "span")
}

func countNonNil(spans []sdktrace.ReadOnlySpan) int {
	n := 0
	for _, s := range spans {
		if s != nil {
			n++
		}
	}
	return n
}

// ForceFlush returns when every span exported before it has been delivered to Kinesis or
// dropped, or ctx ends. The TracerProvider's ForceFlush does not reach exporters, so call
// this after it when spans must be on the stream.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	return e.core.Flush(ctx)
}

// Shutdown flushes what was exported and stops the exporter; later ExportSpans calls
// return ErrShutdown. A producer the exporter created is shut down; a shared one is
// flushed and left running. Calls after the first return the first one's result.
func (e *Exporter) Shutdown(ctx context.Context) error {
	return e.core.Shutdown(ctx)
}

// MarshalLog is what loggers print for the exporter: its settings, never credentials.
func (e *Exporter) MarshalLog() any {
	return struct {
		Type   string
		Config any
	}{"otelkinesis/trace", e.core.Config().MarshalLog()}
}
