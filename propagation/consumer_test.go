package propagation

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestConsumerSpans(t *testing.T) {
	tp, rec := tracing(t)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	p := mustProducer(t, WithPropagator(prop), WithFormat(FormatEnvelope))
	c := mustConsumer(t, WithPropagator(prop), WithTracerProvider(tp))

	ctxA := producerContext(t)
	ctxB := trace.ContextWithSpanContext(context.Background(), testSC(t, "").WithSpanID(trace.SpanID{7, 7, 7, 7, 7, 7, 7, 7}))
	_, _, dataA, _, _ := p.Inject(ctxA, "group-1", "", []byte("a"))
	_, _, dataB, _, _ := p.Inject(ctxB, "group-2", "", []byte("b"))
	ev := events.KinesisEvent{Records: []events.KinesisEventRecord{
		{EventID: "shardId-000000000001:100", EventSourceArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/c1:1700000000",
			Kinesis: events.KinesisRecord{PartitionKey: "group-1", Data: dataA, SequenceNumber: "100"}},
		{EventID: "shardId-000000000001:101", EventSourceArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
			Kinesis: events.KinesisRecord{PartitionKey: "group-2", Data: dataB, SequenceNumber: "101"}},
		{EventID: "shardId-000000000001:102", EventSourceArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
			Kinesis: events.KinesisRecord{PartitionKey: "group-3", Data: []byte("no context"), SequenceNumber: "102"}},
	}}
	msgs := c.ExtractLambdaEvent(context.Background(), &ev)
	for i, m := range msgs {
		if m.Stream != "orders" || m.ShardID != "shardId-000000000001" || m.SequenceNumber != ev.Records[i].Kinesis.SequenceNumber {
			t.Errorf("message %d located at %q %q %q", i, m.Stream, m.ShardID, m.SequenceNumber)
		}
	}
	if string(msgs[0].Data) != "a" || string(msgs[1].Data) != "b" || string(msgs[2].Data) != "no context" {
		t.Errorf("data %q %q %q", msgs[0].Data, msgs[1].Data, msgs[2].Data)
	}

	ctx, batch := c.StartBatch(context.Background(), msgs)
	for i := range msgs {
		_, span := c.StartRecord(ctx, &msgs[i])
		span.End()
	}
	batch.End()

	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	b := spans[3]
	if b.Name() != "process orders" || b.SpanKind() != trace.SpanKindConsumer || b.Parent().IsValid() {
		t.Errorf("batch span %q kind %v parent %v", b.Name(), b.SpanKind(), b.Parent())
	}
	if l := b.Links(); len(l) != 2 || l[0].SpanContext.SpanID() != testSC(t, "").SpanID() || l[1].SpanContext.SpanID() != (trace.SpanID{7, 7, 7, 7, 7, 7, 7, 7}) {
		t.Errorf("batch links %v", l)
	}
	if a := attrs(b); a["messaging.batch.message_count"].AsInt64() != 3 || a["messaging.destination.partition.id"].AsString() != "shardId-000000000001" {
		t.Errorf("batch attributes %v", a)
	}
	for i, s := range spans[:3] {
		a := attrs(s)
		if s.Name() != "process orders" || a["messaging.message.id"].AsString() != ev.Records[i].Kinesis.SequenceNumber ||
			a["messaging.operation.type"].AsString() != "process" {
			t.Errorf("record span %d: %q %v", i, s.Name(), a)
		}
		switch i {
		case 0, 1:
			want := msgs[i].SpanContext()
			if s.Parent().SpanID() != want.SpanID() || s.SpanContext().TraceID() != want.TraceID() || !s.Parent().IsRemote() {
				t.Errorf("record span %d parent %v, want the producer's %v", i, s.Parent(), want)
			}
			if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != b.SpanContext().SpanID() {
				t.Errorf("record span %d links %v, want the batch span", i, s.Links())
			}
		case 2:
			if s.Parent().SpanID() != b.SpanContext().SpanID() || len(s.Links()) != 0 {
				t.Errorf("record without context: parent %v links %v; want the batch span as parent", s.Parent(), s.Links())
			}
		}
	}
	// Baggage reaches the record's context.
	rctx, span := c.StartRecord(context.Background(), &msgs[0])
	span.End()
	if baggage.FromContext(rctx).Member("user").Value() != "alice" {
		t.Errorf("baggage %v", baggage.FromContext(rctx))
	}
}

func TestExtractRecord(t *testing.T) {
	c := mustConsumer(t, WithPropagator(propagation.TraceContext{}))
	r := types.Record{PartitionKey: aws.String("tp~" + testTraceparent + "~group-1"), Data: []byte("x"), SequenceNumber: aws.String("42")}
	m := c.ExtractRecord(context.Background(), "orders", "shardId-000000000000", &r)
	if m.Stream != "orders" || m.ShardID != "shardId-000000000000" || m.SequenceNumber != "42" || m.PartitionKey != "group-1" || m.Format != FormatKey {
		t.Errorf("message %+v", m)
	}
	if m := c.ExtractRecord(context.Background(), "s", "x", &types.Record{}); m.PartitionKey != "" || m.Format != FormatNone {
		t.Errorf("empty record: %+v", m)
	}
}

func TestStreamFromARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:kinesis:us-east-1:123456789012:stream/orders":                    "orders",
		"arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/app:16000": "orders",
		"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s.1-x_y":               "s.1-x_y",
		"orders": "",
		"":       "",
	} {
		if got := streamFromARN(arn); got != want {
			t.Errorf("streamFromARN(%q) = %q, want %q", arn, got, want)
		}
	}
}
