package sdk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// Providers are the three SDK providers New sets up on one Kinesis stream, and the one
// producer they write through. They are safe for concurrent use.
type Providers struct {
	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
	lp       *sdklog.LoggerProvider
	producer *otelkinesis.Producer

	stopping atomic.Bool
	once     sync.Once
	err      error
}

// New creates one producer from opts and the environment (checking, once, that the
// stream exists), the trace, metric and log exporters on it, and the SDK providers that
// feed them: a TracerProvider with a batching span processor, a MeterProvider with a
// periodic reader and a LoggerProvider with a batch processor. See the package
// documentation for the options. When it fails, it returns an error starting with
// "otelkinesis:" and leaves nothing running; ctx bounds the startup check and that
// cleanup, not the providers' lifetime.
func New(ctx context.Context, opts ...Option) (*Providers, error) {
	var s settings
	for _, o := range opts {
		s.add(o)
	}
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}

	producer, err := otelkinesis.NewProducer(ctx, s.producer...)
	if err != nil {
		return nil, err
	}
	shared := append([]otelkinesis.ExporterOption{otelkinesis.WithProducer(producer)}, s.exporters...)
	var started []func(context.Context) error // what to stop if a later step fails
	fail := func(err error) (*Providers, error) {
		for _, stop := range started {
			_ = stop(ctx)
		}
		_ = producer.Shutdown(ctx)
		return nil, err
	}

	texp, err := kinesistrace.New(ctx, append(convert[kinesistrace.Option](shared), s.trace...)...)
	if err != nil {
		return fail(err)
	}
	started = append(started, texp.Shutdown)
	mexp, err := kinesismetric.New(ctx, append(convert[kinesismetric.Option](shared), s.metric...)...)
	if err != nil {
		return fail(err)
	}
	started = append(started, mexp.Shutdown)
	lexp, err := kinesislog.New(ctx, append(convert[kinesislog.Option](shared), s.log...)...)
	if err != nil {
		return fail(err)
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(texp, s.bsp...)}
	mpOpts := []sdkmetric.Option{sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, s.reader...))}
	lpOpts := []sdklog.LoggerProviderOption{sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp, s.blp...))}
	if s.resource != nil {
		tpOpts = append(tpOpts, sdktrace.WithResource(s.resource))
		mpOpts = append(mpOpts, sdkmetric.WithResource(s.resource))
		lpOpts = append(lpOpts, sdklog.WithResource(s.resource))
	}
	return &Providers{
		tp:       sdktrace.NewTracerProvider(append(tpOpts, s.tp...)...),
		mp:       sdkmetric.NewMeterProvider(append(mpOpts, s.mp...)...),
		lp:       sdklog.NewLoggerProvider(append(lpOpts, s.lp...)...),
		producer: producer,
	}, nil
}

// convert returns opts as options of one exporter, O: every otelkinesis.ExporterOption is
// one.
func convert[O any](opts []otelkinesis.ExporterOption) []O {
	out := make([]O, 0, len(opts))
	for _, o := range opts {
		out = append(out, any(o).(O))
	}
	return out
}

// TracerProvider returns the TracerProvider, whose spans go to the stream.
func (p *Providers) TracerProvider() *sdktrace.TracerProvider { return p.tp }

// MeterProvider returns the MeterProvider, whose metrics go to the stream.
func (p *Providers) MeterProvider() *sdkmetric.MeterProvider { return p.mp }

// LoggerProvider returns the LoggerProvider, whose log records go to the stream.
func (p *Providers) LoggerProvider() *sdklog.LoggerProvider { return p.lp }

// Producer returns the producer the three exporters share, for user records of your own
// ([otelkinesis.Producer.Put]). Shutdown stops it: do not shut it down yourself.
func (p *Providers) Producer() *otelkinesis.Producer { return p.producer }

// ForceFlush exports what the three providers hold (each concurrently: spans queued in
// the batcher, the metrics collected now, queued log records) and then waits until the
// producer has delivered or dropped everything, or ctx ends. The errors of each step are
// joined. After Shutdown it does nothing and returns nil.
func (p *Providers) ForceFlush(ctx context.Context) error {
	if p.stopping.Load() {
		return nil
	}
	errs := p.eachProvider(ctx, "flushing", (*sdktrace.TracerProvider).ForceFlush,
		(*sdkmetric.MeterProvider).ForceFlush, (*sdklog.LoggerProvider).ForceFlush)
	errs = append(errs, wrap("flushing the producer", p.producer.Flush(ctx)))
	return errors.Join(errs...)
}

// Shutdown shuts the three providers down (each concurrently: flushing what they hold
// into their exporters, which flush the producer), then the producer, which delivers
// what it still holds. It ends by ctx: when ctx ends first, what is not yet delivered is
// dropped and reported, and every goroutine is still stopped. It returns the errors of
// each step, joined. Calls after the first (and concurrent ones) wait for it and return
// its result.
func (p *Providers) Shutdown(ctx context.Context) error {
	p.once.Do(func() {
		p.stopping.Store(true)
		errs := p.eachProvider(ctx, "shutting down", (*sdktrace.TracerProvider).Shutdown,
			(*sdkmetric.MeterProvider).Shutdown, (*sdklog.LoggerProvider).Shutdown)
		errs = append(errs, wrap("shutting down the producer", p.producer.Shutdown(ctx)))
		p.err = errors.Join(errs...)
	})
	return p.err
}

// eachProvider runs the three calls concurrently and returns their errors, each wrapped
// with doing and its provider.
func (p *Providers) eachProvider(ctx context.Context, doing string,
	t func(*sdktrace.TracerProvider, context.Context) error,
	m func(*sdkmetric.MeterProvider, context.Context) error,
	l func(*sdklog.LoggerProvider, context.Context) error,
) []error {
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = wrap(doing+" the tracer provider", t(p.tp, ctx)) })
	wg.Go(func() { errs[1] = wrap(doing+" the meter provider", m(p.mp, ctx)) })
	wg.Go(func() { errs[2] = wrap(doing+" the logger provider", l(p.lp, ctx)) })
	wg.Wait()
	return errs
}

// wrapped is an error of a step of Shutdown or ForceFlush: its message says the step
// after one "otelkinesis:", and it wraps the cause for errors.Is and errors.As.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// wrap returns err, nil if nil, as an error of step: "otelkinesis: STEP: CAUSE", where a
// cause that already starts with "otelkinesis: " loses it, so that the message says it
// once.
func wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{msg: "otelkinesis: " + step + ": " + strings.TrimPrefix(err.Error(), "otelkinesis: "), err: err}
}
