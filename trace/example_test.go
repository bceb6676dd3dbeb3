package trace_test

import (
	"context"
	"fmt"
	"log"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// Wire the exporter into a TracerProvider. Here the stream is an in-process kinesistest
// endpoint; against AWS, drop WithEndpointURL and WithAWSConfig (or set only
// OTEL_EXPORTER_KINESIS_STREAM_NAME and AWS_REGION in the environment and call New(ctx)).
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	if _, err := srv.CreateStream("telemetry", 2); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	exp, err := kinesistrace.New(ctx,
		otelkinesis.WithStreamName("telemetry"),
		otelkinesis.WithEndpointURL(srv.URL()),
		otelkinesis.WithAWSConfig(srv.AWSConfig()),
		otelkinesis.WithCompression(otelkinesis.CompressionZstd),
	)
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))

	tracer := tp.Tracer("example")
	_, span := tracer.Start(ctx, "checkout")
	span.End()

	// TracerProvider.Shutdown flushes its batcher into the exporter, then shuts the
	// exporter down, which delivers everything it holds.
	if err := tp.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Kinesis records on the stream:", len(srv.Stream("telemetry").AllRecords()))
	// Output: Kinesis records on the stream: 1
}
