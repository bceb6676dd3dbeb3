package autoexport_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"

	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	// In a service, a blank import registers "kinesis": _ "github.com/otelkinesis/otelkinesis/autoexport".
	"github.com/otelkinesis/otelkinesis/autoexport"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// With OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER set to kinesis
// and the stream in OTEL_EXPORTER_KINESIS_STREAM_NAME, autoexport's constructors return
// otelkinesis's exporters, which share one producer. A deployment sets the variables in
// the process's environment; here the example sets them, pointing at an in-process
// kinesistest endpoint with its test credentials.
func Example() {
	srv := kinesistest.NewServer()
	defer srv.Close()
	stream, err := srv.CreateStream("telemetry", 2)
	if err != nil {
		log.Fatal(err)
	}
	defer setenv(map[string]string{
		"OTEL_TRACES_EXPORTER":              autoexport.Name, // "kinesis"
		"OTEL_METRICS_EXPORTER":             autoexport.Name,
		"OTEL_LOGS_EXPORTER":                autoexport.Name,
		"OTEL_EXPORTER_KINESIS_STREAM_NAME": "telemetry",
		"OTEL_EXPORTER_KINESIS_ENDPOINT":    srv.URL(), // not set against AWS
		"AWS_REGION":                        "us-east-1",
		"AWS_ACCESS_KEY_ID":                 "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":             "example",
	})()
	ctx := context.Background()

	spans, err := contrib.NewSpanExporter(ctx)
	if err != nil {
		log.Fatal(err)
	}
	reader, err := contrib.NewMetricReader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	logs, err := contrib.NewLogExporter(ctx)
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logs)))

	ctx, span := tp.Tracer("checkout").Start(ctx, "place order")
	orders, _ := mp.Meter("checkout").Int64Counter("orders")
	orders.Add(ctx, 1)
	var rec otellog.Record
	rec.SetBody(attribute.StringValue("order placed"))
	lp.Logger("checkout").Emit(ctx, rec)
	span.End()

	// Each provider's Shutdown flushes the shared producer; the last one stops it.
	for _, shutdown := range []func(context.Context) error{tp.Shutdown, mp.Shutdown, lp.Shutdown} {
		if err := shutdown(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("startup checks:", len(srv.RequestsFor("DescribeStreamSummary")))
	fmt.Println("signals on the stream:", signals(stream))
	// Output:
	// startup checks: 1
	// signals on the stream: [logs metrics traces]
}

// setenv sets the variables of vars and returns what restores the environment.
func setenv(vars map[string]string) (restore func()) {
	old := map[string]*string{}
	for k, v := range vars {
		if was, ok := os.LookupEnv(k); ok {
			old[k] = &was
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// signals returns the signals of the user records on stream, as their tags say.
func signals(stream *kinesistest.Stream) []string {
	seen := map[string]bool{}
	for _, r := range stream.AllRecords() {
		urs, err := consumer.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			log.Fatal(err)
		}
		for _, ur := range urs {
			for _, tag := range ur.Tags {
				if tag.Key == "otel.signal" {
					seen[tag.Value] = true
				}
			}
		}
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
