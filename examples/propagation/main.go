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
// starts both); -format is key, envelope or json.
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
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/propagation"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv("OTELKINESIS_KINESALITE_ENDPOINT"), "Kinesis endpoint URL (a local emulator)")
	stream := flag.String("stream", fmt.Sprintf("otelkinesis-propagation-%d", time.Now().UnixNano()), "stream to create, write and delete")
	format := flag.String("format", "key", "where the context travels: key, envelope or json")
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
	for _, f := range []propagation.Format{propagation.FormatKey, propagation.FormatEnvelope, propagation.FormatJSON} {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("-format %q: want key, envelope or json", s)
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
			Region:                "us-east-1",
			Credentials:           credentials.NewStaticCredentialsProvider("example", "example", ""),
			HTTPClient:            &http.Client{Transport: transport, Timeout: 30 * time.Second},
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

	// Producer: each event is handled under its own span, and sent with a
	// plain PutRecords call, 10 events a call.
	tracer := tp.Tracer("example/producer")
	producerSpan := map[string]trace.SpanContext{} // event ID → the span that sent it
	for start := 0; start < cfg.events; start += 10 {
		ctx, span := tracer.Start(ctx, "publish events")
		in := &kinesis.PutRecordsInput{StreamName: aws.String(cfg.stream)}
		for i := start; i < min(start+10, cfg.events); i++ {
			in.Records = append(in.Records, types.PutRecordsRequestEntry{
				PartitionKey: aws.String(fmt.Sprintf("group-%d", i%cfg.groups)),
				Data:         fmt.Appendf(nil, `{"id":"event-%d","n":%d}`, i, i/cfg.groups),
			})
		}
		out, err := traced.PutRecords(ctx, in)
		span.End()
		if err != nil {
			return result{}, fmt.Errorf("PutRecords: %w", err)
		}
		if n := aws.ToInt32(out.FailedRecordCount); n > 0 {
			return result{}, fmt.Errorf("PutRecords: %d records failed", n)
		}
	}
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindProducer {
			producerSpan[attr(s, "messaging.message.id")] = s.SpanContext()
		}
	}

	// Consumer: a Lambda handler, given each shard's records as one event.
	res := result{groupsExpected: cfg.groups}
	order := map[string][]int{}      // group → the n of its events, in the order handled
	shardOf := map[string][]string{} // group → the shards its events came from
	handler := func(ctx context.Context, ev events.KinesisEvent) error {
		msgs := consumer.ExtractLambdaEvent(ctx, &ev)
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
			if p, ok := producerSpan[m.SequenceNumber]; ok && span.SpanContext().TraceID() == p.TraceID() && m.SpanContext().SpanID() == p.SpanID() {
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
		fmt.Fprintf(w, "%s: %d records, the first sent with partition key %q\n", sh.id, len(ev.Records), ev.Records[0].Kinesis.PartitionKey)
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
				for _, p := range producerSpan {
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
		fmt.Fprintf(w, "  %-9s %2d events on %s (its key maps to %s), in order: %v\n", g, len(order[g]), strings.Join(on, ","), home, inOrder)
	}
	fmt.Fprintf(w, "consumer record spans in the producer's trace: %d of %d\n", res.sameTrace, res.events)
	fmt.Fprintf(w, "consumer batch spans linked to their producer spans: %d of %d\n", res.linkedBatches, res.batches)
	fmt.Fprintf(w, "groups whose events all went to the shard of their key, in order: %d of %d\n", res.groupsInOrder, res.groupsExpected)
	return res, nil
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
