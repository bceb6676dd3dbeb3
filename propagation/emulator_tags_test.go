package propagation

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// The tags format on the emulators, through the public producer: each event
// is put with otelkinesis.Producer.Put, its tags holding the context of its
// own create span (Producer.InjectTags); the producer aggregates the user
// records per shard in the KPL format. The consumer deaggregates with package
// consumer and extracts from every user record.
func TestGroupsInTagsOnEmulators(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) { checkGroupsInTags(t, peer) })
	}
}

func checkGroupsInTags(t *testing.T, peer testpeers.Peer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prodTP, _ := tracing(t)
	consTP, consSpans := tracing(t)
	prop := propagation.TraceContext{}
	p := mustProducer(t, WithPropagator(prop), WithFormat(FormatTags))
	cons := mustConsumer(t, WithTracerProvider(consTP), WithPropagator(prop))
	tracer := prodTP.Tracer("test")

	c := peerClient(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, c, stream, 2)
	plainShard, _ := putEvents(t, ctx, c, stream, nil)

	kp, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(c))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := kp.Shutdown(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
	}()
	create := make([]trace.SpanContext, groupEvents) // event → its create span
	for i := range groupEvents {
		key, data := groupEvent(i)
		sctx, span := tracer.Start(ctx, "create "+stream, trace.WithSpanKind(trace.SpanKindProducer))
		tags, err := p.InjectTags(sctx, []Tag{{Key: "event", Value: "grouped"}})
		span.End()
		if err != nil {
			t.Fatal(err)
		}
		create[i] = span.SpanContext()
		if err := kp.Put(ctx, key, "", data, tags); err != nil {
			t.Fatal(err)
		}
		// The producer does not promise order: it packs a shard's user
		// records into several aggregates at once, and requests and retries
		// reorder. Flushed every batch, a shard's user records of a batch go
		// in one aggregate, in the order put, before the next batch's.
		if (i+1)%groupBatch == 0 {
			if err := kp.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	byShard, err := testpeers.ReadStream(ctx, c, stream)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for shardID, records := range byShard {
		next := map[string]int{}
		var msgs []Message
		for _, r := range records {
			urs, err := consumer.Deaggregate(r.Data, aws.ToString(r.PartitionKey))
			if err != nil {
				t.Fatal(err)
			}
			if !urs[0].Aggregated {
				continue // a plain record of the baseline
			}
			for _, ur := range urs {
				m := cons.Extract(context.Background(), ur.PartitionKey, ur.Data, ur.Tags)
				m.Stream, m.ShardID, m.SequenceNumber = stream, shardID, fmt.Sprintf("%s.%d", aws.ToString(r.SequenceNumber), ur.SubSequenceNumber)
				var i, n int
				var group string
				if _, err := fmt.Sscanf(string(m.Data), `{"event":%d,"group":%q,"n":%d}`, &i, &group, &n); err != nil {
					t.Fatalf("data %q: %v", m.Data, err)
				}
				key, data := groupEvent(i)
				if m.PartitionKey != key || !bytes.Equal(m.Data, data) || m.Err != nil || m.Format != FormatTags {
					t.Fatalf("user record %s: %q %q %v %v", m.SequenceNumber, m.PartitionKey, m.Data, m.Format, m.Err)
				}
				if len(m.Tags) != 2 || m.Tags[0] != (Tag{Key: "event", Value: "grouped"}) {
					t.Fatalf("user record %s: tags %q", m.SequenceNumber, m.Tags)
				}
				if !m.SpanContext().Equal(create[i].WithRemote(true)) {
					t.Fatalf("event %d: context %v, want %v", i, m.SpanContext(), create[i])
				}
				if shardID != plainShard[i] || n != next[key] {
					t.Fatalf("event %d on %s (plain: %s), group position %d where %d was due", i, shardID, plainShard[i], n, next[key])
				}
				next[key]++
				seen++
				msgs = append(msgs, m)
			}
		}
		processShard(cons, msgs)
	}
	if seen != groupEvents {
		t.Fatalf("read %d events, want %d", seen, groupEvents)
	}
	inTrace := 0
	for _, s := range consSpans.Ended() {
		if s.Parent().IsRemote() {
			var i int
			for j := range create {
				if create[j].SpanID() == s.Parent().SpanID() {
					i = j
				}
			}
			if s.SpanContext().TraceID() == create[i].TraceID() && s.Parent().SpanID() == create[i].SpanID() {
				inTrace++
			}
		}
	}
	if inTrace != groupEvents {
		t.Fatalf("%d process spans in their producer's trace, want %d", inTrace, groupEvents)
	}
}
