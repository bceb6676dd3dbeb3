package otelkinesis_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/propagation"
)

// The scenario of package propagation's emulator tests: events keyed by group ID on a
// 2-shard stream.
const (
	tagEvents = 1000
	tagGroups = 50
	tagBatch  = 100
)

// tagEvent is event i: its business key (its group) and its data.
func tagEvent(i int) (key string, data []byte) {
	key = fmt.Sprintf("group-%02d", i%tagGroups)
	return key, fmt.Appendf(nil, `{"event":%d,"group":%q,"n":%d}`, i, key, i/tagGroups)
}

// TestTagsCarryContextOnEmulators: trace context in the tags of user records, as an
// outside user produces them. Each event is put with Producer.Put, its tags holding the
// context of its own PRODUCER span (propagation.Producer.InjectTags) and a tag of the
// application's; the producer aggregates the user records per shard in the KPL format.
// Read back through consumer.Deaggregate and propagation.Consumer.Extract on kinesalite
// and kinesis-local, every event is on the shard its key maps to (the shard a plain
// PutRecords put it on), in order within its group, with its exact key, data and tags,
// and its context is its create span's; the consumer's process spans are in the
// producer's traces.
func TestTagsCarryContextOnEmulators(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) { checkTagsOnEmulator(t, peer) })
	}
}

func checkTagsOnEmulator(t *testing.T, peer testpeers.Peer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)

	// Where each event goes without any of this: plain PutRecords calls.
	plainShard := make([]string, tagEvents)
	for start := 0; start < tagEvents; start += tagBatch {
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
		for i := start; i < start+tagBatch; i++ {
			key, data := tagEvent(i)
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		}
		out, err := client.PutRecords(ctx, in)
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v (%d failed)", err, aws.ToInt32(out.FailedRecordCount))
		}
		for j, r := range out.Records {
			plainShard[start+j] = aws.ToString(r.ShardId)
		}
	}

	prodSpans, consSpans := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	prodTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(prodSpans))
	consTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(consSpans))
	defer func() { _ = prodTP.Shutdown(context.Background()); _ = consTP.Shutdown(context.Background()) }()
	prop := otelprop.TraceContext{}
	injector, err := propagation.NewProducer(propagation.WithPropagator(prop))
	if err != nil {
		t.Fatal(err)
	}
	extractor, err := propagation.NewConsumer(propagation.WithTracerProvider(consTP), propagation.WithPropagator(prop))
	if err != nil {
		t.Fatal(err)
	}
	producer, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := producer.Shutdown(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	}()

	tracer := prodTP.Tracer("test")
	appTag := otelkinesis.Tag{Key: "event", Value: "grouped"}
	create := make([]trace.SpanContext, tagEvents) // event → its create span
	for i := range tagEvents {
		key, data := tagEvent(i)
		sctx, span := tracer.Start(ctx, "create "+stream, trace.WithSpanKind(trace.SpanKindProducer))
		tags, err := injector.InjectTags(sctx, []otelkinesis.Tag{appTag})
		span.End()
		if err != nil {
			t.Fatal(err)
		}
		create[i] = span.SpanContext()
		if err := producer.Put(ctx, key, "", data, tags); err != nil {
			t.Fatal(err)
		}
		// The producer does not promise order: it packs a shard's user records into
		// several aggregates at once, and requests and retries reorder. Flushed every
		// batch, a shard's user records of a batch go in one aggregate, in the order put,
		// before the next batch's.
		if (i+1)%tagBatch == 0 {
			if err := producer.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	byShard, err := testpeers.ReadStream(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for shardID, records := range byShard {
		next := map[string]int{} // group → the position of its next event
		var msgs []propagation.Message
		for _, r := range records {
			urs, err := consumer.Deaggregate(r.Data, aws.ToString(r.PartitionKey))
			if err != nil {
				t.Fatal(err)
			}
			if !urs[0].Aggregated {
				continue // a plain record of the baseline
			}
			for _, ur := range urs {
				m := extractor.Extract(context.Background(), ur.PartitionKey, ur.Data, ur.Tags)
				m.Stream, m.ShardID, m.SequenceNumber = stream, shardID, fmt.Sprintf("%s.%d", aws.ToString(r.SequenceNumber), ur.SubSequenceNumber)
				var i, n int
				var group string
				if _, err := fmt.Sscanf(string(m.Data), `{"event":%d,"group":%q,"n":%d}`, &i, &group, &n); err != nil || i < 0 || i >= tagEvents {
					t.Fatalf("data %q: %v", m.Data, err)
				}
				key, data := tagEvent(i)
				if m.PartitionKey != key || !bytes.Equal(m.Data, data) || m.Err != nil || m.Format != propagation.FormatTags {
					t.Fatalf("user record %s: %q %q %v %v", m.SequenceNumber, m.PartitionKey, m.Data, m.Format, m.Err)
				}
				if len(m.Tags) != 2 || m.Tags[0] != appTag || m.Tags[1].Key != "traceparent" {
					t.Fatalf("user record %s: tags %q", m.SequenceNumber, m.Tags)
				}
				if !m.SpanContext().Equal(create[i].WithRemote(true)) {
					t.Fatalf("event %d: context %v, want its create span %v", i, m.SpanContext(), create[i])
				}
				if shardID != plainShard[i] || n != next[key] {
					t.Fatalf("event %d on %s (plain: %s), group position %d where %d was due", i, shardID, plainShard[i], n, next[key])
				}
				next[key]++
				seen++
				msgs = append(msgs, m)
			}
		}
		// What a consumer of the shard's batch starts: a batch span linked to every
		// record's create span, and a process span per record, its child.
		bctx, batch := extractor.StartBatch(context.Background(), msgs)
		for k := range msgs {
			_, span := extractor.StartRecord(bctx, &msgs[k])
			span.End()
		}
		batch.End()
	}
	if seen != tagEvents {
		t.Fatalf("read %d events, want %d", seen, tagEvents)
	}

	createOf := map[trace.SpanID]trace.SpanContext{}
	for _, sc := range create {
		createOf[sc.SpanID()] = sc
	}
	inTrace, batches := 0, 0
	for _, s := range consSpans.Ended() {
		if !s.Parent().IsValid() {
			batches++
			for _, l := range s.Links() {
				if _, ok := createOf[l.SpanContext.SpanID()]; !ok {
					t.Fatalf("batch span linked to %v, no create span", l.SpanContext)
				}
			}
			continue
		}
		if c, ok := createOf[s.Parent().SpanID()]; ok && s.Parent().IsRemote() && s.SpanContext().TraceID() == c.TraceID() {
			inTrace++
		}
	}
	if inTrace != tagEvents || batches != len(byShard) {
		t.Fatalf("%d process spans in their producer's trace, want %d; %d batch spans", inTrace, tagEvents, batches)
	}
}
