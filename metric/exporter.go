package metric

import (
	"context"
	"sync/atomic"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// Exporter is an sdkmetric.Exporter that writes metrics to a Kinesis stream. It is safe
// for concurrent use: Export calls encode in parallel (each with a pooled encoder) and
// share one producer; ForceFlush and Shutdown may be called at any time.
type Exporter struct {
	core        *exporter.Core
	encoders    *exporter.Pool[*otlpwire.MetricEncoder]
	temporality sdkmetric.TemporalitySelector
	aggregation sdkmetric.AggregationSelector
	shutdown    atomic.Bool
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// Option is an option of [New]: [WithTemporalitySelector], [WithAggregationSelector],
// and the options of package otelkinesis, [otelkinesis.Option] (stream, AWS and producer
// settings) and [otelkinesis.ExporterOption] (encoding, compression, partitioning, a
// shared producer). The options of the trace and log exporters are not metric options:
// given to New, they do not compile.
type Option interface {
	config.MetricOption
}

// The shared options are options of New.
var (
	_ Option = otelkinesis.Option(nil)
	_ Option = otelkinesis.ExporterOption(nil)
)

// New returns an exporter configured by opts and the OTEL_EXPORTER_KINESIS_* environment
// (OTEL_EXPORTER_KINESIS_METRICS_* first; see the package documentation for every
// variable). Metrics are partitioned by resource (so one resource's series stay on one
// shard, in order; trace_id, the shared default, means the same for metrics) or at
// random.
func New(ctx context.Context, opts ...Option) (*Exporter, error) {
	core, err := exporter.Start(ctx, config.Metrics, config.MetricOptions(opts))
	if err != nil {
		return nil, err
	}
	encCfg := otlpwire.MetricConfig{MaxRecordSize: core.MaxRecordData(), Encoding: core.WireEncoding(), Partitioning: core.WirePartitioning()}
	encoders, err := exporter.NewPool(ctx, core, func() (*otlpwire.MetricEncoder, error) { return otlpwire.NewMetricEncoder(encCfg) })
	if err != nil {
		return nil, err
	}
	e := &Exporter{core: core, encoders: encoders, temporality: core.Config().Temporality, aggregation: core.Config().Aggregation}
	if e.temporality == nil {
		e.temporality = sdkmetric.DefaultTemporalitySelector
	}
	if e.aggregation == nil {
		e.aggregation = sdkmetric.DefaultAggregationSelector
	}
	return e, nil
}

// WithTemporalitySelector sets the temporality per instrument kind, such as
// sdkmetric.DeltaTemporalitySelector. Environment:
// OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE (cumulative, delta or lowmemory, as
// the OTLP metric exporters read OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; see
// the package documentation). Default: cumulative for every kind. A nil selector means
// cumulative for every kind, whatever the variable says.
func WithTemporalitySelector(s sdkmetric.TemporalitySelector) Option {
	return config.ForMetrics(&config.Option{Name: "WithTemporalitySelector", Settings: []string{"temporality"},
		Set: func(c *config.Config) { c.Temporality = s }})
}

// WithAggregationSelector sets the aggregation per instrument kind. Default: the SDK's
// default aggregation (sdkmetric.DefaultAggregationSelector). A nil selector means the
// default.
func WithAggregationSelector(s sdkmetric.AggregationSelector) Option {
	return config.ForMetrics(&config.Option{Name: "WithAggregationSelector", Settings: []string{"aggregation_selector"},
		Set: func(c *config.Config) { c.Aggregation = s }})
}

// Temporality returns the temporality for instruments of kind k.
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.temporality(k)
}

// Aggregation returns the aggregation for instruments of kind k.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return e.aggregation(k)
}

// Export encodes rm into OTLP user records and hands them to the producer before it
// returns (the SDK reuses rm afterwards). Delivery is asynchronous: ForceFlush waits for
// it. A data point too large for any record, a metric OTLP cannot carry, and data points
// the producer could not take are named in the error and, with self-observability on,
// counted in otel.sdk.exporter.metric_data_point.exported with the error.type too_large,
// unsupported or not_accepted; data points the producer gives up on later are counted
// there too, with its reason, and reported through otel.Handle and ForceFlush or
// Shutdown. After Shutdown it returns sdkmetric.ErrExporterShutdown.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if e.shutdown.Load() {
		return sdkmetric.ErrExporterShutdown
	}
	var op exporter.Op
	if rm != nil {
		op = e.core.Begin(countDataPoints(rm))
	} else {
		op = e.core.Begin(0)
	}
	if err := ctx.Err(); err != nil {
		return e.core.Abort(op, err)
	}
	if rm == nil {
		return e.core.Finish(op, exporter.Outcome{}, "data points")
	}
	enc := e.encoders.Get()
	defer e.encoders.Put(enc)
	res, err := enc.Encode(rm, e.core.Emit(ctx, op, enc.RecordDataPoints))
	o := exporter.Outcome{Handed: res.DataPoints, Err: err}
	for _, d := range res.Dropped {
		o.TooLarge = append(o.TooLarge, d)
	}
	o.Unsupported = res.Unsupported
	return e.core.Finish(op, o, "data point")
}

// countDataPoints counts the items of rm as the encoder reports them: the data points of
// each metric OTLP can carry, and one for each metric it cannot (otlpwire.CheckMetric),
// which the encoder leaves out and reports apart.
func countDataPoints(rm *metricdata.ResourceMetrics) int {
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for i := range sm.Metrics {
			m := &sm.Metrics[i]
			if otlpwire.CheckMetric(m) != nil {
				n++
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[float64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[int64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[float64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[int64]:
				n += len(d.DataPoints)
			case metricdata.ExponentialHistogram[float64]:
				n += len(d.DataPoints)
			case metricdata.Summary:
				n += len(d.DataPoints)
			}
		}
	}
	return n
}

// ForceFlush returns when every data point exported before it has been delivered to
// Kinesis or dropped, or ctx ends.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if e.shutdown.Load() {
		return nil
	}
	return e.core.Flush(ctx)
}

// Shutdown flushes what was exported and stops the exporter. A producer the exporter
// created is shut down; a shared one is flushed and left running. Later calls return
// sdkmetric.ErrExporterShutdown, as later Export calls do.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e.shutdown.Swap(true) {
		return sdkmetric.ErrExporterShutdown
	}
	return e.core.Shutdown(ctx)
}

// MarshalLog is what loggers print for the exporter: its settings, never credentials.
func (e *Exporter) MarshalLog() any {
	return struct {
		Type   string
		Config any
	}{"otelkinesis/metric", e.core.Config().MarshalLog()}
}
