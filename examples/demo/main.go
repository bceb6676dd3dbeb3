// Command demo is what `make demo` runs: a small "checkout" service instrumented with
// OpenTelemetry exports its traces, metrics and logs through otelkinesis, all three
// sharing one producer, to a 2-shard Kinesis stream on a local kinesalite (started by the
// Makefile on 127.0.0.1). The demo then reads the stream back with the consumer package,
// tells the signals apart by their tags, and prints each trace as a tree with its logs and
// the shard it landed on, and the metrics. No AWS account is needed.
//
//	go run ./examples/demo -endpoint http://127.0.0.1:4567
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otellog "go.opentelemetry.io/otel/log"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

func main() {
	endpoint := flag.String("endpoint", os.Getenv("OTELKINESIS_KINESALITE_ENDPOINT"), "Kinesis endpoint URL (a local emulator)")
	stream := flag.String("stream", "otelkinesis-demo", "stream to create and write")
	requests := flag.Int("requests", 40, "checkout requests the service handles (each one trace)")
	show := flag.Int("show", -1, "traces to print as trees, each with the shard it landed on (-1: all; the rest are counted)")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "demo: -endpoint is required (make demo starts kinesalite and passes it)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *endpoint, *stream, *requests, *show); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, endpoint, stream string, requests, show int) error {
	// A transport of the demo's own, so that its idle connections close when run returns.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	client := kinesis.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("demo", "demo", ""),
		// kinesistest's wrapper keeps a fast answer from costing its connection (see
		// kinesistest.HTTPClient); the exporters' own clients have the same fix.
		HTTPClient:            kinesistest.WrapHTTPClient(&http.Client{Transport: transport, Timeout: 30 * time.Second}),
		BaseEndpoint:          aws.String(endpoint),
		AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
		Retryer:               func() aws.Retryer { return aws.NopRetryer{} },
	})
	if err := createStream(ctx, client, stream, 2); err != nil {
		return err
	}
	fmt.Fprintf(w, "Stream %q: 2 shards at %s\n", stream, endpoint)

	spans, err := produce(ctx, client, stream, requests)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Service handled %s: %s exported through otelkinesis\n\n", plural.Count(requests, "request"), plural.Count(spans, "span"))
	return readBack(ctx, w, client, stream, show)
}

func createStream(ctx context.Context, client *kinesis.Client, stream string, shards int32) error {
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create stream %s: %w", stream, err)
	}
	return kinesis.NewStreamExistsWaiter(client, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, 30*time.Second)
}

// produce runs the traced "checkout" service: each request is one trace of a server span
// with nested client and internal spans, some of them failing.
func produce(ctx context.Context, client *kinesis.Client, stream string, requests int) (int, error) {
	// One producer for the stream, shared by the three exporters, so the shards' write
	// capacity is budgeted once.
	producer, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client))
	if err != nil {
		return 0, err
	}
	defer producer.Shutdown(ctx)
	shared := otelkinesis.WithProducer(producer)
	texp, err := kinesistrace.New(ctx, shared, otelkinesis.WithCompression(otelkinesis.CompressionZstd))
	if err != nil {
		return 0, err
	}
	mexp, err := kinesismetric.New(ctx, shared, otelkinesis.WithEncoding(otelkinesis.EncodingJSON))
	if err != nil {
		return 0, err
	}
	lexp, err := kinesislog.New(ctx, shared, otelkinesis.WithCompression(otelkinesis.CompressionGzip))
	if err != nil {
		return 0, err
	}
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("deployment.environment", "demo"))
	counter := &countingExporter{SpanExporter: texp}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(counter), sdktrace.WithResource(res))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))
	tracer := tp.Tracer("example.com/checkout")
	logger := lp.Logger("example.com/checkout")
	meter := mp.Meter("example.com/checkout")
	handled, _ := meter.Int64Counter("checkout.requests", otelmetric.WithUnit("{request}"))
	latency, _ := meter.Float64Histogram("checkout.duration", otelmetric.WithUnit("ms"),
		otelmetric.WithExplicitBucketBoundaries(10, 20, 30, 40, 50))
	rnd := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	for i := 0; i < requests; i++ {
		t0 := i * 50
		items := 1 + rnd.IntN(3)
		rctx, req := tracer.Start(ctx, "POST /checkout", oteltrace.WithSpanKind(oteltrace.SpanKindServer), oteltrace.WithTimestamp(at(t0)),
			oteltrace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.Int("cart.items", items)))
		_, auth := tracer.Start(rctx, "auth.verify", oteltrace.WithTimestamp(at(t0+1)))
		auth.End(oteltrace.WithTimestamp(at(t0 + 3)))
		ms := t0 + 4
		for j := 0; j < items; j++ {
			_, q := tracer.Start(rctx, "SELECT inventory", oteltrace.WithSpanKind(oteltrace.SpanKindClient), oteltrace.WithTimestamp(at(ms)),
				oteltrace.WithAttributes(attribute.String("db.system", "postgresql")))
			ms += 2 + rnd.IntN(4)
			q.End(oteltrace.WithTimestamp(at(ms)))
		}
		pctx, pay := tracer.Start(rctx, "payment.charge", oteltrace.WithTimestamp(at(ms)))
		_, call := tracer.Start(pctx, "POST payments.example.com/charges", oteltrace.WithSpanKind(oteltrace.SpanKindClient), oteltrace.WithTimestamp(at(ms+1)))
		ms += 10 + rnd.IntN(20)
		if i%7 == 3 {
			call.SetStatus(codes.Error, "card declined")
			pay.SetStatus(codes.Error, "payment failed")
			req.SetStatus(codes.Error, "402")
		}
		call.End(oteltrace.WithTimestamp(at(ms)))
		pay.End(oteltrace.WithTimestamp(at(ms + 1)))
		req.End(oteltrace.WithTimestamp(at(ms + 2)))

		outcome := "ok"
		var rec otellog.Record
		rec.SetTimestamp(at(ms + 2))
		rec.SetSeverity(otellog.SeverityInfo)
		rec.SetBody(attribute.StringValue(fmt.Sprintf("checkout of %s completed", plural.Count(items, "item"))))
		if i%7 == 3 {
			outcome = "declined"
			rec.SetSeverity(otellog.SeverityWarn)
			rec.SetBody(attribute.StringValue("payment declined: card declined"))
		}
		rec.AddAttributes(attribute.Int("cart.items", items))
		logger.Emit(rctx, rec) // carries the trace context: lands on the trace's shard
		handled.Add(rctx, 1, otelmetric.WithAttributes(attribute.String("outcome", outcome)))
		latency.Record(rctx, float64(ms+2-t0))
	}
	// Shutting the providers down flushes their batchers and readers into the exporters
	// and shuts the exporters down; each flushes the shared producer, which delivers every
	// record to Kinesis. The deferred producer.Shutdown stops it.
	for _, shutdown := range []func(context.Context) error{tp.Shutdown, mp.Shutdown, lp.Shutdown} {
		if err := shutdown(ctx); err != nil {
			return 0, err
		}
	}
	return counter.spans, nil
}

// countingExporter counts the spans handed to the exporter.
type countingExporter struct {
	sdktrace.SpanExporter
	spans int
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.spans += len(spans)
	return c.SpanExporter.ExportSpans(ctx, spans)
}

// traceOnShard is one trace as read back.
type traceOnShard struct {
	id    string
	shard string
	spans []*tracepb.Span
	logs  []*logspb.LogRecord
}

// readBack reads every shard with GetRecords, deaggregates and decodes each record with
// the consumer package, and prints the traces it finds.
func readBack(ctx context.Context, w io.Writer, client *kinesis.Client, stream string, show int) error {
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("list shards: %w", err)
	}
	deagg, err := consumer.NewDeaggregator()
	if err != nil {
		return err
	}
	dec, err := consumer.NewDecoder()
	if err != nil {
		return err
	}
	defer dec.Close()

	traces := map[string]*traceOnShard{}
	var order []string
	split := map[string]bool{}  // traces seen on more than one shard
	formats := map[string]int{} // user records by signal, content type and encoding
	logsByTrace := map[string][]*logspb.LogRecord{}
	logShard := map[string]string{}
	var metrics []*metricpb.Metric
	totalLogs := 0
	kinesisRecords, userRecords, bytes := 0, 0, 0
	perShard := map[string]int{}
	for _, s := range shards.Shards {
		shard := aws.ToString(s.ShardId)
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return fmt.Errorf("shard %s: %w", shard, err)
		}
		for iter := it.ShardIterator; iter != nil; {
			out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return fmt.Errorf("shard %s: %w", shard, err)
			}
			for _, kr := range out.Records {
				kinesisRecords++
				bytes += len(kr.Data)
				urs, err := deagg.DeaggregateRecord(kr)
				if err != nil {
					return fmt.Errorf("shard %s: %w", shard, err)
				}
				for _, ur := range urs {
					userRecords++
					tel, err := dec.Decode(ur)
					if err != nil {
						return err
					}
					enc := tel.Format.ContentEncoding
					if enc == "" {
						enc = "uncompressed"
					}
					formats[fmt.Sprintf("%-7s %-22s %s", tel.Format.Signal, tel.Format.ContentType, enc)]++
					for _, rl := range tel.Logs.GetResourceLogs() {
						for _, sl := range rl.ScopeLogs {
							for _, lr := range sl.LogRecords {
								id := fmt.Sprintf("%x", lr.TraceId)
								logsByTrace[id] = append(logsByTrace[id], lr)
								totalLogs++
								logShard[id] = shard
							}
						}
					}
					for _, rm := range tel.Metrics.GetResourceMetrics() {
						for _, sm := range rm.ScopeMetrics {
							metrics = append(metrics, sm.Metrics...)
						}
					}
					if tel.Traces == nil {
						continue
					}
					for _, rs := range tel.Traces.ResourceSpans {
						for _, ss := range rs.ScopeSpans {
							for _, sp := range ss.Spans {
								id := fmt.Sprintf("%x", sp.TraceId)
								tr := traces[id]
								if tr != nil && tr.shard != shard && !split[id] {
									split[id] = true
								}
								if tr == nil {
									tr = &traceOnShard{id: id, shard: shard}
									traces[id] = tr
									order = append(order, id)
									perShard[shard]++
								}
								tr.spans = append(tr.spans, sp)
							}
						}
					}
				}
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}

	whole := "each whole on one shard"
	if len(split) > 0 {
		whole = fmt.Sprintf("%d of them split across shards", len(split))
	}
	fmt.Fprintf(w, "Read back %s (%s) holding %s, told apart by their tags:\n",
		plural.Count(kinesisRecords, "Kinesis record"), plural.Count(bytes, "byte"), plural.Count(userRecords, "user record"))
	keys := make([]string, 0, len(formats))
	for k := range formats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %3d x %s\n", formats[k], k)
	}
	logsWithTrace := 0
	for id, lrs := range logsByTrace {
		if tr := traces[id]; tr != nil {
			tr.logs = lrs
			if logShard[id] == tr.shard {
				logsWithTrace += len(lrs)
			}
		}
	}
	fmt.Fprintf(w, "%s, %s; %s, %d of them on their trace's shard\n",
		plural.Count(len(traces), "trace"), whole, plural.Count(totalLogs, "log record"), logsWithTrace)
	ids := make([]string, 0, len(perShard))
	for s := range perShard {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	for _, s := range ids {
		fmt.Fprintf(w, "  %s: %s\n", s, plural.Count(perShard[s], "trace"))
	}
	fmt.Fprintln(w)
	for i, id := range order {
		if show >= 0 && i == show {
			if show > 0 {
				fmt.Fprintf(w, "... and %s more\n\n", plural.Count(len(order)-show, "trace"))
			}
			break
		}
		printTree(w, traces[id])
	}
	printMetrics(w, metrics)
	return nil
}

// printMetrics prints the counter's values by outcome and the latency histogram.
func printMetrics(w io.Writer, metrics []*metricpb.Metric) {
	fmt.Fprintln(w, "metrics")
	for _, m := range metrics {
		switch d := m.Data.(type) {
		case *metricpb.Metric_Sum:
			for _, p := range d.Sum.DataPoints {
				fmt.Fprintf(w, "  %s{%s} = %d\n", m.Name, attrs(p.Attributes), p.GetAsInt())
			}
		case *metricpb.Metric_Histogram:
			for _, p := range d.Histogram.DataPoints {
				fmt.Fprintf(w, "  %s: count %d, sum %.0f %s, buckets %v (bounds %v)\n", m.Name, p.Count, p.GetSum(), m.Unit, p.BucketCounts, p.ExplicitBounds)
			}
		}
	}
}

func attrs(kvs []*commonpb.KeyValue) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, kv.Key+"="+kv.Value.GetStringValue())
	}
	return strings.Join(parts, ",")
}

// printTree prints one trace as an indented tree of spans with their durations.
func printTree(w io.Writer, tr *traceOnShard) {
	fmt.Fprintf(w, "trace %s on %s (%s)\n", tr.id, tr.shard, plural.Count(len(tr.spans), "span"))
	children := map[string][]*tracepb.Span{}
	var roots []*tracepb.Span
	ids := map[string]bool{}
	for _, sp := range tr.spans {
		ids[string(sp.SpanId)] = true
	}
	for _, sp := range tr.spans {
		if len(sp.ParentSpanId) == 0 || !ids[string(sp.ParentSpanId)] {
			roots = append(roots, sp)
		} else {
			children[string(sp.ParentSpanId)] = append(children[string(sp.ParentSpanId)], sp)
		}
	}
	var walk func(sp *tracepb.Span, depth int)
	walk = func(sp *tracepb.Span, depth int) {
		status := ""
		if sp.Status != nil && sp.Status.Code == tracepb.Status_STATUS_CODE_ERROR {
			status = "  ERROR: " + sp.Status.Message
		}
		d := time.Duration(sp.EndTimeUnixNano - sp.StartTimeUnixNano)
		fmt.Fprintf(w, "  %s%-*s %6s%s\n", strings.Repeat("  ", depth), 40-2*depth, sp.Name, d, status)
		kids := children[string(sp.SpanId)]
		sort.Slice(kids, func(a, b int) bool { return kids[a].StartTimeUnixNano < kids[b].StartTimeUnixNano })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	for _, lr := range tr.logs {
		fmt.Fprintf(w, "  log %-5s %s\n", lr.SeverityNumber.String()[len("SEVERITY_NUMBER_"):], lr.Body.GetStringValue())
	}
	fmt.Fprintln(w)
}
