package kpl

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelkinesis/otelkinesis/internal/selfobs"
	"github.com/otelkinesis/otelkinesis/internal/version"
)

// collectSeries collects reader and returns its sum series (seriesOf).
func collectSeries(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return seriesOf(&rm)
}

// seriesOf returns the value of each sum series of rm as "name" or
// "name{key=value,...}", its attributes other than those every series of the
// producer carries (baseAttrs) in their set's order.
func seriesOf(rm *metricdata.ResourceMetrics) map[string]int64 {
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				var kv []string
				for _, a := range dp.Attributes.ToSlice() {
					if !baseAttrs[string(a.Key)] {
						kv = append(kv, string(a.Key)+"="+a.Value.Emit())
					}
				}
				name := m.Name
				if len(kv) > 0 {
					name += "{" + strings.Join(kv, ",") + "}"
				}
				got[name] = dp.Value
			}
		}
	}
	return got
}

// baseAttrs are the attributes of every series of a producer.
var baseAttrs = map[string]bool{
	"aws.kinesis.stream_name": true, "otel.component.type": true, "otel.component.name": true,
	"server.address": true, "server.port": true,
}

// TestProducerMetricsCountFailures runs a scripted fake stream and checks the
// counters of retries by error code, throttles, drops by reason and Kinesis
// records sent against the exact values the script implies. Aggregates hold 10
// user records of 11 bytes (key "k", 10 bytes of data); retries are due at once.
//
//  1. 30 user records, 3 aggregates, one request: the first entry is throttled,
//     the second fails with InternalFailure; both go again in one request. 5
//     Kinesis records, 2 requests; retries ProvisionedThroughputExceededException 1
//     and InternalFailure 1; throttles 1.
//  2. 15 user records, 2 aggregates, one request refused with AccessDenied:
//     dropped permanent_error 15 (165 bytes). 2 Kinesis records, 1 request.
//  3. 5 user records, 1 aggregate, failing with InternalFailure twice:
//     max_retries 1 spent, dropped retries_exhausted 5 (55 bytes); one more
//     InternalFailure retry. 2 Kinesis records, 2 requests.
//  4. 7 user records, 1 aggregate, in a request that hangs until a Shutdown whose
//     context ends cancels it: dropped shutdown 7 (77 bytes). 1 Kinesis record,
//     1 request. A HookDropped collects the metrics then; after Shutdown they keep
//     those values, but for memory.limit, which reads 0.
func TestProducerMetricsCountFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeKinesis("s", 1)
		var phase atomic.Int32
		entry := 0
		f.entryErr = func(_, _ int) string {
			entry++
			switch phase.Load() {
			case 1:
				switch entry {
				case 1:
					return "ProvisionedThroughputExceededException"
				case 2:
					return "InternalFailure"
				}
			case 3:
				return "InternalFailure"
			}
			return ""
		}
		f.putErr = func(int) error {
			if phase.Load() == 2 {
				return apiError("AccessDeniedException", "not authorized to perform kinesis:PutRecords", smithy.FaultClient)
			}
			return nil
		}
		defer setErrorHandler(func(error) {})() // the drops are expected
		reader := sdkmetric.NewManualReader()
		cfg := testConfig("s")
		cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		cfg.FlushInterval = time.Hour
		cfg.AggregateBatchCount = 10
		cfg.MaxRetries = 1
		// A HookDropped runs without the producer's lock, before Shutdown unregisters the
		// metrics: the last moment to read the shutdown drops.
		var atShutdown metricdata.ResourceMetrics
		var collectErr error
		cfg.Hooks = []Hook{HookDroppedFunc(func(de *DropError) {
			if de.Reason == DropShutdown {
				collectErr = reader.Collect(context.Background(), &atShutdown)
			}
		})}
		p, err := newWithKnobs(t.Context(), f, cfg, testKnobs{rnd: func(int64) int64 { return 0 }, noRateLimit: true})
		if err != nil {
			t.Fatal(err)
		}
		put := func(n int) {
			for range n {
				mustPut(t, p, "k", "", []byte("0123456789"), nil)
			}
		}

		phase.Store(1)
		put(30)
		mustFlush(t, p)
		phase.Store(2)
		put(15)
		if err := p.Flush(t.Context()); !errors.Is(err, ErrPermanent) {
			t.Fatalf("phase 2: Flush = %v", err)
		}
		phase.Store(3)
		put(5)
		if err := p.Flush(t.Context()); !errors.Is(err, ErrRetriesExhausted) {
			t.Fatalf("phase 3: Flush = %v", err)
		}
		want := map[string]int64{
			"otelkinesis.producer.user_records":                                               50,
			"otelkinesis.producer.user_records.size":                                          550,
			"otelkinesis.producer.user_records.delivered":                                     30,
			"otelkinesis.producer.user_records.possible_duplicates":                           0,
			"otelkinesis.producer.items.delivered":                                            30,
			"otelkinesis.producer.kinesis_records":                                            9,
			"otelkinesis.producer.requests":                                                   5,
			"otelkinesis.producer.retries{error.type=ProvisionedThroughputExceededException}": 1,
			"otelkinesis.producer.retries{error.type=InternalFailure}":                        2,
			"otelkinesis.producer.throttles":                                                  1,
			"otelkinesis.producer.user_records.dropped{error.type=permanent_error}":           15,
			"otelkinesis.producer.user_records.dropped.size{error.type=permanent_error}":      165,
			"otelkinesis.producer.items.dropped{error.type=permanent_error}":                  15,
			"otelkinesis.producer.user_records.dropped{error.type=retries_exhausted}":         5,
			"otelkinesis.producer.user_records.dropped.size{error.type=retries_exhausted}":    55,
			"otelkinesis.producer.items.dropped{error.type=retries_exhausted}":                5,
			"otelkinesis.producer.buffered.user_records":                                      0,
			"otelkinesis.producer.buffered.size":                                              0,
			"otelkinesis.producer.memory.limit":                                               cfg.BacklogBytes,
			"otelkinesis.producer.memory.used":                                                -1, // not compared
		}
		checkSeries(t, "after phase 3", collectSeries(t, reader), want)

		phase.Store(4)
		f.mu.Lock()
		f.block = make(chan struct{}) // never closed: the request hangs until cancelled
		f.mu.Unlock()
		put(7)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		if err := p.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("phase 4: Flush = %v", err)
		}
		cancel()
		if put, _ := f.calls(); put != 6 {
			t.Fatalf("%d requests made, want the 6th hanging", put)
		}
		ctx, cancel = context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v", err)
		}
		want["otelkinesis.producer.user_records"] = 57
		want["otelkinesis.producer.user_records.size"] = 627
		want["otelkinesis.producer.kinesis_records"] = 10
		want["otelkinesis.producer.requests"] = 6
		want["otelkinesis.producer.user_records.dropped{error.type=shutdown}"] = 7
		want["otelkinesis.producer.user_records.dropped.size{error.type=shutdown}"] = 77
		want["otelkinesis.producer.items.dropped{error.type=shutdown}"] = 7
		if collectErr != nil {
			t.Fatal(collectErr)
		}
		checkSeries(t, "at shutdown", seriesOf(&atShutdown), want)
		want["otelkinesis.producer.memory.limit"] = 0
		checkSeries(t, "after Shutdown", collectSeries(t, reader), want)
	})
}

// checkSeries compares got with want, ignoring the series want has at -1 but
// requiring them present.
func checkSeries(t *testing.T, when string, got, want map[string]int64) {
	t.Helper()
	g := maps.Clone(got)
	for k, v := range want {
		if v == -1 {
			if _, ok := g[k]; !ok {
				t.Errorf("%s: %s not reported", when, k)
			}
			delete(g, k)
		}
	}
	w := maps.Clone(want)
	maps.DeleteFunc(w, func(_ string, v int64) bool { return v == -1 })
	if !maps.Equal(g, w) {
		for k := range mergedKeys(g, w) {
			if g[k] != w[k] {
				t.Errorf("%s: %s = %d, want %d", when, k, g[k], w[k])
			}
		}
	}
}

func mergedKeys(a, b map[string]int64) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// useGlobalMeterProvider makes a new MeterProvider read by the returned
// reader the global one until the test ends.
func useGlobalMeterProvider(t *testing.T) *sdkmetric.ManualReader {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	return reader
}

// TestProducerMetricsOptIn: with a global MeterProvider set, a producer
// without a MeterProvider of its own reports nothing unless
// OTEL_GO_X_OBSERVABILITY is "true"; then it reports to the global one.
func TestProducerMetricsOptIn(t *testing.T) {
	reader := useGlobalMeterProvider(t)
	for _, env := range []string{"", "false", "true"} {
		t.Setenv("OTEL_GO_X_OBSERVABILITY", env)
		cfg := testConfig("s")
		cfg.MeterProvider = nil
		p := newTestProducer(t, newFakeKinesis("s", 1), cfg)
		mustPut(t, p, "k", "", []byte("data"), nil)
		mustFlush(t, p)
		got := collectSeries(t, reader)
		if env != "true" {
			if len(got) != 0 {
				t.Errorf("OTEL_GO_X_OBSERVABILITY=%q: %d series reported: %v", env, len(got), got)
			}
			continue
		}
		if got["otelkinesis.producer.user_records.delivered"] != 1 {
			t.Errorf("OTEL_GO_X_OBSERVABILITY=true: %v, want 1 user record delivered", got)
		}
	}
}

// TestProducerMetricsPerProducer: two producers on one MeterProvider report
// two series of each metric, told apart by otel.component.name, in the
// library's versioned scope.
func TestProducerMetricsPerProducer(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	for range 2 {
		cfg := testConfig("s")
		cfg.MeterProvider = mp
		newTestProducer(t, newFakeKinesis("s", 1), cfg)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 {
		t.Fatalf("%d scopes, want 1", len(rm.ScopeMetrics))
	}
	sc := rm.ScopeMetrics[0].Scope
	if sc.Name != selfobs.ScopeName || sc.Version != version.Version || sc.SchemaURL == "" {
		t.Errorf("scope %+v, want %s %s with a schema URL", sc, selfobs.ScopeName, version.Version)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "otelkinesis.producer.memory.limit" {
			continue
		}
		names := map[string]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			name, _ := dp.Attributes.Value("otel.component.name")
			typ, _ := dp.Attributes.Value("otel.component.type")
			if typ.AsString() != selfobs.TypeProducer || !strings.HasPrefix(name.AsString(), selfobs.TypeProducer+"/") {
				t.Errorf("series of %s %s", typ.AsString(), name.AsString())
			}
			names[name.AsString()] = dp.Value
		}
		if len(names) != 2 {
			t.Fatalf("memory.limit series %v, want one per producer", names)
		}
		for n, v := range names {
			if v != DefaultConfig().BacklogBytes {
				t.Errorf("%s: memory.limit %d, want %d", n, v, DefaultConfig().BacklogBytes)
			}
		}
		return
	}
	t.Fatal("no memory.limit reported")
}
