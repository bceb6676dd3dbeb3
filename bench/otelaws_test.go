package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/kinesistest"
	"github.com/otelkinesis/otelkinesis/propagation"
)

// TestPropagationWithOtelaws puts the propagation middleware and otelaws on one Kinesis
// client, in both orders. otelaws's CLIENT span of the call ("Kinesis.PutRecords") starts
// at the end of the Initialize step, the propagation middleware's spans at its start, so
// whichever is added first: the propagation spans are the outer ones ("send <stream>",
// linked to one "create <stream>" PRODUCER span per record), otelaws's span is a child of
// the send span, and each record carries its own create span's context, never otelaws's.
func TestPropagationWithOtelaws(t *testing.T) {
	for _, order := range []string{"propagation first", "otelaws first"} {
		t.Run(order, func(t *testing.T) {
			srv := kinesistest.NewServer()
			t.Cleanup(srv.Close)
			if _, err := srv.CreateStream("orders", 2); err != nil {
				t.Fatal(err)
			}
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			prod, err := propagation.NewProducer(propagation.WithTracerProvider(tp), propagation.WithPropagator(otelprop.TraceContext{}))
			if err != nil {
				t.Fatal(err)
			}
			cfg := srv.AWSConfig()
			if order == "propagation first" {
				cfg.APIOptions = append(cfg.APIOptions, prod.Middleware())
				otelaws.AppendMiddlewares(&cfg.APIOptions, otelaws.WithTracerProvider(tp))
			} else {
				otelaws.AppendMiddlewares(&cfg.APIOptions, otelaws.WithTracerProvider(tp))
				cfg.APIOptions = append(cfg.APIOptions, prod.Middleware())
			}
			client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(srv.URL()) })

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var entries []types.PutRecordsRequestEntry
			for i := range 3 {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("order-", i)), Data: []byte(fmt.Sprint(`{"n":`, i, `}`))})
			}
			if _, err := client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("orders"), Records: entries}); err != nil {
				t.Fatal(err)
			}

			byName := map[string][]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				byName[s.Name()] = append(byName[s.Name()], s)
			}
			send, awsSpan, creates := byName["send orders"], byName["Kinesis.PutRecords"], byName["create orders"]
			if len(send) != 1 || len(awsSpan) != 1 || len(creates) != 3 {
				t.Fatalf("spans %v: want one send, one Kinesis.PutRecords, three create", keys(byName))
			}
			if send[0].SpanKind() != trace.SpanKindClient || awsSpan[0].SpanKind() != trace.SpanKindClient {
				t.Errorf("kinds: send %v, otelaws %v", send[0].SpanKind(), awsSpan[0].SpanKind())
			}
			if awsSpan[0].Parent().SpanID() != send[0].SpanContext().SpanID() {
				t.Errorf("otelaws's span is not a child of the send span")
			}
			created := map[trace.SpanID]bool{}
			for _, c := range creates {
				created[c.SpanContext().SpanID()] = true
			}
			if len(send[0].Links()) != 3 {
				t.Errorf("send span has %d links, want 3", len(send[0].Links()))
			}
			cons, err := propagation.NewConsumer(propagation.WithPropagator(otelprop.TraceContext{}))
			if err != nil {
				t.Fatal(err)
			}
			stream := srv.Stream("orders")
			n := 0
			for _, r := range stream.AllRecords() {
				m := cons.Extract(ctx, r.PartitionKey, r.Data, nil)
				n++
				if !strings.HasPrefix(m.PartitionKey, "order-") {
					t.Errorf("business key %q not restored", m.PartitionKey)
				}
				if !created[m.SpanContext().SpanID()] {
					t.Errorf("record %q carries span %s, not one of the create spans", m.PartitionKey, m.SpanContext().SpanID())
				}
				if m.SpanContext().SpanID() == awsSpan[0].SpanContext().SpanID() {
					t.Error("a record carries otelaws's span")
				}
			}
			if n != 3 {
				t.Errorf("%d records stored, want 3", n)
			}
		})
	}
}

func keys(m map[string][]sdktrace.ReadOnlySpan) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, len(v)))
	}
	return out
}
