package sdk

import (
	"fmt"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// Option is an option of [New]: an option of package otelkinesis ([otelkinesis.Option],
// the stream, AWS and producer settings and WithMeterProvider, for the one producer;
// [otelkinesis.ExporterOption], the encoding, compression and partitioning, for the
// three exporters), or one of this package's With functions. The options of packages
// trace, metric and log are not options of New (they do not compile there): pass them
// through [WithTraceExporterOptions], [WithMetricExporterOptions] and
// [WithLogExporterOptions].
type Option interface {
	config.SetupOption
}

// The options of package otelkinesis are options of New.
var (
	_ Option = otelkinesis.Option(nil)
	_ Option = otelkinesis.ExporterOption(nil)
)

// option is one of this package's own options.
type option struct {
	config.SetupOnly
	apply func(*settings)
}

// settings is what New's options ask for.
type settings struct {
	producer  []otelkinesis.Option         // for NewProducer
	exporters []otelkinesis.ExporterOption // for all three exporters
	trace     []kinesistrace.Option
	metric    []kinesismetric.Option
	log       []kinesislog.Option

	resource *resource.Resource
	tp       []sdktrace.TracerProviderOption
	bsp      []sdktrace.BatchSpanProcessorOption
	mp       []sdkmetric.Option
	reader   []sdkmetric.PeriodicReaderOption
	lp       []sdklog.LoggerProviderOption
	blp      []sdklog.BatchProcessorOption

	errs []error
}

// add sorts o into s: this package's options apply themselves; an otelkinesis.Option
// goes to the producer (WithMeterProvider to the exporters too), an ExporterOption to
// the three exporters.
func (s *settings) add(o Option) {
	switch o := o.(type) {
	case nil:
	case option:
		o.apply(s)
	case otelkinesis.Option:
		s.producer = append(s.producer, o)
		if sets(o, "meter_provider") {
			s.exporters = append(s.exporters, o)
		}
	case otelkinesis.ExporterOption:
		if sets(o, "producer") {
			s.errs = append(s.errs, fmt.Errorf("otelkinesis: sdk.New: %s: New creates the producer itself "+
				"(to share a producer of your own, create the exporters with packages trace, metric and log)", name(o)))
			return
		}
		s.exporters = append(s.exporters, o)
	}
}

// exporterOnly checks the options given for one exporter: an option of the producer
// (stream, AWS and producer settings) is refused, since the three exporters share one.
func (s *settings) exporterOnly(with string, o config.SetupOption) bool {
	if _, ok := o.(otelkinesis.Option); ok && !sets(o, "meter_provider") {
		s.errs = append(s.errs, fmt.Errorf("otelkinesis: sdk.%s: %s configures the producer, which the three exporters share: give it to sdk.New itself",
			with, name(o)))
		return false
	}
	if sets(o, "producer") {
		s.errs = append(s.errs, fmt.Errorf("otelkinesis: sdk.%s: %s: New creates the producer itself", with, name(o)))
		return false
	}
	return true
}

// sets reports whether the otelkinesis option o sets the setting named setting.
func sets(o config.SetupOption, setting string) bool {
	if c := config.SetupOptionOf(o); c != nil {
		for _, s := range c.Settings {
			if s == setting {
				return true
			}
		}
	}
	return false
}

// name is the name of the otelkinesis option o, as errors give it.
func name(o config.SetupOption) string {
	if c := config.SetupOptionOf(o); c != nil {
		return c.Name
	}
	return "an option of package sdk"
}

// WithResource sets the resource of the three providers: it is given to each as
// sdktrace.WithResource, sdkmetric.WithResource and sdklog.WithResource, before the
// options of WithTracerProviderOptions, WithMeterProviderOptions and
// WithLoggerProviderOptions. Default: the SDK's (resource.Default(): the SDK's
// attributes, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES). A nil r means the default.
func WithResource(r *resource.Resource) Option {
	return option{apply: func(s *settings) { s.resource = r }}
}

// WithTracerProviderOptions adds options of the TracerProvider, such as
// sdktrace.WithSampler or sdktrace.WithSpanLimits. Default: none (the SDK's defaults:
// parent-based, always-on sampling unless OTEL_TRACES_SAMPLER says otherwise). The
// span processor writing to Kinesis is added by New; a sdktrace.WithBatcher or
// WithSpanProcessor given here adds another one.
func WithTracerProviderOptions(opts ...sdktrace.TracerProviderOption) Option {
	return option{apply: func(s *settings) { s.tp = append(s.tp, opts...) }}
}

// WithBatchSpanProcessorOptions adds options of the batching span processor that hands
// spans to the trace exporter, such as sdktrace.WithMaxExportBatchSize or
// sdktrace.WithBatchTimeout. Default: none (the SDK's defaults and its OTEL_BSP_*
// variables: batches of up to 512 spans, every 5s, a queue of 2048).
func WithBatchSpanProcessorOptions(opts ...sdktrace.BatchSpanProcessorOption) Option {
	return option{apply: func(s *settings) { s.bsp = append(s.bsp, opts...) }}
}

// WithMeterProviderOptions adds options of the MeterProvider, such as sdkmetric.WithView.
// Default: none. The reader writing to Kinesis is added by New; a sdkmetric.WithReader
// given here adds another one.
func WithMeterProviderOptions(opts ...sdkmetric.Option) Option {
	return option{apply: func(s *settings) { s.mp = append(s.mp, opts...) }}
}

// WithPeriodicReaderOptions adds options of the periodic reader that collects metrics
// for the metric exporter, such as sdkmetric.WithInterval and sdkmetric.WithTimeout.
// Default: none (the SDK's defaults and its variables OTEL_METRIC_EXPORT_INTERVAL and
// OTEL_METRIC_EXPORT_TIMEOUT: every 60s, 30s at most per export).
func WithPeriodicReaderOptions(opts ...sdkmetric.PeriodicReaderOption) Option {
	return option{apply: func(s *settings) { s.reader = append(s.reader, opts...) }}
}

// WithLoggerProviderOptions adds options of the LoggerProvider, such as
// sdklog.WithAttributeCountLimit. Default: none. The processor writing to Kinesis is
// added by New; a sdklog.WithProcessor given here adds another one.
func WithLoggerProviderOptions(opts ...sdklog.LoggerProviderOption) Option {
	return option{apply: func(s *settings) { s.lp = append(s.lp, opts...) }}
}

// WithBatchProcessorOptions adds options of the batch processor that hands log records
// to the log exporter, such as sdklog.WithExportInterval or sdklog.WithExportMaxBatchSize.
// Default: none (the SDK's defaults and its OTEL_BLRP_* variables: batches of up to 512
// records, every 1s, a queue of 2048).
func WithBatchProcessorOptions(opts ...sdklog.BatchProcessorOption) Option {
	return option{apply: func(s *settings) { s.blp = append(s.blp, opts...) }}
}

// WithTraceExporterOptions adds options of the trace exporter alone: trace.WithPartitionKey,
// or an otelkinesis.ExporterOption (encoding, compression, partitioning) for spans only,
// which wins over one given to New for all three. Options of the producer (the stream,
// AWS and producer settings) are refused: give them to New. Default: none.
func WithTraceExporterOptions(opts ...kinesistrace.Option) Option {
	return option{apply: func(s *settings) {
		for _, o := range opts {
			if o == nil {
				continue
			}
			if so, ok := o.(config.SetupOption); !ok || s.exporterOnly("WithTraceExporterOptions", so) {
				s.trace = append(s.trace, o)
			}
		}
	}}
}

// WithMetricExporterOptions adds options of the metric exporter alone:
// metric.WithTemporalitySelector, metric.WithAggregationSelector, or an
// otelkinesis.ExporterOption for metrics only, as [WithTraceExporterOptions] does for
// spans. Default: none.
func WithMetricExporterOptions(opts ...kinesismetric.Option) Option {
	return option{apply: func(s *settings) {
		for _, o := range opts {
			if o == nil {
				continue
			}
			if so, ok := o.(config.SetupOption); !ok || s.exporterOnly("WithMetricExporterOptions", so) {
				s.metric = append(s.metric, o)
			}
		}
	}}
}

// WithLogExporterOptions adds options of the log exporter alone: log.WithPartitionKey, or
// an otelkinesis.ExporterOption for logs only, as [WithTraceExporterOptions] does for
// spans. Default: none.
func WithLogExporterOptions(opts ...kinesislog.Option) Option {
	return option{apply: func(s *settings) {
		for _, o := range opts {
			if o == nil {
				continue
			}
			if so, ok := o.(config.SetupOption); !ok || s.exporterOnly("WithLogExporterOptions", so) {
				s.log = append(s.log, o)
			}
		}
	}}
}
