// Command propagation shows one trace from a Kinesis producer to a Lambda-style
// consumer, without disturbing how records are routed to shards.
//
// It is the scenario of the article "How to Propagate OpenTelemetry Trace
// Headers Over AWS Kinesis": a 2-shard stream, events keyed by their event
// group ID. The producer sends them with a plain PutRecords call through a
// Kinesis client that has the propagation middleware; the consumer is a Lambda
// handler fed the stream's records as KinesisEvent batches, one per shard. The
// program prints where each group went and checks that the producer and
// consumer spans share traces, and that every event of a group went to the
// shard its group ID maps to, in order.
//
//	go run ./examples/propagation -endpoint http://127.0.0.1:4567 -format key
//
// The endpoint is a local Kinesis (kinesalite or kinesis-local: `make peers-up`
// starts both); -format is key, envelope, json or tags. With tags, the events
// go through otelkinesis.Producer.Put instead, which aggregates them per shard
// in the KPL format, each with its producer span's context in its tags; the
// handler deaggregates them with package consumer first.
package main

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel/attribute"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis"
	kinesisconsumer "github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	"github.com/otelkinesis/otelkinesis/propagation"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv("OTELKINESIS_KINESALITE_ENDPOINT"), "Kinesis endpoint URL (a local emulator)")
	stream := flag.String("stream", fmt.Sprintf("otelkinesis-propagation-%d", time.Now().UnixNano()), "stream to create, write and delete")
	format := flag.String("format", "key", "where the context travels: key, envelope, json or tags")
	events := flag.Int("events", 100, "events to send")
	groups := flag.Int("groups", 10, "event group IDs (partition keys)")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "propagation: -endpoint is required (a local Kinesis: `make peers-up` starts one)")
		os.Exit(2)
	}
	f, err := parseFormat(*format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run(ctx, os.Stdout, config{endpoint: *endpoint, stream: *stream, format: f, events: *events, groups: *groups})
	if err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
	if !res.ok() {
		os.Exit(1)
	}
}

func parseFormat(s string) (propagation.Format, error) {
	for _, f := range []propagation.Format{propagation.FormatKey, propagation.FormatEnvelope, propagation.FormatJSON, propagation.FormatTags} {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("-format %q: want key, envelope, json or tags", s)
}

type config struct {
	endpoint, stream string
	format           propagation.Format
	events, groups   int
}

// result is what the run found.
type result struct {
	events         int // events the consumer handled
	sameTrace      int // consumer record spans in the trace of the event's producer span
	linkedBatches  int // batch spans linked to every producer span of the batch
	batches        int
	groupsInOrder  int // groups whose events all went to the shard of their key, in order
	groups         int
	groupsExpected int
}

func (r result) ok() bool {
	return r.events == r.sameTrace && r.batches == r.linkedBatches && r.groupsInOrder == r.groups && r.groups == r.groupsExpected
}

func run(ctx context.Context, w io.Writer, cfg config) (result, error) {
	// One tracer provider for both sides, recording spans so the program can
	// check them; a real service would export them.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	prop := otelprop.TraceContext{}

	producer, err := propagation.NewProducer(propagation.WithTracerProvider(tp), propagation.WithPropagator(prop),
		propagation.WithFormat(cfg.format), propagation.WithFallback(propagation.FormatEnvelope))
	if err != nil {
		return result{}, err
	}
	consumer, err := propagation.NewConsumer(propagation.WithTracerProvider(tp), propagation.WithPropagator(prop))
	if err != nil {
		return result{}, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	newClient := func(apiOptions ...func(*middleware.Stack) error) *kinesis.Client {
		return kinesis.NewFromConfig(aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("example", "example", ""),
			// kinesistest's wrapper keeps a fast answer from costing its connection (see
			// kinesistest.HTTPClient).
			HTTPClient:            kinesistest.WrapHTTPClient(&http.Client{Transport: transport, Timeout: 30 * time.Second}),
			BaseEndpoint:          aws.String(cfg.endpoint),
			AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
			APIOptions:            apiOptions,
		})
	}
	admin := newClient()
	traced := newClient(producer.Middleware()) // the only change a producer needs

	arn, err := createStream(ctx, admin, cfg.stream)
	if err != nil {
		return result{}, err
	}
	defer func() {
		_, _ = admin.DeleteStream(context.WithoutCancel(ctx), &kinesis.DeleteStreamInput{StreamName: aws.String(cfg.stream)})
	}()
	fmt.Fprintf(w, "stream %s, 2 shards, context in the %v\n", cfg.stream, cfg.format)

	// Producer: 10 events at a time, under a span of the code publishing them.
	tracer := tp.Tracer("example/producer")
	var eventSpan map[string]trace.SpanContext // event ID → the producer span whose context it carries
	if cfg.format == propagation.FormatTags {
		eventSpan, err = publishTagged(ctx, tracer, producer, admin, cfg)
	} else {
		eventSpan, err = publish(ctx, tracer, traced, spans, cfg)
	}
	if err != nil {
		return result{}, err
	}

	// Consumer: a Lambda handler, given each shard's records as one event.
	res := result{groupsExpected: cfg.groups}
	order := map[string][]int{}      // group → the n of its events, in the order handled
	shardOf := map[string][]string{} // group → the shards its events came from
	deaggregator, err := kinesisconsumer.NewDeaggregator()
	if err != nil {
		return result{}, err
	}
	handler := func(ctx context.Context, ev events.KinesisEvent) error {
		var msgs []propagation.Message
		if cfg.format == propagation.FormatTags {
			var err error
			if msgs, err = extractTagged(ctx, consumer, deaggregator, &ev); err != nil {
				return err
			}
		} else {
			msgs = consumer.ExtractLambdaEvent(ctx, &ev)
		}
		ctx, batch := consumer.StartBatch(ctx, msgs)
		defer batch.End()
		for i := range msgs {
			m := &msgs[i]
			_, span := consumer.StartRecord(ctx, m)
			var event struct {
				ID string `json:"id"`
				N  int    `json:"n"`
			}
			if err := json.Unmarshal(m.Data, &event); err != nil {
				span.End()
				return fmt.Errorf("record %s: data %q: %w", m.SequenceNumber, m.Data, err)
			}
			order[m.PartitionKey] = append(order[m.PartitionKey], event.N)
			shardOf[m.PartitionKey] = append(shardOf[m.PartitionKey], m.ShardID)
			if p, ok := eventSpan[event.ID]; ok && span.SpanContext().TraceID() == p.TraceID() && m.SpanContext().SpanID() == p.SpanID() {
				res.sameTrace++
			}
			res.events++
			span.End()
		}
		return nil
	}
	shards, err := readShards(ctx, admin, cfg.stream)
	if err != nil {
		return result{}, err
	}
	for _, sh := range shards {
		ev := events.KinesisEvent{}
		for _, r := range sh.records {
			ev.Records = append(ev.Records, events.KinesisEventRecord{
				EventID:        sh.id + ":" + aws.ToString(r.SequenceNumber),
				EventSource:    "aws:kinesis",
				EventSourceArn: arn,
				Kinesis: events.KinesisRecord{
					PartitionKey:   aws.ToString(r.PartitionKey),
					Data:           r.Data,
					SequenceNumber: aws.ToString(r.SequenceNumber),
				},
			})
		}
		if len(ev.Records) == 0 {
			continue
		}
		kind := "records"
		if cfg.format == propagation.FormatTags {
			kind = "KPL aggregated records"
		}
		fmt.Fprintf(w, "%s: %d %s, the first sent with partition key %q\n", sh.id, len(ev.Records), kind, ev.Records[0].Kinesis.PartitionKey)
		if err := handler(ctx, ev); err != nil {
			return result{}, err
		}
	}

	// The batch spans link to the producer spans of their records.
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindConsumer && !s.Parent().IsValid() {
			res.batches++
			linked := 0
			for _, l := range s.Links() {
				for _, p := range eventSpan {
					if p.SpanID() == l.SpanContext.SpanID() {
						linked++
					}
				}
			}
			if linked > 0 && linked == len(s.Links()) {
				res.linkedBatches++
			}
		}
	}

	groups := make([]string, 0, len(order))
	for g := range order {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		on := slices.Compact(slices.Clone(shardOf[g]))
		home := shardFor(shards, g)
		inOrder := slices.IsSorted(order[g])
		if len(on) == 1 && on[0] == home && inOrder {
			res.groupsInOrder++
		}
		res.groups++
		fmt.Fprintf(w, "  %-9s %9s on %s (its key maps to %s), in order: %v\n", g, plural.Count(len(order[g]), "event"), strings.Join(on, ","), home, inOrder)
	}
	fmt.Fprintf(w, "consumer record spans in the producer's trace: %d of %d\n", res.sameTrace, res.events)
	fmt.Fprintf(w, "consumer batch spans linked to their producer spans: %d of %d\n", res.linkedBatches, res.batches)
	fmt.Fprintf(w, "groups whose events all went to the shard of their key, in order: %d of %d\n", res.groupsInOrder, res.groupsExpected)
	return res, nil
}

// publish sends the events with plain PutRecords calls through a client with
// the propagation middleware, which starts a producer span per record and puts
// its context on the record. It returns each event's producer span.
func publish(ctx context.Context, tracer trace.Tracer, traced *kinesis.Client, spans *tracetest.SpanRecorder, cfg config) (map[string]trace.SpanContext, error) {
	eventOf := map[string]string{} // sequence number → event ID
	for start := 0; start < cfg.events; start += 10 {
		ctx, span := tracer.Start(ctx, "publish events")
		in := &kinesis.PutRecordsInput{StreamName: aws.String(cfg.stream)}
		for i := start; i < min(start+10, cfg.events); i++ {
			key, data := groupEvent(i, cfg.groups)
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		}
		out, err := traced.PutRecords(ctx, in)
		span.End()
		if err != nil {
			return nil, fmt.Errorf("PutRecords: %w", err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
			return nil, fmt.Errorf("PutRecords: %s failed", plural.Count(n, "record"))
		}
		for j, r := range out.Records {
			eventOf[aws.ToString(r.SequenceNumber)] = fmt.Sprintf("event-%d", start+j)
		}
	}
	eventSpan := map[string]trace.SpanContext{}
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindProducer {
			eventSpan[eventOf[attr(s, "messaging.message.id")]] = s.SpanContext()
		}
	}
	return eventSpan, nil
}

// publishTagged puts the events with otelkinesis.Producer.Put, each under a
// producer span "create <stream>" whose context goes in the user record's tags
// (with InjectUserRecord, which also protects a key or data that would be read
// as carrying context). It returns each event's producer span.
func publishTagged(ctx context.Context, tracer trace.Tracer, prop *propagation.Producer, client *kinesis.Client, cfg config) (map[string]trace.SpanContext, error) {
	producer, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName(cfg.stream), otelkinesis.WithKinesisClient(client))
	if err != nil {
		return nil, err
	}
	defer func() { _ = producer.Shutdown(context.WithoutCancel(ctx)) }()
	eventSpan := map[string]trace.SpanContext{}
	for start := 0; start < cfg.events; start += 10 {
		ctx, publishing := tracer.Start(ctx, "publish events")
		for i := start; i < min(start+10, cfg.events); i++ {
			key, data := groupEvent(i, cfg.groups)
			ctx, span := tracer.Start(ctx, "create "+cfg.stream, trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(attribute.String("messaging.system", "aws.kinesis"), attribute.String("messaging.destination.name", cfg.stream),
					attribute.String("messaging.operation.type", "create")))
			key, ehk, data, tags, err := prop.InjectUserRecord(ctx, key, "", data, nil)
			if err == nil {
				err = producer.Put(ctx, key, ehk, data, tags)
			}
			span.End()
			if err != nil {
				publishing.End()
				return nil, fmt.Errorf("put event %d: %w", i, err)
			}
			eventSpan[fmt.Sprintf("event-%d", i)] = span.SpanContext()
		}
		// The producer does not promise order: it packs a shard's user records
		// into several aggregates at once, and requests and retries reorder.
		// Flushed after each 10, a shard's events of the 10 go in one
		// aggregate, in order, before the next 10.
		err := producer.Flush(ctx)
		publishing.End()
		if err != nil {
			return nil, fmt.Errorf("flush: %w", err)
		}
	}
	return eventSpan, nil
}

// groupEvent returns event i's partition key, its group ID, and its data.
func groupEvent(i, groups int) (key string, data []byte) {
	return fmt.Sprintf("group-%d", i%groups), fmt.Appendf(nil, `{"id":"event-%d","n":%d}`, i, i/groups)
}

// extractTagged deaggregates the records of a Lambda event, then extracts
// each user record: its context is in its tags.
func extractTagged(ctx context.Context, c *propagation.Consumer, d *kinesisconsumer.Deaggregator, ev *events.KinesisEvent) ([]propagation.Message, error) {
	var msgs []propagation.Message
	for _, r := range ev.Records {
		urs, err := d.DeaggregateLambdaRecord(r)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.Kinesis.SequenceNumber, err)
		}
		for _, ur := range urs {
			m := c.Extract(ctx, ur.PartitionKey, ur.Data, ur.Tags)
			_, m.Stream, _ = strings.Cut(r.EventSourceArn, ":stream/") // arn:aws:kinesis:<region>:<account>:stream/<name>
			m.ShardID = kinesisconsumer.LambdaShardID(r)
			m.SequenceNumber = fmt.Sprintf("%s/%d", ur.SequenceNumber, ur.SubSequenceNumber)
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}

// createStream creates a 2-shard stream, waits until it is active and
// returns its ARN.
func createStream(ctx context.Context, c *kinesis.Client, stream string) (string, error) {
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		return "", fmt.Errorf("create stream %s: %w", stream, err)
	}
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return aws.ToString(out.StreamDescriptionSummary.StreamARN), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("stream %s not active: %w", stream, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type shardRecords struct {
	id         string
	start, end *big.Int // the shard's hash key range, inclusive
	records    []types.Record
}

// shardFor returns the shard whose hash key range holds the MD5 of the
// partition key: where Kinesis routes a record with that key.
func shardFor(shards []shardRecords, partitionKey string) string {
	sum := md5.Sum([]byte(partitionKey))
	h := new(big.Int).SetBytes(sum[:])
	for _, s := range shards {
		if h.Cmp(s.start) >= 0 && h.Cmp(s.end) <= 0 {
			return s.id
		}
	}
	return ""
}

// readShards reads every record of every shard, in order.
func readShards(ctx context.Context, c *kinesis.Client, stream string) ([]shardRecords, error) {
	ls, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return nil, fmt.Errorf("list shards: %w", err)
	}
	var out []shardRecords
	for _, s := range ls.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, fmt.Errorf("shard iterator %s: %w", aws.ToString(s.ShardId), err)
		}
		sr := shardRecords{id: aws.ToString(s.ShardId), start: new(big.Int), end: new(big.Int)}
		sr.start.SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		sr.end.SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		iter := it.ShardIterator
		for iter != nil {
			got, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, fmt.Errorf("get records %s: %w", sr.id, err)
			}
			sr.records = append(sr.records, got.Records...)
			if len(got.Records) == 0 && aws.ToInt64(got.MillisBehindLatest) == 0 {
				break
			}
			iter = got.NextShardIterator
		}
		out = append(out, sr)
	}
	return out, nil
}
