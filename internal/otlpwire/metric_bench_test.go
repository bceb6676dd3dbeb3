package otlpwire

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"

	"github.com/otelkinesis/otelkinesis/internal/cputime"
)

// perItem runs fn b.N times over a batch of n items (data points, log
// records) and reports, per item: ns (wall time), cpu-ns (process CPU time,
// garbage collection and, for the loopback exporters, the in-process
// receiver included), allocs and B (encoded bytes, as fn returns them).
func perItem(b *testing.B, n int, unit string, fn func() int) {
	b.Helper()
	size := fn() // warm up scratch buffers and connections
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		fn()
	}
	b.StopTimer()
	cpu = cputime.Process() - cpu
	runtime.ReadMemStats(&after)
	items := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/"+unit)
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/items, "cpu-ns/"+unit)
	}
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/items, "allocs/"+unit)
	b.ReportMetric(float64(size)/float64(n), "B/"+unit)
}

// discardTransport answers every request with 200 and no body, without a
// network: what is left of an OTLP/HTTP exporter's cost is its transform,
// marshalling and request building.
type discardTransport struct{ sent int }

func (t *discardTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n, _ := io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	t.sent = int(n)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// BenchmarkMetrics compares, per data point of a typical collection (100
// data points), otlpmetrichttp exporting to a loopback receiver and to a
// transport that sends nothing with the direct encoder: one whole request,
// and records keyed by resource, in protobuf and JSON.
func BenchmarkMetrics(b *testing.B) {
	rm, n := benchMetrics(b)
	ctx := context.Background()
	b.Run("otlpmetrichttp/loopback", func(b *testing.B) {
		exp := newOracleMetricExporter(b, newOTLPSink(b, true))
		perItem(b, n, "dp", func() int {
			if err := exp.Export(ctx, rm); err != nil {
				b.Fatal(err)
			}
			return 0
		})
	})
	b.Run("otlpmetrichttp/no-network", func(b *testing.B) {
		tr := &discardTransport{}
		exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL("http://127.0.0.1:1/v1/metrics"),
			otlpmetrichttp.WithHTTPClient(&http.Client{Transport: tr}), otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{}))
		if err != nil {
			b.Fatal(err)
		}
		perItem(b, n, "dp", func() int {
			if err := exp.Export(ctx, rm); err != nil {
				b.Fatal(err)
			}
			return tr.sent
		})
	})
	b.Run("otlpwire/request", func(b *testing.B) {
		e := mtNewEncoder(b, MetricConfig{})
		var buf []byte
		perItem(b, n, "dp", func() int {
			buf, _ = e.AppendRequest(buf[:0], rm)
			return len(buf)
		})
	})
	for _, enc := range []Encoding{Protobuf, JSON} {
		b.Run("otlpwire/records/"+string(enc), func(b *testing.B) {
			e := mtNewEncoder(b, MetricConfig{Encoding: enc})
			size := 0
			emit := func(_ string, data []byte) error {
				size += len(data)
				return nil
			}
			perItem(b, n, "dp", func() int {
				size = 0
				if _, err := e.Encode(rm, emit); err != nil {
					b.Fatal(err)
				}
				return size
			})
		})
	}
}
