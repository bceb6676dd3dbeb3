package exporter_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// newStream starts kinesistest with one stream "s" of 2 shards.
func newStream(t *testing.T) *kinesistest.Server {
	t.Helper()
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("s", 2); err != nil {
		t.Fatal(err)
	}
	return srv
}

// streamConfig is the configuration of an exporter of signal writing srv's stream, with
// its metrics going to a new MeterProvider read by the returned reader.
func streamConfig(srv *kinesistest.Server, signal config.Signal) (config.Config, *sdkmetric.ManualReader) {
	cfg := config.Default(signal)
	cfg.Producer.StreamName = "s"
	cfg.Producer.MinBackoff = time.Millisecond
	cfg.Producer.MaxBackoff = 10 * time.Millisecond
	cfg.Endpoint = srv.URL()
	aws := srv.AWSConfig()
	cfg.AWSConfig = &aws
	reader := sdkmetric.NewManualReader()
	cfg.Producer.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	return cfg, reader
}

// TestProducerDropsCounted: the items of user records the exporter's own producer took and
// then dropped are counted as failed exports with the producer's reason as error.type,
// and a HookDropped the configuration already had still sees each drop.
func TestProducerDropsCounted(t *testing.T) {
	srv := newStream(t)
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	cfg, reader := streamConfig(srv, config.Logs)
	var seen atomic.Int64
	cfg.Producer.Hooks = []kpl.Hook{kpl.HookDroppedFunc(func(d *kpl.DropError) { seen.Add(int64(d.Records)) })}
	c, err := exporter.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	ctx := context.Background()
	for i := range 10 {
		if err := c.Put(ctx, "key-"+string(rune('a'+i)), []byte("log records"), 3); err != nil {
			t.Fatal(err)
		}
	}
	err = c.Flush(ctx)
	var de *kpl.DropError
	if !errors.As(err, &de) || de.Reason != kpl.DropPermanent || de.Items != 30 {
		t.Fatalf("Flush = %v, want a permanent drop of 30 items", err)
	}
	want := map[string]int64{exporter.ReasonPermanentError + "/logs": 30}
	if got := exportertest.Dropped(t, reader); !maps.Equal(got, want) {
		t.Errorf("dropped = %v, want %v", got, want)
	}
	if seen.Load() != 10 {
		t.Errorf("the configured hook saw %d user records, want 10", seen.Load())
	}
}

// TestShutdownDropsCounted: records a Shutdown whose context ended gave up on are counted
// with the reason shutdown.
func TestShutdownDropsCounted(t *testing.T) {
	srv := newStream(t)
	srv.InjectRequests(-1, kinesistest.Stall(), "PutRecords")
	cfg, reader := streamConfig(srv, config.Metrics)
	c, err := exporter.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := c.Put(context.Background(), "k"+string(rune('0'+i)), []byte("points"), 5); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	want := map[string]int64{exporter.ReasonShutdown + "/metrics": 20}
	if got := exportertest.Dropped(t, reader); !maps.Equal(got, want) {
		t.Errorf("dropped = %v, want %v", got, want)
	}
}

// TestSharedProducerDrops: a producer shared by a trace and a log exporter counts the
// items it drops by reason in its own metrics; the exporters, which did not create it,
// count those items exported when it took them, and no failure.
func TestSharedProducerDrops(t *testing.T) {
	srv := newStream(t)
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	pcfg, reader := streamConfig(srv, "")
	p, err := pcfg.NewProducer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	var cores []*exporter.Core
	for _, signal := range []config.Signal{config.Traces, config.Logs} {
		cfg, _ := streamConfig(srv, signal)
		cfg.Producer.MeterProvider = pcfg.Producer.MeterProvider
		cfg.SharedProducer = p
		c, err := exporter.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		cores = append(cores, c)
	}
	ctx := context.Background()
	for i, c := range cores {
		for j := range 5 {
			if err := c.Put(ctx, "k"+string(rune('a'+j)), []byte("items"), i+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); !errors.Is(err, kpl.ErrPermanent) {
		t.Fatalf("Flush = %v, want a permanent drop", err)
	}
	for _, c := range cores {
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown of the %s exporter: %v", c.Signal(), err)
		}
	}
	// 5 user records of 1 span and 5 of 2 log records.
	if got, want := exportertest.ProducerDropped(t, reader), map[string]int64{exporter.ReasonPermanentError: 15}; !maps.Equal(got, want) {
		t.Errorf("producer dropped = %v, want %v", got, want)
	}
	if got := exportertest.Dropped(t, reader); len(got) != 0 {
		t.Errorf("exporters counted failures %v, want none", got)
	}
	if got, want := exportertest.Exported(t, reader), map[string]int64{"traces": 5, "logs": 10}; !maps.Equal(got, want) {
		t.Errorf("exported = %v, want %v", got, want)
	}
}

// TestReasons: the reasons of the producer's drops are the producer's own words.
func TestReasons(t *testing.T) {
	for got, want := range map[string]string{
		exporter.ReasonRetriesExhausted: "retries_exhausted", exporter.ReasonPermanentError: "permanent_error", exporter.ReasonShutdown: "shutdown",
	} {
		if got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
	}
}

// TestNewTooSmallRecordLimitLeavesNothingRunning: when the stream's record limit leaves
// too little room per user record, New fails and shuts down the producer it created.
func TestNewTooSmallRecordLimitLeavesNothingRunning(t *testing.T) {
	srv := newStream(t)
	cfg, _ := streamConfig(srv, config.Traces)
	cfg.Producer.MaxRecordSize = 1024 // less than the longest partition key and the tags need
	before := goleak.IgnoreCurrent()
	if _, err := exporter.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "record limit") {
		t.Fatalf("New = %v, want the record limit refused", err)
	}
	goleak.VerifyNone(t, before, // the producer's goroutines, not the HTTP connections'
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

// inflight collects reader and returns the value of the exporters' inflight series.
func inflight(t *testing.T, reader *sdkmetric.ManualReader) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if strings.HasSuffix(m.Name, ".inflight") {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}

// TestItemsInFlightUntilTheirFateIsKnown: items handed to the exporter's own producer stay
// in flight while the producer holds them (here, while every request stalls), and are
// counted exported once, with the reason they were dropped, when a Shutdown whose context
// ends gives up on them.
func TestItemsInFlightUntilTheirFateIsKnown(t *testing.T) {
	srv := newStream(t)
	srv.InjectRequests(-1, kinesistest.Stall(), "PutRecords")
	cfg, reader := streamConfig(srv, config.Traces)
	c, err := exporter.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	op := c.Begin(20)
	emit := c.Emit(context.Background(), op, func() int { return 5 })
	for i := range 4 {
		if err := emit("k"+string(rune('0'+i)), []byte("spans")); err != nil {
			t.Fatal(err)
		}
	}
	if got := inflight(t, reader); got != 20 {
		t.Errorf("during the export: %d in flight, want 20", got)
	}
	if err := c.Finish(op, exporter.Outcome{Handed: 20}, "spans"); err != nil {
		t.Fatal(err)
	}
	if got := inflight(t, reader); got != 20 {
		t.Errorf("held by the producer: %d in flight, want 20", got)
	}
	if got := exportertest.Exported(t, reader); got["traces"] != 0 {
		t.Errorf("exported before delivery: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	if got := inflight(t, reader); got != 0 {
		t.Errorf("after the drop: %d in flight, want 0", got)
	}
	if got, want := exportertest.Dropped(t, reader), map[string]int64{exporter.ReasonShutdown + "/traces": 20}; !maps.Equal(got, want) {
		t.Errorf("dropped = %v, want %v", got, want)
	}
}
