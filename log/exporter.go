package log

import (
	"context"
	"sync/atomic"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// Exporter is an sdklog.Exporter that writes log records to a Kinesis stream. It is safe
// for concurrent use: Export calls encode in parallel (each with a pooled encoder) and
// share one producer; ForceFlush and Shutdown may be called at any time.
type Exporter struct {
	core     *exporter.Core
	encoders *exporter.Pool[*otlpwire.LogEncoder]
	shutdown atomic.Bool
}

var _ sdklog.Exporter = (*Exporter)(nil)

// Option is an option of [New]: [WithPartitionKey], and the options of package
// otelkinesis, [otelkinesis.Option] (stream, AWS and producer settings) and
// [otelkinesis.ExporterOption] (encoding, compression, partitioning, a shared producer).
// The options of the trace and metric exporters are not log options: given to New, they
// do not compile.
type Option interface {
	config.LogOption
}

// The shared options are options of New.
var (
	_ Option = otelkinesis.Option(nil)
	_ Option = otelkinesis.ExporterOption(nil)
)

// New returns an exporter configured by opts and the OTEL_EXPORTER_KINESIS_* environment
// (OTEL_EXPORTER_KINESIS_LOGS_* first; see the package documentation for every variable).
// By default (trace_id) a log record that carries a trace ID is keyed by it, so a trace's
// logs land on the shard of its spans; the others are keyed by their resource.
func New(ctx context.Context, opts ...Option) (*Exporter, error) {
	core, err := exporter.Start(ctx, config.Logs, config.LogOptions(opts))
	if err != nil {
		return nil, err
	}
	encCfg := otlpwire.LogConfig{MaxRecordSize: core.MaxRecordData(), Encoding: core.WireEncoding(), Partitioning: core.WirePartitioning()}
	if fn := core.Config().LogPartitionKey; fn != nil {
		encCfg.Partitioning = otlpwire.PartitionByKey
		encCfg.PartitionKey = func(r *sdklog.Record) string {
			return exporter.CheckPartitionKey(fn(r), r.TraceID().String())
		}
	}
	encoders, err := exporter.NewPool(ctx, core, func() (*otlpwire.LogEncoder, error) { return otlpwire.NewLogEncoder(encCfg) })
	if err != nil {
		return nil, err
	}
	return &Exporter{core: core, encoders: encoders}, nil
}

// WithPartitionKey partitions log records by the key fn returns for each, instead of by
// trace ID, resource or at random. A key Kinesis would refuse (empty, or over 256
// characters) is replaced by the record's trace ID (all zeros when it has none), and the
// first such key is reported through otel.Handle. Default: none
// (otelkinesis.WithPartitionBy decides). A nil fn means none.
func WithPartitionKey(fn func(*sdklog.Record) string) Option {
	return config.ForLogs(&config.Option{Name: "WithPartitionKey", Settings: []string{"log_partition_key"},
		Set: func(c *config.Config) { c.LogPartitionKey = fn }})
}

// Export encodes records into OTLP user records and hands them to the producer before it
// returns; it keeps no reference to records. Delivery is asynchronous: ForceFlush waits
// for it. A log record too large for any record, and log records the producer could not
// take, are named in the error and, with self-observability on, counted in
// otel.sdk.exporter.log.exported with the error.type too_large or not_accepted; log
// records the producer gives up on later are counted there too, with its reason, and
// reported through otel.Handle and ForceFlush or Shutdown. After Shutdown it returns
// sdklog.ErrExporterShutdown.
func (e *Exporter) Export(ctx context.Context, records []sdklog.Record) error {
	if e.shutdown.Load() {
		return sdklog.ErrExporterShutdown
	}
	op := e.core.Begin(len(records))
	if err := ctx.Err(); err != nil {
		return e.core.Abort(op, err)
	}
	if len(records) == 0 {
		return e.core.Finish(op, exporter.Outcome{}, "log records")
	}
	enc := e.encoders.Get()
	defer e.encoders.Put(enc)
	res, err := enc.Encode(records, e.core.Emit(ctx, op, enc.RecordLogs))
	o := exporter.Outcome{Handed: res.LogRecords, Err: err}
	for _, d := range res.Dropped {
		o.TooLarge = append(o.TooLarge, d)
	}
	return e.core.Finish(op, o, "log record")
}

// ForceFlush returns when every log record exported before it has been delivered to
// Kinesis or dropped, or ctx ends. After Shutdown it returns nil.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if e.shutdown.Load() {
		return nil
	}
	return e.core.Flush(ctx)
}

// Shutdown flushes what was exported and stops the exporter. A producer the exporter
// created is shut down; a shared one is flushed and left running. Later calls return nil.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e.shutdown.Swap(true) {
		return nil
	}
	return e.core.Shutdown(ctx)
}

// MarshalLog is what loggers print for the exporter: its settings, never credentials.
func (e *Exporter) MarshalLog() any {
	return struct {
		Type   string
		Config any
	}{"otelkinesis/log", e.core.Config().MarshalLog()}
}
