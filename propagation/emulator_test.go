package propagation

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// The scenario of the issue: events keyed by group ID on a 2-shard stream.
const (
	groupEvents = 1000
	groupCount  = 50
	groupBatch  = 100 // records per PutRecords call
)

// groupEvent is event i: its business key (the group) and its data.
func groupEvent(i int) (key string, data []byte) {
	key = fmt.Sprintf("group-%02d", i%groupCount)
	return key, fmt.Appendf(nil, `{"event":%d,"group":%q,"n":%d}`, i, key, i/groupCount)
}

// peerClient returns a client for the peer with the given API options, whose
// idle connections are closed when the test ends. (A plain http.Client is
// fine here: the configuration is not loaded from the environment, so
// AWS_CA_BUNDLE plays no part.)
func peerClient(t *testing.T, endpoint string, apiOptions ...func(*kinesisMiddlewareStack) error) *kinesis.Client {
	cfg := testpeers.Config(endpoint)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg.HTTPClient = sdkhttp.Wrap(&http.Client{Transport: tr, Timeout: 30 * time.Second})
	cfg.APIOptions = apiOptions
	t.Cleanup(tr.CloseIdleConnections)
	return kinesis.NewFromConfig(cfg)
}

// putEvents sends the events in batches of groupBatch, each batch under a
// span of tracer when given, and returns the shard and sequence number of
// every event.
func putEvents(t *testing.T, ctx context.Context, c *kinesis.Client, stream string, tracer trace.Tracer) (shard, seq []string) {
	shard, seq = make([]string, groupEvents), make([]string, groupEvents)
	for start := 0; start < groupEvents; start += groupBatch {
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
		for i := start; i < start+groupBatch; i++ {
			key, data := groupEvent(i)
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		}
		bctx := ctx
		var span trace.Span
		if tracer != nil {
			bctx, span = tracer.Start(ctx, "produce batch")
		}
		out, err := c.PutRecords(bctx, in)
		if span != nil {
			span.End()
		}
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		if aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != groupBatch {
			t.Fatalf("PutRecords: %d failed, %d results", aws.ToInt32(out.FailedRecordCount), len(out.Records))
		}
		for j, r := range out.Records {
			shard[start+j], seq[start+j] = aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
		}
	}
	return shard, seq
}

func TestGroupsKeepShardsAndOrderOnEmulators(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		for _, f := range []Format{FormatKey, FormatEnvelope, FormatJSON} {
			t.Run(peer.Name+"/"+f.String(), func(t *testing.T) { checkGroups(t, peer, f) })
		}
	}
}

// checkGroups sends the events once plainly and once through the middleware
// in format f, reads the stream back and checks shards, order, business keys,
// data and traces.
func checkGroups(t *testing.T, peer testpeers.Peer, f Format) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prodTP, prodSpans := tracing(t)
	consTP, consSpans := tracing(t)
	prop := propagation.TraceContext{}
	p := mustProducer(t, WithTracerProvider(prodTP), WithPropagator(prop), WithFormat(f))
	cons := mustConsumer(t, WithTracerProvider(consTP), WithPropagator(prop))

	plain := peerClient(t, peer.Endpoint)
	traced := peerClient(t, peer.Endpoint, p.Middleware())
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, plain, stream, 2)

	// Where each group must go, from the shard map.
	shards, err := testpeers.ListShards(ctx, plain, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 2 {
		t.Fatalf("%d shards", len(shards))
	}
	wantShard := func(key string) string {
		h := aggregation.HashPartitionKey(key)
		for _, s := range shards {
			r, err := aggregation.ParseHashRange(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			if err != nil {
				t.Fatal(err)
			}
			if r.Contains(h) {
				return aws.ToString(s.ShardId)
			}
		}
		t.Fatalf("no shard holds %q", key)
		return ""
	}

	plainShard, plainSeq := putEvents(t, ctx, plain, stream, nil)
	tracedShard, tracedSeq := putEvents(t, ctx, traced, stream, prodTP.Tracer("test"))
	used := map[string]bool{}
	for i := range groupEvents {
		key, _ := groupEvent(i)
		if plainShard[i] != wantShard(key) || tracedShard[i] != plainShard[i] {
			t.Fatalf("event %d (%s): shard %s with context, %s without, %s by the shard map", i, key, tracedShard[i], plainShard[i], wantShard(key))
		}
		used[plainShard[i]] = true
	}
	if len(used) != 2 {
		t.Fatalf("all 50 groups on one shard: the test proves little")
	}

	// The producer spans, by sequence number: one create span per record.
	createOf := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range prodSpans.Ended() {
		if s.Name() == "create "+stream {
			for _, kv := range s.Attributes() {
				if kv.Key == "messaging.message.id" {
					createOf[kv.Value.AsString()] = s
				}
			}
		}
	}
	if len(createOf) != groupEvents {
		t.Fatalf("%d create spans with a sequence number, want %d", len(createOf), groupEvents)
	}
	eventOf := map[string]int{}
	for i := range groupEvents {
		eventOf[tracedSeq[i]] = i
		eventOf[plainSeq[i]] = -1 - i
	}

	byShard, err := testpeers.ReadStream(ctx, plain, stream)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for shardID, records := range byShard {
		var msgs []Message
		lastN := map[string]int{}
		for _, r := range records {
			m := cons.ExtractRecord(context.Background(), stream, shardID, &r)
			i, ok := eventOf[m.SequenceNumber]
			if !ok {
				t.Fatalf("unknown record %s", m.SequenceNumber)
			}
			key, data := groupEvent(max(i, -1-i))
			if m.PartitionKey != key || !bytes.Equal(m.Data, data) || m.Err != nil {
				t.Fatalf("record %s: %q %q (%v); want %q %q", m.SequenceNumber, m.PartitionKey, m.Data, m.Err, key, data)
			}
			if i < 0 { // sent without context
				if m.Format != FormatNone || !bytes.Equal(r.Data, data) || aws.ToString(r.PartitionKey) != key {
					t.Fatalf("plain record %s came back changed", m.SequenceNumber)
				}
				continue
			}
			seen++
			if shardID != plainShard[i] {
				t.Fatalf("event %d read from %s, sent plainly to %s", i, shardID, plainShard[i])
			}
			// A group's events come in the order sent, none missing between.
			if n := i / groupCount; n != lastN[key] {
				t.Fatalf("group %s in %s: its event %d where %d was due", key, shardID, n, lastN[key])
			}
			lastN[key]++
			if m.Format != f || !m.SpanContext().Equal(createOf[m.SequenceNumber].SpanContext().WithRemote(true)) {
				t.Fatalf("event %d: context %v from %v, want the create span %v", i, m.SpanContext(), m.Format, createOf[m.SequenceNumber].SpanContext())
			}
			msgs = append(msgs, m)
		}
		processShard(cons, msgs)
	}
	if seen != groupEvents {
		t.Fatalf("read %d events with context, want %d", seen, groupEvents)
	}

	var batches, records int
	for _, s := range consSpans.Ended() {
		switch {
		case s.Parent().IsRemote():
			records++
			create := createOf[attrs(s)["messaging.message.id"].AsString()]
			if s.Parent().SpanID() != create.SpanContext().SpanID() || s.SpanContext().TraceID() != create.SpanContext().TraceID() {
				t.Fatalf("process span not in the producer's trace: parent %v, create span %v", s.Parent(), create.SpanContext())
			}
		default:
			batches++
			links := s.Links()
			want := int(attrs(s)["messaging.batch.message_count"].AsInt64())
			if len(links)+s.DroppedLinks() != want {
				t.Fatalf("batch span: %d links (%d dropped) for %d records", len(links), s.DroppedLinks(), want)
			}
			for _, l := range links {
				if !slices.ContainsFunc(prodSpans.Ended(), func(p sdktrace.ReadOnlySpan) bool { return p.SpanContext().SpanID() == l.SpanContext.SpanID() }) {
					t.Fatalf("batch link to an unknown span %v", l.SpanContext)
				}
			}
		}
	}
	if records != groupEvents || batches != len(byShard) {
		t.Fatalf("%d record spans, %d batch spans", records, batches)
	}
}

// processShard starts what a consumer of one shard's batch would: one batch
// span linked to every record's producer span, and a process span per record,
// a child of the record's producer span.
func processShard(cons *Consumer, msgs []Message) {
	bctx, batch := cons.StartBatch(context.Background(), msgs)
	for k := range msgs {
		_, span := cons.StartRecord(bctx, &msgs[k])
		span.End()
	}
	batch.End()
}
