package otelkinesis_test

import (
	"context"
	"fmt"
	"log"

	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	"github.com/otelkinesis/otelkinesis/propagation"
)

// Put a business event of your own through the producer, with tags: here a tag of the
// application's and the trace context of the code that produced the event (package
// propagation writes it into the tags). The producer aggregates user records per shard in
// the KPL format, so the tags travel with the event; a consumer deaggregates the records
// and gets the event, its tags and its context back. The stream is kinesistest's
// in-process Kinesis.
func ExampleProducer_Put() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, err := srv.CreateStream("orders", 2)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	producer, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("orders"),
		otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig()))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Shutdown(ctx)

	// The span the event was produced under (in a real service, from a tracer).
	span := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	spanCtx := trace.ContextWithSpanContext(ctx, span)
	prop, err := propagation.NewProducer(propagation.WithPropagator(otelprop.TraceContext{}))
	if err != nil {
		log.Fatal(err)
	}
	tags, err := prop.InjectTags(spanCtx, []otelkinesis.Tag{{Key: "event", Value: "order-created"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := producer.Put(ctx, "order-17", "", []byte(`{"order":17}`), tags); err != nil {
		log.Fatal(err)
	}
	if err := producer.Flush(ctx); err != nil {
		log.Fatal(err)
	}

	// The consumer side.
	cons, err := propagation.NewConsumer(propagation.WithPropagator(otelprop.TraceContext{}))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range stream.AllRecords() {
		records, err := consumer.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			log.Fatal(err)
		}
		for _, ur := range records {
			m := cons.Extract(ctx, ur.PartitionKey, ur.Data, ur.Tags)
			fmt.Printf("%s %s, aggregated: %v\n", m.PartitionKey, m.Data, ur.Aggregated)
			fmt.Printf("event tag: %s\n", propagation.TagCarrier(m.Tags).Get("event"))
			fmt.Printf("trace %s, parent span %s, from the %v\n", m.SpanContext().TraceID(), m.SpanContext().SpanID(), m.Format)
		}
	}
	// Output:
	// order-17 {"order":17}, aggregated: true
	// event tag: order-created
	// trace 4bf92f3577b34da6a3ce929d0e0e4736, parent span 00f067aa0ba902b7, from the tags
}
