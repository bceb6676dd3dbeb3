package sdk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	"github.com/otelkinesis/otelkinesis/sdk"
)

// Set up traces, metrics and logs on one stream with one call, and stop them with one
// Shutdown. Here the stream is an in-process kinesistest endpoint; against AWS, drop
// WithEndpointURL and WithAWSConfig (or set only OTEL_EXPORTER_KINESIS_STREAM_NAME and
// AWS_REGION in the environment and call sdk.New(ctx)). A service would also make the
// providers global: otel.SetTracerProvider(tel.TracerProvider()) and so on.
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, err := srv.CreateStream("telemetry", 2)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	tel, err := sdk.New(ctx,
		otelkinesis.WithStreamName("telemetry"),
		otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()),
		sdk.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
	)
	if err != nil {
		log.Fatal(err)
	}

	ctx, span := tel.TracerProvider().Tracer("checkout").Start(ctx, "place order")
	orders, _ := tel.MeterProvider().Meter("checkout").Int64Counter("orders")
	orders.Add(ctx, 1)
	var rec otellog.Record
	rec.SetBody(attribute.StringValue("order placed"))
	tel.LoggerProvider().Logger("checkout").Emit(ctx, rec) // under the span: on its shard
	span.End()

	// The providers flush into the exporters, then the one producer delivers and stops.
	if err := tel.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("DescribeStreamSummary calls:", len(srv.RequestsFor("DescribeStreamSummary")))
	fmt.Println("signals on the stream:", signals(stream))
	// Output:
	// DescribeStreamSummary calls: 1
	// signals on the stream: [logs metrics traces]
}

// The usual SDK settings go through the options of this package, each taking the SDK's
// own option type; the options of one exporter through WithTraceExporterOptions,
// WithMetricExporterOptions and WithLogExporterOptions.
func Example_options() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("telemetry", 2); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	tel, err := sdk.New(ctx,
		// The producer and the three exporters.
		otelkinesis.WithStreamName("telemetry"),
		otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()),
		otelkinesis.WithCompression(otelkinesis.CompressionZstd),
		// The SDK's settings.
		sdk.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
		sdk.WithTracerProviderOptions(sdktrace.WithSampler(sdktrace.TraceIDRatioBased(0.25))),
		sdk.WithBatchSpanProcessorOptions(sdktrace.WithBatchTimeout(time.Second)),
		sdk.WithPeriodicReaderOptions(sdkmetric.WithInterval(15*time.Second)),
		// One exporter's own: delta temporality and OTLP/JSON for metrics alone.
		sdk.WithMetricExporterOptions(
			kinesismetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector),
			otelkinesis.WithEncoding(otelkinesis.EncodingJSON)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	fmt.Println("ready")
	// Output: ready
}

// signals returns the signals of the user records on stream, as their tags say.
func signals(stream *kinesistest.Stream) []string {
	seen := map[string]bool{}
	for _, r := range stream.AllRecords() {
		urs, err := consumer.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			log.Fatal(err)
		}
		for _, ur := range urs {
			for _, tag := range ur.Tags {
				if tag.Key == "otel.signal" {
					seen[tag.Value] = true
				}
			}
		}
	}
	var out []string
	for _, s := range []string{"logs", "metrics", "traces"} {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}
