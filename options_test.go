package otelkinesis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// producerSideOptions are the options a shared producer has its own setting for, each
// with its name: given with WithProducer, they are refused.
func producerSideOptions() map[string]otelkinesis.Option {
	return map[string]otelkinesis.Option{
		"WithStreamName":          otelkinesis.WithStreamName("other"),
		"WithStreamARN":           otelkinesis.WithStreamARN("arn:aws:kinesis:us-east-1:123456789012:stream/other"),
		"WithEndpointURL":         otelkinesis.WithEndpointURL("http://127.0.0.1:1"),
		"WithEndpoint":            otelkinesis.WithEndpoint("http://127.0.0.1:1"),
		"WithRegion":              otelkinesis.WithRegion("eu-west-1"),
		"WithRole":                otelkinesis.WithRole("arn:aws:iam::123456789012:role/r", "the-external-secret"),
		"WithAWSConfig":           otelkinesis.WithAWSConfig(aws.Config{Region: "eu-west-1"}),
		"WithKinesisClient":       otelkinesis.WithKinesisClient(kinesis.New(kinesis.Options{Region: "eu-west-1"})),
		"WithAggregateBatchCount": otelkinesis.WithAggregateBatchCount(10),
		"WithAggregateBatchSize":  otelkinesis.WithAggregateBatchSize(25600),
		"WithBatchSize":           otelkinesis.WithBatchSize(1 << 20),
		"WithBatchCount":          otelkinesis.WithBatchCount(100),
		"WithBacklogCount":        otelkinesis.WithBacklogCount(100),
		"WithBacklogBytes":        otelkinesis.WithBacklogBytes(1 << 20),
		"WithFlushInterval":       otelkinesis.WithFlushInterval(time.Second),
		"WithMaxConnections":      otelkinesis.WithMaxConnections(4),
		"WithMaxRetries":          otelkinesis.WithMaxRetries(3),
		"WithMaxBackoff":          otelkinesis.WithMaxBackoff(time.Second),
		"WithoutStartupCheck":     otelkinesis.WithoutStartupCheck(),
		"WithRecordTTL":           otelkinesis.WithRecordTTL(time.Minute),
		"WithRequestTimeout":      otelkinesis.WithRequestTimeout(time.Second),
		"WithRateLimit":           otelkinesis.WithRateLimit(50),
		"WithAggregation":         otelkinesis.WithAggregation(false),
	}
}

// TestWithProducerConflicts: WithProducer with an option the shared producer has its own
// setting for is refused by every exporter, naming both options; the exporter's own
// options go with it.
func TestWithProducerConflicts(t *testing.T) {
	_, _, p := newTestProducer(t, 1)
	defer p.Shutdown(context.Background())
	ctx := context.Background()
	for name, opt := range producerSideOptions() {
		t.Run(name, func(t *testing.T) {
			want := "otelkinesis: traces exporter: WithProducer cannot be combined with " + name + ": "
			exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p), opt)
			if err == nil {
				_ = exp.Shutdown(ctx)
				t.Fatalf("trace.New accepted WithProducer with %s", name)
			}
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "give them to NewProducer") {
				t.Errorf("trace.New: %v, want %q", err, want)
			}
			if strings.Contains(err.Error(), "the-external-secret") {
				t.Errorf("the error shows the external ID: %v", err)
			}
			// The options come in any order.
			if _, err := kinesismetric.New(ctx, opt, otelkinesis.WithProducer(p)); err == nil ||
				!strings.Contains(err.Error(), "metrics exporter: WithProducer cannot be combined with "+name+": ") {
				t.Errorf("metric.New: %v", err)
			}
			if _, err := kinesislog.New(ctx, otelkinesis.WithProducer(p), opt); err == nil ||
				!strings.Contains(err.Error(), "logs exporter: WithProducer cannot be combined with "+name+": ") {
				t.Errorf("log.New: %v", err)
			}
		})
	}

	t.Run("several", func(t *testing.T) {
		_, err := kinesistrace.New(ctx, otelkinesis.WithStreamName("other"), otelkinesis.WithProducer(p),
			otelkinesis.WithBatchCount(10), otelkinesis.WithRegion("eu-west-1"), otelkinesis.WithBatchCount(20))
		want := "WithProducer cannot be combined with WithStreamName, WithBatchCount and WithRegion: "
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	})

	t.Run("the exporter's own options", func(t *testing.T) {
		texp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p), otelkinesis.WithEncoding(otelkinesis.EncodingJSON),
			otelkinesis.WithCompression(otelkinesis.CompressionGzip), otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom),
			otelkinesis.WithMeterProvider(noop.NewMeterProvider()), kinesistrace.WithPartitionKey(nil))
		if err != nil {
			t.Fatal(err)
		}
		mexp, err := kinesismetric.New(ctx, otelkinesis.WithProducer(p),
			kinesismetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector), kinesismetric.WithAggregationSelector(nil))
		if err != nil {
			t.Fatal(err)
		}
		lexp, err := kinesislog.New(ctx, otelkinesis.WithProducer(p), kinesislog.WithPartitionKey(nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, shutdown := range []func(context.Context) error{texp.Shutdown, mexp.Shutdown, lexp.Shutdown} {
			if err := shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestWithProducerRefused: a nil producer and one already shut down are refused, by name.
func TestWithProducerRefused(t *testing.T) {
	ctx := context.Background()
	if _, err := kinesistrace.New(ctx, otelkinesis.WithProducer(nil)); err == nil ||
		!strings.Contains(err.Error(), "otelkinesis: traces exporter: WithProducer: no producer (nil)") {
		t.Errorf("WithProducer(nil): %v", err)
	}
	_, _, p := newTestProducer(t, 1)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for name, newExp := range map[string]func() error{
		"traces":  func() error { _, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p)); return err },
		"metrics": func() error { _, err := kinesismetric.New(ctx, otelkinesis.WithProducer(p)); return err },
		"logs":    func() error { _, err := kinesislog.New(ctx, otelkinesis.WithProducer(p)); return err },
	} {
		want := "otelkinesis: " + name + " exporter: WithProducer: the producer is shut down"
		if err := newExp(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// TestWithKinesisClientConflicts: a Kinesis client given in code is used as it is, so the
// options of how a client is built are refused with it, naming both.
func TestWithKinesisClientConflicts(t *testing.T) {
	ctx := context.Background()
	client := kinesis.New(kinesis.Options{Region: "us-east-1"})
	for name, opt := range map[string]otelkinesis.Option{
		"WithEndpointURL": otelkinesis.WithEndpointURL("http://127.0.0.1:1"),
		"WithRegion":      otelkinesis.WithRegion("eu-west-1"),
		"WithRole":        otelkinesis.WithRole("arn:aws:iam::123456789012:role/r", ""),
		"WithAWSConfig":   otelkinesis.WithAWSConfig(aws.Config{}),
	} {
		want := "otelkinesis: producer: WithKinesisClient cannot be combined with " + name + ": the client is used as it is"
		_, err := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("s"), otelkinesis.WithKinesisClient(client), opt)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// TestVariablesThatDoNotApply: an exporter given a shared producer does not read the
// stream, AWS and producer variables (the producer has its own), and NewProducer does not
// read the exporters' own variables, so that values of theirs that do not parse are no
// error; an exporter still reads its own.
func TestVariablesThatDoNotApply(t *testing.T) {
	_, _, p := newTestProducer(t, 1)
	defer p.Shutdown(context.Background())
	ctx := context.Background()
	producerSide := []string{"STREAM_NAME", "STREAM_ARN", "ENDPOINT", "REGION", "ROLE_ARN", "EXTERNAL_ID",
		"BATCH_COUNT", "FLUSH_INTERVAL", "MAX_RETRIES", "RECORD_TTL"}
	for _, name := range producerSide {
		t.Setenv("OTEL_EXPORTER_KINESIS_"+name, "not valid!")
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_ENCODING", "otlp_json")
	exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p))
	if err != nil {
		t.Fatalf("trace.New with a shared producer read the producer's variables: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_ENCODING", "xml")
	if _, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p)); err == nil ||
		!strings.Contains(err.Error(), "OTEL_EXPORTER_KINESIS_TRACES_ENCODING") {
		t.Errorf("trace.New with a shared producer and an encoding that is none: %v", err)
	}

	// NewProducer, for its part, reads the producer's variables and not the exporters'.
	for _, name := range producerSide {
		t.Setenv("OTEL_EXPORTER_KINESIS_"+name, "")
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_ENCODING", "xml")
	t.Setenv("OTEL_EXPORTER_KINESIS_COMPRESSION", "lz4")
	t.Setenv("OTEL_EXPORTER_KINESIS_PARTITION_BY", "nothing")
	_, _, p2 := newTestProducer(t, 1, otelkinesis.WithBatchCount(10), otelkinesis.WithFlushInterval(time.Second),
		otelkinesis.WithMaxRetries(1), otelkinesis.WithRecordTTL(time.Minute))
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSharedProducerShutDownUnderAnExporter: an export after the owner shut the shared
// producer down fails with ErrShutdown, in a message with one otelkinesis prefix; so does
// Producer.Put.
func TestSharedProducerShutDownUnderAnExporter(t *testing.T) {
	_, _, p := newTestProducer(t, 1)
	ctx := context.Background()
	exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporterFunc(func(spans []sdktrace.ReadOnlySpan) {
		err = exp.ExportSpans(ctx, spans)
	})))
	_, span := tp.Tracer("t").Start(ctx, "op")
	span.End()
	if !errors.Is(err, otelkinesis.ErrShutdown) ||
		!strings.HasPrefix(err.Error(), "otelkinesis: traces exporter: 1 of 1 span not exported: emitting a record of 1 span (") ||
		!strings.HasSuffix(err.Error(), ": the producer is shut down") || strings.Count(err.Error(), "otelkinesis") != 1 {
		t.Errorf("ExportSpans = %v, want ErrShutdown, the count, and one prefix", err)
	}
	_ = exp.Shutdown(ctx)
	_ = tp.Shutdown(ctx)

	err = p.Put(ctx, "k", "", []byte("x"), nil)
	if want := "otelkinesis: put: the producer is shut down"; !errors.Is(err, otelkinesis.ErrShutdown) || err.Error() != want {
		t.Errorf("Put = %v, want %q, ErrShutdown", err, want)
	}
}

// exporterFunc is a span exporter that hands every batch to f.
type exporterFunc func([]sdktrace.ReadOnlySpan)

func (f exporterFunc) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	f(spans)
	return nil
}

func (exporterFunc) Shutdown(context.Context) error { return nil }
