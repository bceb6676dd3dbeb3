// Command otlpreceiver runs the OpenTelemetry Collector's OTLP receiver (HTTP only, on a
// free loopback port) for the otelkinesis command's forward tests: an independent OTLP
// implementation to deliver into. It prints "listening http://ADDR", then one line per
// request it accepted: the signal and the request as OTLP protobuf, in base64, as the
// Collector's pdata marshals it. With -fail-first N it answers the first N requests with
// an error the receiver maps to 503 (retryable). It stops when its standard input closes.
//
// It is a module of its own so that the Collector never enters otelkinesis's go.mod.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
)

func main() {
	failFirst := flag.Int64("fail-first", 0, "answer the first N requests with a retryable error")
	flag.Parse()
	if err := run(*failFirst); err != nil {
		fmt.Fprintln(os.Stderr, "otlpreceiver:", err)
		os.Exit(1)
	}
}

func run(failFirst int64) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()

	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var seen atomic.Int64
	emit := func(signal string, b []byte, err error) error {
		if err != nil {
			return err
		}
		if seen.Add(1) <= failFirst {
			return fmt.Errorf("injected failure")
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s %s\n", signal, base64.StdEncoding.EncodeToString(b))
		return out.Flush()
	}
	var tm ptrace.ProtoMarshaler
	var mm pmetric.ProtoMarshaler
	var lm plog.ProtoMarshaler
	tc, _ := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		b, err := tm.MarshalTraces(td)
		return emit("traces", b, err)
	})
	mc, _ := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		b, err := mm.MarshalMetrics(md)
		return emit("metrics", b, err)
	})
	lc, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error { b, err := lm.MarshalLogs(ld); return emit("logs", b, err) })

	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	set := receiver.Settings{
		ID: component.NewID(f.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger: zap.NewNop(), TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider: metricnoop.NewMeterProvider(), Resource: pcommon.NewResource(),
		},
	}
	ctx := context.Background()
	tr, err := f.CreateTraces(ctx, set, cfg, tc)
	if err != nil {
		return err
	}
	if _, err := f.CreateMetrics(ctx, set, cfg, mc); err != nil {
		return err
	}
	if _, err := f.CreateLogs(ctx, set, cfg, lc); err != nil {
		return err
	}
	if err := tr.Start(ctx, host{}); err != nil {
		return err
	}
	mu.Lock()
	fmt.Fprintf(out, "listening http://%s\n", addr)
	out.Flush()
	mu.Unlock()
	io.Copy(io.Discard, os.Stdin)
	return tr.Shutdown(ctx)
}

// host is the smallest component.Host: no extensions.
type host struct{}

func (host) GetExtensions() map[component.ID]component.Component { return nil }
