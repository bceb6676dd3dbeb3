package otelkinesis

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/otelkinesis/otelkinesis/internal/config"
)

// Signal is one of the three telemetry signals. It picks the signal-specific form of each
// variable: OTEL_EXPORTER_KINESIS_TRACES_<NAME> for SignalTraces.
type Signal string

// The signals.
const (
	// SignalTraces is the trace exporter's (trace.New): OTEL_EXPORTER_KINESIS_TRACES_*.
	SignalTraces Signal = "traces"
	// SignalMetrics is the metric exporter's (metric.New): OTEL_EXPORTER_KINESIS_METRICS_*.
	SignalMetrics Signal = "metrics"
	// SignalLogs is the log exporter's (log.New): OTEL_EXPORTER_KINESIS_LOGS_*.
	SignalLogs Signal = "logs"
)

// ProducerSettings are the stream, AWS and producer settings that the exporter of one
// signal would create its own producer with: the options, then the environment as that
// exporter reads it (the signal-specific form of each variable before the shared one),
// then the defaults. Code that creates exporters from the environment and shares one
// producer among those whose settings are equal (package autoexport) loads them with
// [LoadProducerSettings], compares them with [ProducerSettings.Equal] and creates the
// producer with [ProducerSettings.NewProducer], which it then gives to the exporters
// with [WithProducer]. The zero value holds no settings.
type ProducerSettings struct {
	cfg    config.Config
	loaded bool
}

// LoadProducerSettings resolves and checks the producer settings of signal's exporter
// from opts and the environment, as trace.New, metric.New or log.New does with the same
// options and environment, without calling Kinesis. It refuses what that exporter would
// refuse in the environment (its encoding, compression and partitioning variables
// included), with that exporter's error: "otelkinesis: traces exporter:
// OTEL_EXPORTER_KINESIS_TRACES_STREAM_NAME=...".
func LoadProducerSettings(signal Signal, opts ...Option) (ProducerSettings, error) {
	var sig config.Signal
	switch signal {
	case SignalTraces:
		sig = config.Traces
	case SignalMetrics:
		sig = config.Metrics
	case SignalLogs:
		sig = config.Logs
	default:
		return ProducerSettings{}, fmt.Errorf("otelkinesis: LoadProducerSettings: unknown signal %q; allowed %s, %s or %s",
			string(signal), SignalTraces, SignalMetrics, SignalLogs)
	}
	cfg, err := config.Load(sig, config.ProducerOptions(opts))
	if err != nil {
		return ProducerSettings{}, err
	}
	return ProducerSettings{cfg: cfg, loaded: true}, nil
}

// Equal reports whether s and o describe the same producer: the same stream (name and
// ARN), endpoint, region, role and external ID, producer settings (batching, backlog,
// flush interval, connections, retries, backoff, delivery budget, request timeout, rate
// limit, aggregation, startup check), and the same AWS configuration, Kinesis client and
// meter provider given in code (the same values, not equal copies), or none.
func (s ProducerSettings) Equal(o ProducerSettings) bool {
	a, b := s.cfg, o.cfg
	if s.loaded != o.loaded || a.Endpoint != b.Endpoint || a.Region != b.Region || a.RoleARN != b.RoleARN ||
		a.ExternalID != b.ExternalID || a.AWSConfig != b.AWSConfig || !same(a.Client, b.Client) ||
		!same(a.Producer.MeterProvider, b.Producer.MeterProvider) {
		return false
	}
	pa, pb := a.Producer, b.Producer
	pa.MeterProvider, pb.MeterProvider = nil, nil
	// Every other field of the producer's settings is a value, or the hooks, which no
	// option or variable sets (none in both).
	return reflect.DeepEqual(pa, pb)
}

// same reports whether a and b are the same value: both nil, or equal values of one
// comparable type.
func same(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Type() == vb.Type() && va.Comparable() && vb.Comparable() && va.Equal(vb)
}

// NewProducer creates the producer s describes, as [NewProducer] does: it checks the
// stream once and reads its shard map. Its errors are those of the exporter the settings
// were loaded for ("otelkinesis: traces exporter: stream ...: connection refused").
func (s ProducerSettings) NewProducer(ctx context.Context) (*Producer, error) {
	if !s.loaded {
		return nil, errors.New("otelkinesis: ProducerSettings.NewProducer: no settings (load them with LoadProducerSettings)")
	}
	p, err := s.cfg.NewProducer(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.Prefix(s.cfg.Signal), err)
	}
	return &Producer{p: p}, nil
}
