package autoexport

import (
	"context"
	"errors"
	"fmt"
	"sync"

	contrib "go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// Name is the exporter name this package registers for the three signals: the value of
// OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER that selects
// Kinesis.
const Name = "kinesis"

func init() {
	register("RegisterSpanExporter", func() { contrib.RegisterSpanExporter(Name, newSpanExporter) })
	register("RegisterMetricReader", func() { contrib.RegisterMetricReader(Name, newMetricReader) })
	register("RegisterLogExporter", func() { contrib.RegisterLogExporter(Name, newLogExporter) })
}

// register runs one registration. The contrib registry panics when the name is taken
// already (by another package registering "kinesis"): that is reported through
// otel.Handle instead, and the other registration stays.
func register(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			otel.Handle(fmt.Errorf("otelkinesis: autoexport: %s(%q) failed, the name is kept by its earlier registration: %v", what, Name, r))
		}
	}()
	fn()
}

// newSpanExporter is the factory of OTEL_TRACES_EXPORTER=kinesis.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	l, err := acquire(ctx, otelkinesis.SignalTraces)
	if err != nil {
		return nil, err
	}
	exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(l.producer()))
	if err != nil {
		return nil, errors.Join(err, l.release(ctx))
	}
	return &spanExporter{Exporter: exp, lease: l}, nil
}

// newMetricReader is the factory of OTEL_METRICS_EXPORTER=kinesis: a periodic reader
// over a metric exporter, with the interval and timeout the SDK reads from
// OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT.
func newMetricReader(ctx context.Context) (sdkmetric.Reader, error) {
	l, err := acquire(ctx, otelkinesis.SignalMetrics)
	if err != nil {
		return nil, err
	}
	exp, err := kinesismetric.New(ctx, otelkinesis.WithProducer(l.producer()))
	if err != nil {
		return nil, errors.Join(err, l.release(ctx))
	}
	return sdkmetric.NewPeriodicReader(&metricExporter{Exporter: exp, lease: l}), nil
}

// newLogExporter is the factory of OTEL_LOGS_EXPORTER=kinesis.
func newLogExporter(ctx context.Context) (sdklog.Exporter, error) {
	l, err := acquire(ctx, otelkinesis.SignalLogs)
	if err != nil {
		return nil, err
	}
	exp, err := kinesislog.New(ctx, otelkinesis.WithProducer(l.producer()))
	if err != nil {
		return nil, errors.Join(err, l.release(ctx))
	}
	return &logExporter{Exporter: exp, lease: l}, nil
}

// spanExporter is a trace exporter whose Shutdown also releases its share of the
// producer.
type spanExporter struct {
	*kinesistrace.Exporter
	lease *lease
}

// Shutdown shuts the exporter down (flushing the shared producer), then releases the
// producer, which the last of its exporters shuts down.
func (e *spanExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Exporter.Shutdown(ctx), e.lease.release(ctx))
}

// metricExporter is spanExporter for metrics.
type metricExporter struct {
	*kinesismetric.Exporter
	lease *lease
}

// Shutdown is spanExporter.Shutdown for metrics.
func (e *metricExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Exporter.Shutdown(ctx), e.lease.release(ctx))
}

// logExporter is spanExporter for logs.
type logExporter struct {
	*kinesislog.Exporter
	lease *lease
}

// Shutdown is spanExporter.Shutdown for logs.
func (e *logExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.Exporter.Shutdown(ctx), e.lease.release(ctx))
}

// shared is one producer of the process and the exporters holding it.
type shared struct {
	settings otelkinesis.ProducerSettings
	producer *otelkinesis.Producer
	refs     int // guarded by producers.mu
}

// producers are the producers in use, one for each distinct set of producer settings.
var producers struct {
	mu   sync.Mutex
	live []*shared
}

// lease is one exporter's share of a producer.
type lease struct {
	s    *shared
	once sync.Once
	err  error
}

func (l *lease) producer() *otelkinesis.Producer { return l.s.producer }

// acquire returns a share of the producer for signal's settings, read from the
// environment: the producer in use with equal settings, or a new one (checking the
// stream once).
func acquire(ctx context.Context, signal otelkinesis.Signal) (*lease, error) {
	settings, err := otelkinesis.LoadProducerSettings(signal)
	if err != nil {
		return nil, err
	}
	producers.mu.Lock()
	defer producers.mu.Unlock()
	for _, s := range producers.live {
		if s.settings.Equal(settings) {
			s.refs++
			return &lease{s: s}, nil
		}
	}
	p, err := settings.NewProducer(ctx)
	if err != nil {
		return nil, err
	}
	s := &shared{settings: settings, producer: p, refs: 1}
	producers.live = append(producers.live, s)
	return &lease{s: s}, nil
}

// release gives the share back, once: the last share of a producer shuts it down, by
// ctx. Later calls return the first one's result.
func (l *lease) release(ctx context.Context) error {
	l.once.Do(func() {
		producers.mu.Lock()
		l.s.refs--
		last := l.s.refs == 0
		if last {
			for i, s := range producers.live {
				if s == l.s {
					producers.live = append(producers.live[:i], producers.live[i+1:]...)
					break
				}
			}
		}
		producers.mu.Unlock()
		if last {
			if err := l.s.producer.Shutdown(ctx); err != nil {
				l.err = fmt.Errorf("otelkinesis: shutting down the shared producer: %w", err)
			}
		}
	})
	return l.err
}
