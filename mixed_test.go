package otelkinesis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// TestMixedStream sends traces, metrics and logs through one shared producer to one
// stream on kinesalite and kinesis-local. Reading it back, the consumer tells the signals
// apart by their tags and finds everything; each exporter's Shutdown flushes the shared
// producer and leaves it running for the others, and a log record of a trace lands on
// the shard of that trace's spans.
func TestMixedStream(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		t.Run(peer.Name, func(t *testing.T) {
			t.Parallel()
			mixed(t, peer)
		})
	}
}

func mixed(t *testing.T, peer testpeers.Peer) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, client, stream, 2)

	producer, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName(stream), otelkinesis.WithKinesisClient(client),
		otelkinesis.WithFlushInterval(20*time.Millisecond), otelkinesis.WithRequestTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	shared := otelkinesis.WithProducer(producer)
	texp, err := kinesistrace.New(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	mexp, err := kinesismetric.New(ctx, shared, otelkinesis.WithEncoding(otelkinesis.EncodingJSON))
	if err != nil {
		t.Fatal(err)
	}
	lexp, err := kinesislog.New(ctx, shared, otelkinesis.WithCompression(otelkinesis.CompressionGzip))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "mixed"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))

	tracer, logger := tp.Tracer("t"), lp.Logger("l")
	counter, _ := mp.Meter("m").Int64Counter("requests")
	traceIDs := map[string]bool{}
	for i := 0; i < 50; i++ {
		sctx, span := tracer.Start(ctx, fmt.Sprintf("request %d", i))
		traceIDs[span.SpanContext().TraceID().String()] = true
		counter.Add(sctx, 1, otelmetric.WithAttributes(attribute.Int("route", i%5)))
		var r otellog.Record
		r.SetBody(attribute.StringValue(fmt.Sprintf("log %d", i)))
		logger.Emit(sctx, r)
		span.End()
	}
	// The trace exporter goes first: its Shutdown must leave the shared producer running
	// for the metric and log exporters.
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := producer.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	recs, err := teststream.Read(ctx, client, stream)
	if err != nil {
		t.Fatal(err)
	}
	spans, points, logs := 0, 0, 0
	spanShard := map[string]string{}
	logShard := map[string]string{}
	for _, r := range recs {
		f := r.Telemetry.Format
		switch {
		case r.Telemetry.Traces != nil:
			if f.ContentType != "application/x-protobuf" || f.ContentEncoding != "" {
				t.Errorf("trace record format %+v", f)
			}
			for _, rs := range r.Telemetry.Traces.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					spans += len(ss.Spans)
				}
			}
			spanShard[r.PartitionKey] = r.Shard
		case r.Telemetry.Metrics != nil:
			if f.ContentType != "application/json" {
				t.Errorf("metric record format %+v", f)
			}
			points += len(teststream.DataPoints(r.Telemetry.Metrics))
		case r.Telemetry.Logs != nil:
			if f.ContentEncoding != "gzip" {
				t.Errorf("log record format %+v", f)
			}
			logs += len(teststream.LogRecords(r.Telemetry.Logs))
			logShard[r.PartitionKey] = r.Shard
		}
	}
	if spans != 50 || points != 5 || logs != 50 {
		t.Fatalf("read %d spans, %d data points, %d log records; want 50, 5, 50", spans, points, logs)
	}
	for id := range traceIDs {
		if spanShard[id] == "" || logShard[id] != spanShard[id] {
			t.Errorf("trace %s: spans on %q, logs on %q", id, spanShard[id], logShard[id])
		}
	}
}
