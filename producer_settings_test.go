package otelkinesis_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestProducerSettingsEqual: the settings of two signals are equal when their variables
// resolve to the same values, and differ when a signal-specific form of a stream, AWS or
// producer variable gives one of them another value, or when different meter providers
// are given in code.
func TestProducerSettingsEqual(t *testing.T) {
	clearKinesisEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "telemetry")
	t.Setenv("OTEL_EXPORTER_KINESIS_REGION", "eu-west-1")
	load := func(signal otelkinesis.Signal, opts ...otelkinesis.Option) otelkinesis.ProducerSettings {
		t.Helper()
		s, err := otelkinesis.LoadProducerSettings(signal, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	traces, metrics, logs := load(otelkinesis.SignalTraces), load(otelkinesis.SignalMetrics), load(otelkinesis.SignalLogs)
	if !traces.Equal(metrics) || !metrics.Equal(logs) || !traces.Equal(traces) {
		t.Error("the three signals' settings from the shared variables are not equal")
	}
	if (otelkinesis.ProducerSettings{}).Equal(traces) {
		t.Error("the zero settings equal loaded ones")
	}

	for _, v := range []string{"STREAM_NAME=other", "ENDPOINT=http://127.0.0.1:4567", "REGION=us-east-2",
		"ROLE_ARN=arn:aws:iam::123456789012:role/r", "FLUSH_INTERVAL=100", "MAX_RETRIES=3", "TIMEOUT=5s"} {
		name, value, _ := strings.Cut(v, "=")
		t.Run(name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_"+name, value)
			if load(otelkinesis.SignalTraces).Equal(load(otelkinesis.SignalMetrics)) {
				t.Errorf("OTEL_EXPORTER_KINESIS_TRACES_%s=%s leaves the traces settings equal to the metrics ones", name, value)
			}
			if !load(otelkinesis.SignalMetrics).Equal(load(otelkinesis.SignalLogs)) {
				t.Errorf("OTEL_EXPORTER_KINESIS_TRACES_%s=%s changes the metrics or logs settings", name, value)
			}
		})
	}
	// The exporters' own variables are not producer settings.
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_ENCODING", "otlp_json")
	if !load(otelkinesis.SignalTraces).Equal(load(otelkinesis.SignalMetrics)) {
		t.Error("an encoding variable of traces makes the producer settings differ")
	}

	// Meter providers given in code are compared by identity.
	mp1, mp2 := &meterProvider{id: 1}, &meterProvider{id: 2}
	if load(otelkinesis.SignalTraces, otelkinesis.WithMeterProvider(mp1)).Equal(load(otelkinesis.SignalTraces, otelkinesis.WithMeterProvider(mp2))) {
		t.Error("settings with two different meter providers are equal")
	}
	if !load(otelkinesis.SignalTraces, otelkinesis.WithMeterProvider(mp1)).Equal(load(otelkinesis.SignalLogs, otelkinesis.WithMeterProvider(mp1))) {
		t.Error("settings with the same meter provider are not equal")
	}
	if load(otelkinesis.SignalTraces, otelkinesis.WithMeterProvider(mp1)).Equal(traces) {
		t.Error("settings with a meter provider equal settings without")
	}
}

// meterProvider is a MeterProvider of its own identity (noop's is of zero size: two of
// them may share an address).
type meterProvider struct {
	noop.MeterProvider
	id int
}

// TestProducerSettingsErrors: a value refused names the signal's exporter and the
// signal-specific variable it came from, as the exporter's own constructor would.
func TestProducerSettingsErrors(t *testing.T) {
	clearKinesisEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "telemetry")
	t.Setenv("OTEL_EXPORTER_KINESIS_LOGS_STREAM_NAME", "bad name!")
	_, err := otelkinesis.LoadProducerSettings(otelkinesis.SignalLogs)
	want := `otelkinesis: logs exporter: OTEL_EXPORTER_KINESIS_LOGS_STREAM_NAME='bad name!': not a stream name`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one starting %q", err, want)
	}
	if _, err := otelkinesis.LoadProducerSettings(otelkinesis.SignalMetrics); err != nil {
		t.Errorf("the logs variable refused the metrics settings: %v", err)
	}
	if _, err := otelkinesis.LoadProducerSettings("spans"); err == nil ||
		err.Error() != `otelkinesis: LoadProducerSettings: unknown signal "spans"; allowed traces, metrics or logs` {
		t.Errorf("unknown signal: %v", err)
	}
	if _, err := (otelkinesis.ProducerSettings{}).NewProducer(context.Background()); err == nil {
		t.Error("the zero settings created a producer")
	}
}

// TestProducerSettingsNewProducer: the producer created from a signal's settings writes
// to the stream its signal-specific variable names, and an exporter given it with
// WithProducer exports through it; a failed startup check names the exporter.
func TestProducerSettingsNewProducer(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	stream, err := srv.CreateStream("spans-here", 2)
	if err != nil {
		t.Fatal(err)
	}
	clearKinesisEnv(t)
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "missing")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_STREAM_NAME", "spans-here")
	t.Setenv("OTEL_EXPORTER_KINESIS_ENDPOINT", srv.URL())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	ctx := context.Background()

	s, err := otelkinesis.LoadProducerSettings(otelkinesis.SignalTraces)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.NewProducer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := kinesistrace.New(ctx, otelkinesis.WithProducer(p))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, obsSpans(3)); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(stream.AllRecords()); n == 0 {
		t.Error("no record on the stream the traces variable names")
	}

	m, err := otelkinesis.LoadProducerSettings(otelkinesis.SignalMetrics)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.NewProducer(ctx)
	if want := `otelkinesis: metrics exporter: stream "missing"`; err == nil || !strings.HasPrefix(err.Error(), want) ||
		strings.Count(err.Error(), "otelkinesis:") != 1 {
		t.Errorf("error %v, want one starting %q", err, want)
	}
}
