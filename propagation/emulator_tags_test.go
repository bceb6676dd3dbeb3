package propagation

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// The tags format on the emulators: each PutRecords call carries, per group,
// one KPL aggregated record (partition key: the group) whose user records are
// that group's events in order, each with the context of its own create span
// in its tags. The consumer deaggregates with package consumer and extracts
// from every user record.
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

	create := make([]trace.SpanContext, groupEvents) // event → its create span
	shardOfGroup := map[string]string{}
	for start := 0; start < groupEvents; start += groupBatch {
		aggs := map[string]*kpl.Aggregator{}
		var order []string
		for i := start; i < start+groupBatch; i++ {
			key, data := groupEvent(i)
			sctx, span := tracer.Start(ctx, "create "+stream, trace.WithSpanKind(trace.SpanKindProducer))
			tags, err := p.InjectTags(sctx, nil)
			span.End()
			if err != nil {
				t.Fatal(err)
			}
			create[i] = span.SpanContext()
			if aggs[key] == nil {
				aggs[key] = &kpl.Aggregator{}
				order = append(order, key)
			}
			aggs[key].Add(key, "", data, tags)
		}
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
		for _, key := range order {
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: aggs[key].AppendTo(nil)})
		}
		out, err := c.PutRecords(ctx, in)
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v (%d failed)", err, aws.ToInt32(out.FailedRecordCount))
		}
		for j, r := range out.Records {
			shardOfGroup[order[j]] = aws.ToString(r.ShardId)
		}
	}
	for i := range groupEvents {
		if key, _ := groupEvent(i); shardOfGroup[key] != plainShard[i] {
			t.Fatalf("group %s aggregated on %s, plain on %s", key, shardOfGroup[key], plainShard[i])
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
