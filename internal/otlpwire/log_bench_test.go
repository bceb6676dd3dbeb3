package otlpwire

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
)

// BenchmarkLogs compares, per log record of a batch of 512 typical ones,
// otlploghttp exporting to a loopback receiver and to a transport that
// sends nothing with the direct encoder: one whole request, and records
// partitioned by trace ID (else resource), in protobuf and JSON.
func BenchmarkLogs(b *testing.B) {
	const n = 512
	recs := benchLogs(b, n)
	ctx := context.Background()
	official := func(b *testing.B, endpoint string, sent func() int, opts ...otlploghttp.Option) {
		opts = append(opts, otlploghttp.WithEndpointURL(endpoint), otlploghttp.WithRetry(otlploghttp.RetryConfig{}))
		exp, err := otlploghttp.New(ctx, opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = exp.Shutdown(ctx) }()
		perItem(b, n, "log", func() int {
			if err := exp.Export(ctx, recs); err != nil {
				b.Fatal(err)
			}
			return sent()
		})
	}
	b.Run("otlploghttp/loopback", func(b *testing.B) {
		official(b, newOTLPSink(b, true).srv.URL+"/v1/logs", func() int { return 0 })
	})
	b.Run("otlploghttp/no-network", func(b *testing.B) {
		tr := &discardTransport{}
		official(b, "http://127.0.0.1:1/v1/logs", func() int { return tr.sent }, otlploghttp.WithHTTPClient(&http.Client{Transport: tr}))
	})
	b.Run("otlpwire/request", func(b *testing.B) {
		e := lgNewEncoder(b, LogConfig{})
		var buf []byte
		perItem(b, n, "log", func() int {
			buf = e.AppendRequest(buf[:0], recs)
			return len(buf)
		})
	})
	for _, enc := range []Encoding{Protobuf, JSON} {
		b.Run("otlpwire/records/"+string(enc), func(b *testing.B) {
			e := lgNewEncoder(b, LogConfig{Encoding: enc})
			size := 0
			emit := func(_ string, data []byte) error {
				size += len(data)
				return nil
			}
			perItem(b, n, "log", func() int {
				size = 0
				if _, err := e.Encode(recs, emit); err != nil {
					b.Fatal(err)
				}
				return size
			})
		})
	}
}
