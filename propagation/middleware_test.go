package propagation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/version"
)

// fakeKinesis answers PutRecord and PutRecords like Kinesis does, over the
// JSON 1.1 protocol, and keeps the request bodies. Records whose partition key
// ends in "fail" get a per-record ProvisionedThroughputExceededException.
type fakeKinesis struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (f *fakeKinesis) Do(req *http.Request) (*http.Response, error) {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	var out any
	switch target := req.Header.Get("X-Amz-Target"); target {
	case "Kinesis_20131202.PutRecord":
		out = map[string]any{"ShardId": "shardId-000000000001", "SequenceNumber": "4950001"}
	case "Kinesis_20131202.PutRecords":
		var results []map[string]any
		failed := 0
		for i, r := range body["Records"].([]any) {
			if strings.HasSuffix(r.(map[string]any)["PartitionKey"].(string), "fail") {
				failed++
				results = append(results, map[string]any{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"})
				continue
			}
			results = append(results, map[string]any{"ShardId": fmt.Sprintf("shardId-00000000000%d", i%2), "SequenceNumber": fmt.Sprint(4950100 + i)})
		}
		out = map[string]any{"FailedRecordCount": failed, "Records": results}
	default:
		return nil, fmt.Errorf("fake Kinesis: unexpected target %q", target)
	}
	b, _ := json.Marshal(out)
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}, nil
}

func (f *fakeKinesis) last() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

// newTestClient returns a Kinesis client on the fake, with the given API
// options.
func newTestClient(fake *fakeKinesis, apiOptions ...func(*kinesisMiddlewareStack) error) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
		HTTPClient:  fake,
		APIOptions:  apiOptions,
		Retryer:     aws.NopRetryer{},
	})
}

func tracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestMiddlewarePutRecords(t *testing.T) {
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}))
	fake := &fakeKinesis{}
	client := newTestClient(fake, p.Middleware())

	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	in := &kinesis.PutRecordsInput{
		StreamName: aws.String("orders"),
		Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("group-1"), Data: []byte("a")},
			{PartitionKey: aws.String("group-2"), Data: []byte("b")},
			{PartitionKey: aws.String("group-fail"), Data: []byte("c")},
		},
	}
	out, err := client.PutRecords(ctx, in)
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	if *out.FailedRecordCount != 1 {
		t.Fatalf("FailedRecordCount = %d", *out.FailedRecordCount)
	}
	// The caller's input is untouched.
	if *in.Records[0].PartitionKey != "group-1" || in.Records[0].ExplicitHashKey != nil {
		t.Errorf("caller's input changed: %q", *in.Records[0].PartitionKey)
	}

	spans := rec.Ended()
	var creates []sdktrace.ReadOnlySpan
	var send sdktrace.ReadOnlySpan
	for _, s := range spans {
		switch s.Name() {
		case "create orders":
			creates = append(creates, s)
		case "send orders":
			send = s
		}
	}
	if len(creates) != 3 || send == nil {
		t.Fatalf("spans: %d create, send %v", len(creates), send != nil)
	}
	// What went on the wire: each record's key carries its create span.
	body := fake.last()
	for i, r := range body["Records"].([]any) {
		r := r.(map[string]any)
		biz := *in.Records[i].PartitionKey
		c := creates[i]
		wantPK := "tp~" + string(appendTraceparent(nil, c.SpanContext())) + "~" + biz
		if r["PartitionKey"] != wantPK || r["ExplicitHashKey"] != md5Decimal(biz) {
			t.Errorf("record %d sent as %q %q, want %q %q", i, r["PartitionKey"], r["ExplicitHashKey"], wantPK, md5Decimal(biz))
		}
		if c.SpanKind() != trace.SpanKindProducer || c.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("create span %d: kind %v parent %v", i, c.SpanKind(), c.Parent())
		}
		a := attrs(c)
		if a["messaging.system"].AsString() != "aws.kinesis" || a["messaging.destination.name"].AsString() != "orders" ||
			a["messaging.operation.type"].AsString() != "create" || a["otelkinesis.propagation.format"].AsString() != "key" {
			t.Errorf("create span %d attributes %v", i, a)
		}
		if i < 2 {
			if a["messaging.destination.partition.id"].AsString() != fmt.Sprintf("shardId-00000000000%d", i) ||
				a["messaging.message.id"].AsString() != fmt.Sprint(4950100+i) || c.Status().Code == codes.Error {
				t.Errorf("create span %d result attributes %v, status %v", i, a, c.Status())
			}
		} else if c.Status().Code != codes.Error || a["error.type"].AsString() != "ProvisionedThroughputExceededException" {
			t.Errorf("failed record's span: status %v, attributes %v", c.Status(), a)
		}
	}
	if send.SpanKind() != trace.SpanKindClient || len(send.Links()) != 3 || send.Status().Code != codes.Error {
		t.Errorf("send span: kind %v, %d links, status %v", send.SpanKind(), len(send.Links()), send.Status())
	}
	for i, l := range send.Links() {
		if l.SpanContext.SpanID() != creates[i].SpanContext().SpanID() {
			t.Errorf("link %d to %v", i, l.SpanContext)
		}
	}
	if a := attrs(send); a["messaging.batch.message_count"].AsInt64() != 3 {
		t.Errorf("send span attributes %v", a)
	}
	if sc := send.InstrumentationScope(); sc.Name != ScopeName || sc.Version != version.Version {
		t.Errorf("send span scope %q %q, want %q %q", sc.Name, sc.Version, ScopeName, version.Version)
	}
}

func TestMiddlewarePutRecord(t *testing.T) {
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}), WithFormat(FormatEnvelope))
	fake := &fakeKinesis{}
	client := newTestClient(fake, p.Middleware())
	data := []byte("payload")
	in := &kinesis.PutRecordInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/orders"), PartitionKey: aws.String("group-1"), Data: data}
	if _, err := client.PutRecord(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "send orders" || spans[0].SpanKind() != trace.SpanKindProducer {
		t.Fatalf("spans %v", spans)
	}
	a := attrs(spans[0])
	if a["messaging.destination.partition.id"].AsString() != "shardId-000000000001" || a["messaging.message.id"].AsString() != "4950001" {
		t.Errorf("attributes %v", a)
	}
	body := fake.last()
	if body["PartitionKey"] != "group-1" || body["ExplicitHashKey"] != nil {
		t.Errorf("key sent as %v %v", body["PartitionKey"], body["ExplicitHashKey"])
	}
	sent, _ := base64Decode(body["Data"].(string))
	m := mustConsumer(t, WithPropagator(propagation.TraceContext{})).Extract(context.Background(), "group-1", sent, nil)
	if string(m.Data) != "payload" || m.SpanContext().SpanID() != spans[0].SpanContext().SpanID() || m.Format != FormatEnvelope {
		t.Errorf("sent record extracts to %q %v %v", m.Data, m.SpanContext(), m.Format)
	}
	if string(in.Data) != "payload" || len(in.Data) != len(data) {
		t.Errorf("caller's data changed")
	}
}

func TestMiddlewareStrict(t *testing.T) {
	tp, rec := tracing(t)
	long := strings.Repeat("k", MaxWrappedBusinessKeyLength+1)
	in := &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: []types.PutRecordsRequestEntry{
		{PartitionKey: aws.String("ok"), Data: []byte("a")},
		{PartitionKey: aws.String(long), Data: []byte("b")},
	}}

	// Not strict: sent, the long key as it was.
	var handled []error
	restore := setErrorHandler(func(err error) { handled = append(handled, err) })
	defer restore()
	fake := &fakeKinesis{}
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}))
	if _, err := newTestClient(fake, p.Middleware()).PutRecords(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := fake.last()["Records"].([]any)[1].(map[string]any)["PartitionKey"]; got != long {
		t.Errorf("long key sent as %v", got)
	}
	if len(handled) != 1 || !errors.Is(handled[0], ErrKeyTooLong) || !strings.Contains(handled[0].Error(), "record 1") {
		t.Errorf("otel.Handle got %v", handled)
	}
	var events int
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			if e.Name == "context not carried" {
				events++
			}
		}
	}
	if events != 1 {
		t.Errorf("%d spans note the record without context", events)
	}

	// Strict: nothing sent, the caller sees the error.
	fake = &fakeKinesis{}
	p = mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}), WithStrict())
	_, err := newTestClient(fake, p.Middleware()).PutRecords(context.Background(), in)
	if !errors.Is(err, ErrKeyTooLong) || len(fake.bodies) != 0 {
		t.Errorf("strict: err %v, %d requests sent", err, len(fake.bodies))
	}
}

func TestMiddlewareLeavesOtherCallsAlone(t *testing.T) {
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp))
	called := false
	client := newTestClient(&fakeKinesis{}, p.Middleware(), func(s *kinesisMiddlewareStack) error {
		called = true
		return nil
	})
	_, err := client.ListShards(context.Background(), &kinesis.ListShardsInput{StreamName: aws.String("s")})
	if err == nil || !called {
		t.Fatalf("ListShards: %v (the fake only answers puts)", err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans for ListShards", n)
	}
}
