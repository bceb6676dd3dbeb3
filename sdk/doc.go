// Package sdk sets up OpenTelemetry traces, metrics and logs on one Kinesis stream in one
// call, through one producer, and stops them with one Shutdown.
//
//	tel, err := sdk.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	if err != nil { ... }
//	defer tel.Shutdown(ctx) // flushes the three providers, then stops the producer
//	otel.SetTracerProvider(tel.TracerProvider())
//	otel.SetMeterProvider(tel.MeterProvider())
//	global.SetLoggerProvider(tel.LoggerProvider()) // go.opentelemetry.io/otel/log/global
//
// Creating the trace, metric and log exporters each on its own (trace.New, metric.New,
// log.New) gives each a producer of its own: three startup checks, three connection
// pools, and the shards' write capacity budgeted three times. [New] creates one producer
// ([otelkinesis.NewProducer]) and the three exporters on it ([otelkinesis.WithProducer]),
// so the stream is checked once and its capacity budgeted once, and by default each
// trace's spans and the log records emitted under them land on the same shard.
//
// # Why providers, not exporters
//
// New returns the SDK providers, ready to use: a TracerProvider whose spans go through a
// batching span processor (sdktrace.WithBatcher), a MeterProvider read by a
// sdkmetric.PeriodicReader, and a LoggerProvider with a sdklog.BatchProcessor, all
// writing through the one producer. What the setup must get right is the order of
// shutdown: each provider flushes into its exporter, each exporter into the producer, and
// only then may the producer stop. Handing back three exporters and a producer would
// leave that order to every caller to write again; [Providers.Shutdown] does it. To wire
// exporters into providers of your own (other processors or readers, a span processor
// that looks at spans before export), use packages trace, metric and log with
// otelkinesis.NewProducer and otelkinesis.WithProducer, as README.md shows.
//
// # Options
//
// New takes the options of package otelkinesis directly: the stream, AWS and producer
// settings and WithMeterProvider ([otelkinesis.Option]) configure the one producer (and
// WithMeterProvider the exporters' own metrics too); the encoding, compression and
// partitioning ([otelkinesis.ExporterOption]) apply to all three exporters.
// otelkinesis.WithProducer is refused: New creates the producer. The usual SDK settings
// go through this package's options, each taking the SDK's own option type:
//
//   - [WithResource]: the resource of all three providers (default: the SDK's,
//     resource.Default(), which reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES);
//   - [WithTracerProviderOptions] (a sampler, span limits, ID generator...) and
//     [WithBatchSpanProcessorOptions] (batch size, timeout, queue size);
//   - [WithMeterProviderOptions] (views, exemplar filter, more readers...) and
//     [WithPeriodicReaderOptions] (interval, timeout);
//   - [WithLoggerProviderOptions] (attribute limits...) and [WithBatchProcessorOptions]
//     (export interval, batch size, queue size);
//   - [WithTraceExporterOptions], [WithMetricExporterOptions], [WithLogExporterOptions]:
//     options of one exporter only, such as trace.WithPartitionKey,
//     metric.WithTemporalitySelector, or an encoding for that signal alone. Options of
//     the producer (stream, AWS and producer settings) are refused there: there is one
//     producer, so give them to New itself.
//
// Options of one kind given more than once add up, in the order given, after the
// settings New makes itself (so a sdktrace.WithResource given through
// WithTracerProviderOptions wins over WithResource for the TracerProvider).
//
// # Environment
//
// With no options, the settings come from the environment as they do for the exporters
// and NewProducer: OTEL_EXPORTER_KINESIS_STREAM_NAME (or _STREAM_ARN) and the other
// OTEL_EXPORTER_KINESIS_* variables, listed in the documentation of packages trace, metric
// and log. The one producer reads the shared forms (OTEL_EXPORTER_KINESIS_<NAME>), as
// NewProducer does; the signal-specific forms of the encoding, compression and
// partitioning variables (OTEL_EXPORTER_KINESIS_TRACES_ENCODING...) apply to their
// exporter, and those of the stream, AWS and producer variables do not apply, since the
// three signals share one producer. The SDK reads its own variables as usual
// (OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL and _TIMEOUT, OTEL_BLRP_*, OTEL_TRACES_SAMPLER,
// resource variables).
//
// # Errors
//
// Every error starts with one "otelkinesis:" and says what it is about: the producer
// ("otelkinesis: producer: ..."), an exporter ("otelkinesis: traces exporter: ..."), an
// option of this package, or a step of Shutdown. When New fails it leaves nothing
// running.
package sdk
