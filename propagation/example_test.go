package propagation_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/propagation"
)

// exampleContext stands for the context of a span the producer is in.
func exampleContext() context.Context {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
}

func ExampleKeyCarrier() {
	// Any propagator can write into the carrier; the key keeps the traceparent.
	var c propagation.KeyCarrier
	otelprop.TraceContext{}.Inject(exampleContext(), &c)
	pk, ehk, err := c.PartitionKey("order-17")
	if err != nil {
		panic(err)
	}
	fmt.Println("PartitionKey:   ", pk)
	fmt.Println("ExplicitHashKey:", ehk)

	// The consumer takes the business key back and extracts the context.
	biz, tp, _ := propagation.UnwrapKey(pk)
	ctx := otelprop.TraceContext{}.Extract(context.Background(), &propagation.KeyCarrier{Traceparent: tp})
	fmt.Println("business key:   ", biz)
	fmt.Println("trace ID:       ", trace.SpanContextFromContext(ctx).TraceID())
	// Output:
	// PartitionKey:    tp~00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~order-17
	// ExplicitHashKey: 763679404708269414593072851680915699
	// business key:    order-17
	// trace ID:        4bf92f3577b34da6a3ce929d0e0e4736
}

func ExampleAppendEnvelope() {
	// Collect the fields of any propagator, then frame the data with them.
	var headers propagation.TagCarrier
	otelprop.TraceContext{}.Inject(exampleContext(), &headers)
	data, err := propagation.AppendEnvelope(nil, headers, []byte(`{"event":"created"}`))
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x ...\n", data[:8])

	// The consumer opens it: the headers, and the data exactly as it was.
	h, payload, err := propagation.OpenEnvelope(data)
	fmt.Println(h.Get("traceparent"), string(payload), err)
	// Output:
	// fe 4f 54 4b 01 01 00 45 ...
	// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 {"event":"created"} <nil>
}

func ExampleInsertJSONField() {
	headers := propagation.TagCarrier{}
	otelprop.TraceContext{}.Inject(exampleContext(), &headers)
	data, err := propagation.InsertJSONField(nil, propagation.DefaultJSONField, headers, []byte(`{"event":"created"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))

	_, original, err := propagation.ExtractJSONField(propagation.DefaultJSONField, data)
	fmt.Println(string(original), err)
	// Output:
	// {"_otel":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},"event":"created"}
	// {"event":"created"} <nil>
}

func ExampleTagCarrier() {
	// The tags of a KPL user record: the context joins the record's own tags.
	tags := propagation.TagCarrier{{Key: "otelkinesis.signal", Value: "traces"}}
	otelprop.TraceContext{}.Inject(exampleContext(), &tags)
	for _, t := range tags {
		fmt.Printf("%s=%s\n", t.Key, t.Value)
	}
	// Output:
	// otelkinesis.signal=traces
	// traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
}

func ExampleProducer_InjectEntry() {
	p, err := propagation.NewProducer(
		propagation.WithPropagator(otelprop.TraceContext{}),
		propagation.WithFallback(propagation.FormatEnvelope),
	)
	if err != nil {
		panic(err)
	}
	entry := types.PutRecordsRequestEntry{PartitionKey: aws.String("order-17"), Data: []byte(`{"event":"created"}`)}
	f, err := p.InjectEntry(exampleContext(), &entry)
	fmt.Println(f, err)
	fmt.Println(*entry.PartitionKey)
	fmt.Println(*entry.ExplicitHashKey)
	// Output:
	// key <nil>
	// tp~00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~order-17
	// 763679404708269414593072851680915699
}

func ExampleProducer_Middleware() {
	p, err := propagation.NewProducer() // the global propagator and tracer provider
	if err != nil {
		panic(err)
	}
	// Every PutRecord and PutRecords call of this client now starts producer
	// spans and carries their context on its records.
	client := kinesis.New(kinesis.Options{Region: "us-east-1"}, func(o *kinesis.Options) {
		o.APIOptions = append(o.APIOptions, p.Middleware())
	})
	_ = client
}

func ExampleConsumer_ExtractLambda() {
	c, err := propagation.NewConsumer(propagation.WithPropagator(otelprop.TraceContext{}))
	if err != nil {
		panic(err)
	}
	// A Lambda handler for a Kinesis event source.
	handler := func(ctx context.Context, ev events.KinesisEvent) error {
		msgs := c.ExtractLambdaEvent(ctx, &ev)
		ctx, batch := c.StartBatch(ctx, msgs) // linked to every producer span
		defer batch.End()
		for i := range msgs {
			m := &msgs[i]
			_, span := c.StartRecord(ctx, m) // a child of the record's producer span
			fmt.Println(m.Stream, m.ShardID, m.PartitionKey, string(m.Data), m.SpanContext().TraceID())
			span.End()
		}
		return nil
	}

	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{{
		EventID:        "shardId-000000000001:49545115243490985018280067714973144582180062593244200961",
		EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
		Kinesis: events.KinesisRecord{
			PartitionKey: "tp~00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~order-17",
			Data:         []byte(`{"event":"created"}`),
		},
	}}}
	_ = handler(context.Background(), ev)
	// Output:
	// orders shardId-000000000001 order-17 {"event":"created"} 4bf92f3577b34da6a3ce929d0e0e4736
}
