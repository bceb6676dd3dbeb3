package exporter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.43.0/otelconv"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/selfobs"
)

// observer reports an exporter's metrics as the semantic conventions define them for SDK
// exporters, and as the Go SDK's own exporters report them:
// otel.sdk.exporter.{span,metric_data_point,log}.exported and .inflight, and
// otel.sdk.exporter.operation.duration, each series with the exporter's
// otel.component.type and otel.component.name and the Kinesis endpoint's server.address
// and server.port.
//
// The exporters hand items to a producer that delivers them later, and retries what
// fails, so an item's export ends when its fate is known. With the exporter's own
// producer that is when Kinesis stored it (exported, no error.type) or when it was
// dropped, before the producer (too_large, not_accepted, unsupported) or by the producer
// (its drop reason: retries_exhausted, expired, permanent_error, shutdown...), which is then the
// error.type; until then it is in flight. With a shared producer, whose aggregates mix the
// exporters' items, the export ends when the producer takes the items: what becomes of
// them is in the producer's own metrics. Each item is counted once.
//
// exported and inflight are read at collection time from counters the export calls and
// the producer's HookDropped hook add to (and, for delivered items, from the producer's
// counters), so an export call pays a few atomic additions; operation.duration (one
// export call: encoding and handing to the producer) is recorded when the call returns.
type observer struct {
	shared bool

	begun    atomic.Int64 // items given to export calls
	ended    atomic.Int64 // of those, the items of the calls that returned
	handed   atomic.Int64 // items of the user records handed to the own producer, or being handed
	accepted atomic.Int64 // items a shared producer took

	mu        sync.Mutex
	failed    map[string]int64 // items whose export failed, by error.type
	post      int64            // of those, the items the own producer dropped
	producer  *kpl.Producer    // the own producer, read for delivered items; nil once shut down
	delivered int64            // its items delivered, once shut down
	opts      map[string]metric.MeasurementOption

	duration metric.Float64Histogram // nil until start
	base     []attribute.KeyValue
	ok       metric.MeasurementOption
}

// componentType is the otel.component.type of the exporters of signal.
func componentType(s config.Signal) string {
	switch s {
	case config.Metrics:
		return selfobs.TypeMetricExporter
	case config.Logs:
		return selfobs.TypeLogExporter
	default:
		return selfobs.TypeSpanExporter
	}
}

// newObserver returns the observer of an exporter, or nil when self-observability is off
// for it. It records nothing until start.
func newObserver(shared bool) *observer {
	return &observer{shared: shared, failed: map[string]int64{}, opts: map[string]metric.MeasurementOption{}}
}

// start creates the instruments of an exporter of signal named name in mp's meter, with
// the attributes of the endpoint p sends to, and registers the callback that reads them.
// A failure is reported through otel.Handle; the exporter works on without them.
func (o *observer) start(mp metric.MeterProvider, signal config.Signal, name string, p *kpl.Producer) {
	o.base = append(selfobs.ComponentAttrs(componentType(signal), name), p.ServerAttrs()...)
	o.ok = metric.WithAttributeSet(attribute.NewSet(slices.Clone(o.base)...))
	if !o.shared {
		o.producer = p
	}
	m := selfobs.Meter(mp)
	var exported metric.Int64ObservableCounter
	var inflight metric.Int64ObservableUpDownCounter
	var errs []error
	switch signal {
	case config.Metrics:
		e, err1 := otelconv.NewSDKExporterMetricDataPointExportedObservable(m)
		i, err2 := otelconv.NewSDKExporterMetricDataPointInflightObservable(m)
		exported, inflight, errs = e.Inst(), i.Inst(), append(errs, err1, err2)
	case config.Logs:
		e, err1 := otelconv.NewSDKExporterLogExportedObservable(m)
		i, err2 := otelconv.NewSDKExporterLogInflightObservable(m)
		exported, inflight, errs = e.Inst(), i.Inst(), append(errs, err1, err2)
	default:
		e, err1 := otelconv.NewSDKExporterSpanExportedObservable(m)
		i, err2 := otelconv.NewSDKExporterSpanInflightObservable(m)
		exported, inflight, errs = e.Inst(), i.Inst(), append(errs, err1, err2)
	}
	// The semantic conventions' boundaries for durations (the SDK's default ones are
	// sized for milliseconds).
	d, err := otelconv.NewSDKExporterOperationDuration(m,
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	errs = append(errs, err)
	_, err = m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		o.observe(ob, exported, inflight)
		return nil
	}, exported, inflight)
	errs = append(errs, err)
	o.mu.Lock()
	o.duration = d.Inst()
	o.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		otel.Handle(fmt.Errorf("otelkinesis: %s metrics: %w", name, err))
	}
}

// observe reports exported and inflight. It reads the counters that can only grow first
// and those that bound them last, so that inflight is never negative.
func (o *observer) observe(ob metric.Observer, exported metric.Int64ObservableCounter, inflight metric.Int64ObservableUpDownCounter) {
	o.mu.Lock()
	p, delivered := o.producer, o.delivered
	o.mu.Unlock()
	if p != nil {
		delivered = p.Stats().ItemsDelivered
	}
	type failure struct {
		errType string
		n       int64
	}
	o.mu.Lock()
	failed := make([]failure, 0, len(o.failed))
	for t, n := range o.failed {
		failed = append(failed, failure{t, n})
	}
	post := o.post
	o.mu.Unlock()
	var success, inProducer int64
	if o.shared {
		success = o.accepted.Load()
	} else {
		success = delivered
		inProducer = max(o.handed.Load()-delivered-post, 0)
	}
	ended := o.ended.Load()
	inExport := max(o.begun.Load()-ended, 0)

	ob.ObserveInt64(exported, success, o.ok)
	slices.SortFunc(failed, func(a, b failure) int { return strings.Compare(a.errType, b.errType) })
	for _, f := range failed {
		ob.ObserveInt64(exported, f.n, o.opt(f.errType))
	}
	ob.ObserveInt64(inflight, inExport+inProducer, o.ok)
}

// opt returns the measurement option of the base attributes with error.type t.
func (o *observer) opt(t string) metric.MeasurementOption {
	o.mu.Lock()
	defer o.mu.Unlock()
	opt, ok := o.opts[t]
	if !ok {
		opt = metric.WithAttributeSet(attribute.NewSet(append(slices.Clone(o.base), selfobs.ErrorType(t))...))
		o.opts[t] = opt
	}
	return opt
}

// fail counts n items whose export failed with error.type t; post says the own producer
// dropped them.
func (o *observer) fail(t string, n int64, post bool) {
	if n <= 0 {
		return
	}
	o.mu.Lock()
	o.failed[t] += n
	if post {
		o.post += n
	}
	o.mu.Unlock()
}

// record records the duration of an export call that began at start, with error.type t
// unless t is empty.
func (o *observer) record(start time.Time, t string) {
	o.mu.Lock()
	d := o.duration
	o.mu.Unlock()
	if d == nil {
		return
	}
	opt := o.ok
	if t != "" {
		opt = o.opt(t)
	}
	d.Record(context.Background(), time.Since(start).Seconds(), opt)
}

// stop keeps the own producer's last count of delivered items and lets go of the
// producer; called once it is shut down.
func (o *observer) stop() {
	o.mu.Lock()
	p := o.producer
	o.mu.Unlock()
	if p == nil {
		return
	}
	n := p.Stats().ItemsDelivered
	o.mu.Lock()
	o.delivered, o.producer = n, nil
	o.mu.Unlock()
}
