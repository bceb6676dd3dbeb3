package otelkinesis_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/faultproxy"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestOutageThroughKinesalite runs traces, metrics and logs into kinesalite through a
// proxy that hangs up on every connection for 30 seconds in the middle of the run, with
// the library's default delivery settings (a five-minute budget, ten retries): every span,
// log record and metric increment arrives exactly once.
func TestOutageThroughKinesalite(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30-second outage")
	}
	peer := testpeers.Kinesalite(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	direct := testpeers.Client(t, peer.Endpoint)
	stream := testpeers.UniqueStreamName(t)
	testpeers.CreateStream(t, direct, stream, 2)

	proxy, err := faultproxy.Start(peer.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = proxy.Close() }()
	client := otelkinesis.WithKinesisClient(testpeers.Client(t, proxy.URL()))
	name, flush := otelkinesis.WithStreamName(stream), otelkinesis.WithFlushInterval(100*time.Millisecond)
	texp, err := kinesistrace.New(ctx, name, client, flush)
	if err != nil {
		t.Fatal(err)
	}
	delta := kinesismetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality })
	mexp, err := kinesismetric.New(ctx, name, client, flush, delta)
	if err != nil {
		t.Fatal(err)
	}
	lexp, err := kinesislog.New(ctx, name, client, flush)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "outage"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp, sdktrace.WithBatchTimeout(200*time.Millisecond)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Second))))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp, sdklog.WithExportInterval(200*time.Millisecond))))
	tracer, logger := tp.Tracer("t"), lp.Logger("l")
	counter, err := mp.Meter("m").Int64Counter("requests")
	if err != nil {
		t.Fatal(err)
	}

	const (
		before = 5 * time.Second
		down   = 30 * time.Second
		after  = 5 * time.Second
	)
	start := time.Now()
	var once sync.Once
	spans, logs := map[string]bool{}, map[string]bool{}
	increments := int64(0)
	for i := 0; time.Since(start) < before+down+after; i++ {
		if time.Since(start) >= before {
			once.Do(func() {
				if err := proxy.Outage(faultproxy.HangUp, down); err != nil {
					t.Fatal(err)
				}
			})
		}
		sctx, root := tracer.Start(ctx, "request "+strconv.Itoa(i))
		for j := range 2 {
			_, child := tracer.Start(sctx, fmt.Sprintf("step %d", j))
			spans[child.SpanContext().SpanID().String()] = true
			child.End()
		}
		var r otellog.Record
		body := "log " + strconv.Itoa(i)
		r.SetBody(attribute.StringValue(body))
		logger.Emit(sctx, r)
		logs[body] = true
		counter.Add(sctx, 1)
		increments++
		spans[root.SpanContext().SpanID().String()] = true
		root.End()
		time.Sleep(25 * time.Millisecond)
	}
	for _, shutdown := range []func(context.Context) error{tp.Shutdown, mp.Shutdown, lp.Shutdown} {
		if err := shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	if st := proxy.Stats(); st.HungUp == 0 {
		t.Fatalf("proxy stats %+v: the outage was not met", st)
	}

	recs, err := teststream.Read(ctx, direct, stream)
	if err != nil {
		t.Fatal(err)
	}
	gotSpans, gotLogs := map[string]int{}, map[string]int{}
	var gotIncrements int64
	for _, r := range recs {
		switch tel := r.Telemetry; {
		case tel.Traces != nil:
			for _, rs := range tel.Traces.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						gotSpans[fmt.Sprintf("%x", s.SpanId)]++
					}
				}
			}
		case tel.Logs != nil:
			for _, rl := range tel.Logs.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					for _, l := range sl.LogRecords {
						gotLogs[l.Body.GetStringValue()]++
					}
				}
			}
		case tel.Metrics != nil:
			for _, rm := range tel.Metrics.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						for _, dp := range m.GetSum().GetDataPoints() {
							gotIncrements += dp.GetAsInt()
						}
					}
				}
			}
		}
	}
	exactlyOnce := func(what string, want map[string]bool, got map[string]int) {
		t.Helper()
		missing, dup := 0, 0
		for k := range want {
			switch got[k] {
			case 0:
				missing++
			case 1:
			default:
				dup++
			}
		}
		if missing > 0 || dup > 0 || len(got) != len(want) {
			t.Errorf("%s: %d sent, %d read; %d missing, %d more than once", what, len(want), len(got), missing, dup)
		}
	}
	exactlyOnce("spans", spans, gotSpans)
	exactlyOnce("log records", logs, gotLogs)
	if gotIncrements != increments {
		t.Errorf("metric increments read %d, want %d", gotIncrements, increments)
	}
	t.Logf("%d spans, %d log records, %d increments through a %v outage", len(spans), len(logs), increments, down)
}
