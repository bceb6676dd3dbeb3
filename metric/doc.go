// Package metric is an OpenTelemetry metric exporter (sdkmetric.Exporter) that writes
// metrics to an Amazon Kinesis data stream, straight from the service.
//
//	exp, err := metric.New(ctx, otelkinesis.WithStreamName("telemetry"))
//	if err != nil { ... }
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
//	defer mp.Shutdown(ctx)
//
// Each user record is one self-contained OTLP ExportMetricsServiceRequest, written
// straight from the SDK's metricdata (every data type: gauges, sums, histograms,
// exponential histograms, summaries, with exemplars) and proven equal, field for field,
// to what the official otlpmetrichttp exporter sends for the same data. Records are
// keyed by a hash of their resource, so one resource's series stay on one shard and in
// order (otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom) spreads them
// instead); a metric too large for a record is split between its data points.
//
// Temporality and aggregation come from WithTemporalitySelector and
// WithAggregationSelector; the defaults are cumulative and the SDK's default
// aggregation. Settings and the wire format are shared with the trace and log exporters:
// see package otelkinesis and README.md.
package metric
