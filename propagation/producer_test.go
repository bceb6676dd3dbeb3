package propagation

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The JSON format on a payload that is not a JSON object: the fallback
// carries the context, or, without one, the record goes as it came and the
// error says why.
func TestJSONFallback(t *testing.T) {
	data := []byte("opaque, not JSON")
	for _, pc := range propCases[:2] {
		ctx := producerContext(t)
		c := mustConsumer(t, WithPropagator(pc.prop))

		p := mustProducer(t, WithPropagator(pc.prop), WithFormat(FormatJSON))
		pk, ehk, out, f, err := p.Inject(ctx, "group-7", "", data)
		if !errors.Is(err, ErrNotJSONObject) || f != FormatNone || pk != "group-7" || ehk != "" || !bytes.Equal(out, data) {
			t.Errorf("%s, no fallback: %q %q %q %v %v; want the record as it came and ErrNotJSONObject", pc.name, pk, ehk, out, f, err)
		}

		p = mustProducer(t, WithPropagator(pc.prop), WithFormat(FormatJSON), WithFallback(FormatEnvelope))
		pk, ehk, out, f, err = p.Inject(ctx, "group-7", "", data)
		if err != nil || f != FormatEnvelope || pk != "group-7" || ehk != "" || !IsEnvelope(out) {
			t.Fatalf("%s, envelope fallback: %q %q %v %v", pc.name, pk, ehk, f, err)
		}
		checkExtracted(t, c.Extract(context.Background(), pk, out, nil), "group-7", data, FormatEnvelope, pc, true)

		p = mustProducer(t, WithPropagator(pc.prop), WithFormat(FormatJSON), WithFallback(FormatKey))
		pk, ehk, out, f, err = p.Inject(ctx, "group-7", "", data)
		if err != nil || f != FormatKey || !strings.HasSuffix(pk, "~group-7") || ehk != md5Decimal("group-7") || !bytes.Equal(out, data) {
			t.Fatalf("%s, key fallback: %q %q %q %v %v", pc.name, pk, ehk, out, f, err)
		}
		checkExtracted(t, c.Extract(context.Background(), pk, out, nil), "group-7", data, FormatKey, pc, false)

		// A JSON object still goes in the JSON field, fallback or not.
		obj := []byte(`{"a":1}`)
		if _, _, out, f, err = p.Inject(ctx, "group-7", "", obj); err != nil || f != FormatJSON || !bytes.HasPrefix(out, []byte(`{"_otel":{`)) {
			t.Errorf("%s: JSON object with a fallback: %q %v %v", pc.name, out, f, err)
		}
	}
}

// A JSON field of another name, end to end: the producer writes it, a
// consumer told the same name takes it off, a default consumer does not
// touch it, and look-alikes are those of the new name.
func TestCustomJSONField(t *testing.T) {
	const field = "trace\"ctx"
	prop := propagation.TraceContext{}
	p := mustProducer(t, WithPropagator(prop), WithFormat(FormatJSON), WithJSONField(field))
	c := mustConsumer(t, WithPropagator(prop), WithJSONField(field))
	data := []byte(`{"_otel":{"traceparent":"` + testTraceparent + `"},"a":1}`)
	ctx := trace.ContextWithSpanContext(context.Background(), testSC(t, ""))

	_, _, out, f, err := p.Inject(ctx, "k", "", data)
	want := `{"trace\"ctx":{"traceparent":"` + testTraceparent + `"},` + string(data[1:])
	if err != nil || f != FormatJSON || string(out) != want {
		t.Fatalf("Inject = %s, %v, %v; want %s", out, f, err, want)
	}
	m := c.Extract(context.Background(), "k", out, nil)
	if m.Format != FormatJSON || !bytes.Equal(m.Data, data) || m.SpanContext().SpanID() != testSC(t, "").SpanID() || m.Err != nil {
		t.Errorf("same field: %v %q %v %v", m.Format, m.Data, m.SpanContext(), m.Err)
	}
	// A consumer of the default field finds no field of its name first (the
	// _otel member now comes second) and leaves the data as sent: producer
	// and consumer must name the same field.
	m = mustConsumer(t, WithPropagator(prop)).Extract(context.Background(), "k", out, nil)
	if m.Format != FormatNone || !bytes.Equal(m.Data, out) {
		t.Errorf("default consumer: %v %q", m.Format, m.Data)
	}

	// Without context, a first member of the new name is protected; one
	// named _otel is not this producer's field, so it is left alone.
	look := []byte(`{"trace\u0022ctx":{},"a":1}`)
	_, _, out, f, err = p.Inject(context.Background(), "k", "", look)
	if err != nil || f != FormatNone || bytes.Equal(out, look) {
		t.Fatalf("look-alike of the field: %q %v %v", out, f, err)
	}
	if m := c.Extract(context.Background(), "k", out, nil); !bytes.Equal(m.Data, look) || m.Format != FormatNone {
		t.Errorf("look-alike read back as %q %v", m.Data, m.Format)
	}
	if _, _, out, _, _ = p.Inject(context.Background(), "k", "", data); !bytes.Equal(out, data) {
		t.Errorf("an _otel member was wrapped for a producer of another field: %q", out)
	}
}

func TestInjectPutRecord(t *testing.T) {
	p := mustProducer(t, WithPropagator(propagation.TraceContext{}))
	ctx := trace.ContextWithSpanContext(context.Background(), testSC(t, ""))
	key, data := aws.String("group-7"), []byte(`{"a":1}`)
	in := &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: key, Data: data}
	f, err := p.InjectPutRecord(ctx, in)
	if err != nil || f != FormatKey {
		t.Fatalf("InjectPutRecord: %v, %v", f, err)
	}
	if *in.PartitionKey != "tp~"+testTraceparent+"~group-7" || aws.ToString(in.ExplicitHashKey) != md5Decimal("group-7") || !bytes.Equal(in.Data, data) {
		t.Errorf("input became %q %q %q", *in.PartitionKey, aws.ToString(in.ExplicitHashKey), in.Data)
	}
	if *key != "group-7" || in.PartitionKey == key {
		t.Error("the caller's key was written to instead of replaced")
	}

	// The envelope format replaces the data, never writing into it; an
	// explicit hash key of the caller's is kept.
	p = mustProducer(t, WithPropagator(propagation.TraceContext{}), WithFormat(FormatEnvelope))
	in = &kinesis.PutRecordInput{PartitionKey: key, ExplicitHashKey: aws.String("42"), Data: data}
	if f, err := p.InjectPutRecord(ctx, in); err != nil || f != FormatEnvelope {
		t.Fatalf("envelope: %v, %v", f, err)
	}
	m := mustConsumer(t, WithPropagator(propagation.TraceContext{})).Extract(context.Background(), *in.PartitionKey, in.Data, nil)
	if *in.PartitionKey != "group-7" || *in.ExplicitHashKey != "42" || string(data) != `{"a":1}` ||
		string(m.Data) != `{"a":1}` || m.SpanContext().SpanID() != testSC(t, "").SpanID() {
		t.Errorf("envelope: %q %q, caller's data %q, read back %q %v", *in.PartitionKey, *in.ExplicitHashKey, data, m.Data, m.SpanContext())
	}

	// No context: the input is left alone.
	in = &kinesis.PutRecordInput{PartitionKey: key, Data: data}
	if f, err := p.InjectPutRecord(context.Background(), in); err != nil || f != FormatNone || in.PartitionKey != key || in.ExplicitHashKey != nil || !bytes.Equal(in.Data, data) {
		t.Errorf("no context: %v %v, input %q %v %q", f, err, *in.PartitionKey, in.ExplicitHashKey, in.Data)
	}
}

// attrString returns a span's string attribute, or "" when it has none.
func attrString(s sdktrace.ReadOnlySpan, key string) string {
	return attrs(s)[attribute.Key(key)].AsString()
}

// checkMessagingSpan checks what every producer span says of itself.
func checkMessagingSpan(t *testing.T, s sdktrace.ReadOnlySpan, name string, kind trace.SpanKind, op string) {
	t.Helper()
	if s.Name() != name || s.SpanKind() != kind {
		t.Errorf("span %q (%v), want %q (%v)", s.Name(), s.SpanKind(), name, kind)
	}
	if attrString(s, "messaging.system") != "aws.kinesis" || attrString(s, "messaging.destination.name") != "orders" ||
		attrString(s, "messaging.operation.type") != op || attrString(s, "messaging.operation.name") != op {
		t.Errorf("span %q attributes %v", s.Name(), s.Attributes())
	}
}

// StartPutRecord and EndPutRecord, called by the caller around its own call.
func TestStartPutRecordDirectly(t *testing.T) {
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}))
	c := mustConsumer(t, WithPropagator(propagation.TraceContext{}))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	defer parent.End()

	in := &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("group-7"), Data: []byte("0123456789")}
	cctx, span, err := p.StartPutRecord(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if trace.SpanFromContext(cctx) != span || span.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Error("the returned context does not hold the send span, in the caller's trace")
	}
	if m := c.Extract(context.Background(), *in.PartitionKey, in.Data, nil); m.SpanContext().SpanID() != span.SpanContext().SpanID() || m.PartitionKey != "group-7" {
		t.Errorf("the record carries %v for %q, want the send span", m.SpanContext(), m.PartitionKey)
	}
	p.EndPutRecord(span, &kinesis.PutRecordOutput{ShardId: aws.String("shardId-000000000003"), SequenceNumber: aws.String("4950042")}, nil)

	// A failed call: the error on the span, no shard or sequence number.
	in = &kinesis.PutRecordInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/orders"), PartitionKey: aws.String("group-8"), Data: []byte("x")}
	_, span, err = p.StartPutRecord(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	p.EndPutRecord(span, nil, errors.New("connection reset"))

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended", len(spans))
	}
	ok, failed := spans[0], spans[1]
	for _, s := range spans {
		checkMessagingSpan(t, s, "send orders", trace.SpanKindProducer, "send")
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span parent %v", s.Parent())
		}
	}
	a := attrs(ok)
	if a["messaging.destination.partition.id"].AsString() != "shardId-000000000003" || a["messaging.message.id"].AsString() != "4950042" ||
		a["messaging.message.body.size"].AsInt64() != 10 || a["otelkinesis.propagation.format"].AsString() != "key" || ok.Status().Code == codes.Error {
		t.Errorf("delivered span: attributes %v, status %v", a, ok.Status())
	}
	a = attrs(failed)
	if _, has := a["messaging.message.id"]; has || a["error.type"].AsString() != "_OTHER" || failed.Status().Code != codes.Error ||
		failed.Status().Description != "connection reset" || len(failed.Events()) == 0 {
		t.Errorf("failed span: attributes %v, status %v, events %v", a, failed.Status(), failed.Events())
	}
}

// StartPutRecords and PutRecordsSpans.End, called by the caller around its
// own call.
func TestStartPutRecordsDirectly(t *testing.T) {
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}), WithFormat(FormatEnvelope))
	c := mustConsumer(t, WithPropagator(propagation.TraceContext{}))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	defer parent.End()

	in := &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("group-1"), Data: []byte("a")},
		{PartitionKey: aws.String("group-2"), Data: []byte("bb")},
		{PartitionKey: aws.String("group-3"), Data: []byte("ccc")},
	}}
	cctx, spans, err := p.StartPutRecords(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if trace.SpanFromContext(cctx) != spans.Send() {
		t.Error("the returned context does not hold the send span")
	}
	for i := range in.Records {
		m := c.Extract(context.Background(), *in.Records[i].PartitionKey, in.Records[i].Data, nil)
		if m.SpanContext().SpanID() != spans.Create(i).SpanContext().SpanID() || m.Format != FormatEnvelope {
			t.Errorf("record %d carries %v in %v, want its create span", i, m.SpanContext(), m.Format)
		}
	}
	spans.End(&kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(1), Records: []types.PutRecordsResultEntry{
		{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("100")},
		{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")},
		{ShardId: aws.String("shardId-000000000001"), SequenceNumber: aws.String("101")},
	}}, nil)

	var creates []sdktrace.ReadOnlySpan
	var send sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			send = s
		} else {
			creates = append(creates, s)
		}
	}
	if len(creates) != 3 || send == nil {
		t.Fatalf("%d create spans, send span %v", len(creates), send != nil)
	}
	checkMessagingSpan(t, send, "send orders", trace.SpanKindClient, "send")
	if attrs(send)["messaging.batch.message_count"].AsInt64() != 3 || send.Status().Code != codes.Error ||
		send.Status().Description != "1 of 3 records failed" || len(send.Links()) != 3 || send.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("send span: attributes %v, status %v, %d links", send.Attributes(), send.Status(), len(send.Links()))
	}
	for i, s := range creates {
		checkMessagingSpan(t, s, "create orders", trace.SpanKindProducer, "create")
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || send.Links()[i].SpanContext.SpanID() != s.SpanContext().SpanID() {
			t.Errorf("create span %d: parent %v, linked from %v", i, s.Parent(), send.Links()[i].SpanContext)
		}
		a := attrs(s)
		if a["messaging.message.body.size"].AsInt64() != int64(i+1) || a["otelkinesis.propagation.format"].AsString() != "envelope" {
			t.Errorf("create span %d attributes %v", i, a)
		}
	}
	for i, want := range []struct{ shard, seq string }{{"shardId-000000000000", "100"}, {}, {"shardId-000000000001", "101"}} {
		a := attrs(creates[i])
		if a["messaging.destination.partition.id"].AsString() != want.shard || a["messaging.message.id"].AsString() != want.seq {
			t.Errorf("create span %d: shard %v, sequence number %v", i, a["messaging.destination.partition.id"], a["messaging.message.id"])
		}
	}
	if s := creates[1]; s.Status().Code != codes.Error || s.Status().Description != "InternalFailure: try again" || attrString(s, "error.type") != "InternalFailure" {
		t.Errorf("failed record's span: status %v, attributes %v", s.Status(), s.Attributes())
	}

	// A call that failed as a whole fails every span; no response at all
	// says so on every create span.
	tp2, rec2 := tracing(t)
	p = mustProducer(t, WithTracerProvider(tp2), WithPropagator(propagation.TraceContext{}))
	in = &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("a")}}}
	_, spans, _ = p.StartPutRecords(ctx, in)
	spans.End(nil, errors.New("throttled"))
	_, spans, _ = p.StartPutRecords(ctx, in)
	spans.End(nil, nil)
	for i, s := range rec2.Ended() {
		if s.Status().Code != codes.Error {
			t.Errorf("span %d (%s) of a failed call: status %v", i, s.Name(), s.Status())
		}
	}
	var nilSpans *PutRecordsSpans
	nilSpans.End(nil, nil) // does nothing
}
