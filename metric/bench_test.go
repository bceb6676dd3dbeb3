package metric_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
)

// realisticMetrics returns a collection of 50 metrics (sums, gauges and histograms) of 10
// data points each, every point with 5 attributes: 500 data points.
func realisticMetrics() *metricdata.ResourceMetrics {
	now := time.Unix(1_700_000_000, 0)
	start := now.Add(-time.Minute)
	attrs := func(i int) attribute.Set {
		return attribute.NewSet(attribute.String("http.route", fmt.Sprintf("/api/v1/items/%d", i)), attribute.String("http.method", "GET"),
			attribute.Int("http.status_code", 200), attribute.String("region", "eu-west-1"), attribute.Bool("cached", i%2 == 0))
	}
	var ms []metricdata.Metrics
	for m := 0; m < 50; m++ {
		switch m % 3 {
		case 0:
			pts := make([]metricdata.DataPoint[int64], 10)
			for i := range pts {
				pts[i] = metricdata.DataPoint[int64]{Attributes: attrs(i), StartTime: start, Time: now, Value: int64(m * i)}
			}
			ms = append(ms, metricdata.Metrics{Name: fmt.Sprintf("requests.%d", m), Unit: "{request}",
				Data: metricdata.Sum[int64]{DataPoints: pts, Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}})
		case 1:
			pts := make([]metricdata.DataPoint[float64], 10)
			for i := range pts {
				pts[i] = metricdata.DataPoint[float64]{Attributes: attrs(i), Time: now, Value: float64(m) / 3}
			}
			ms = append(ms, metricdata.Metrics{Name: fmt.Sprintf("temperature.%d", m), Unit: "Cel", Data: metricdata.Gauge[float64]{DataPoints: pts}})
		default:
			pts := make([]metricdata.HistogramDataPoint[float64], 10)
			for i := range pts {
				pts[i] = metricdata.HistogramDataPoint[float64]{Attributes: attrs(i), StartTime: start, Time: now, Count: 100,
					Bounds: []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 1000}, BucketCounts: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 45},
					Min: metricdata.NewExtrema(0.5), Max: metricdata.NewExtrema(1200.0), Sum: 4242}
			}
			ms = append(ms, metricdata.Metrics{Name: fmt.Sprintf("latency.%d", m), Unit: "ms",
				Data: metricdata.Histogram[float64]{DataPoints: pts, Temporality: metricdata.CumulativeTemporality}})
		}
	}
	return &metricdata.ResourceMetrics{
		Resource:     resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("host.name", "ip-10-0-0-1")),
		ScopeMetrics: []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: "example.com/checkout", Version: "1.0.0"}, Metrics: ms}},
	}
}

// BenchmarkExport compares, in one run, the CPU and allocations per data point of
// otelkinesis (to kinesistest, delivery included) and otlpmetrichttp (to an OTLP/HTTP
// sink), each endpoint in a child process.
//
// Each op is one collection exported and delivered, as a periodic reader does once per
// interval: one PutRecords request per export, as otlpmetrichttp sends one request. The
// collection is one resource's, and keyed by resource all of it would go to one shard,
// whose rate limit (even at 1000 %) would then pace the loop: an exporter exporting its
// resource's metrics once a minute never meets that limit, but one exporting them back
// to back does, and idling on the limiter costs CPU (wake-ups, scheduler spinning) that a
// deployment never pays. So the records are keyed at random here, which spreads the
// exports over the stream's shards and otherwise costs what keying by resource costs.
//
//	go test -run '^$' -bench Export -count=10 ./metric/ | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /exporter bench.txt
func BenchmarkExport(b *testing.B) {
	rm := realisticMetrics()
	const points = 500
	ctx := context.Background()
	b.Run("exporter=otelkinesis", func(b *testing.B) {
		url := benchendpoint.Start(b, benchendpoint.Kinesis)
		exp, err := kinesismetric.New(ctx, otelkinesis.WithStreamName(benchendpoint.Stream), otelkinesis.WithEndpointURL(url),
			otelkinesis.WithAWSConfig(testpeers.Config(url)), otelkinesis.WithRateLimit(1000),
			otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom))
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		benchendpoint.Loop(b, points, "point", func() error {
			if err := exp.Export(ctx, rm); err != nil {
				return err
			}
			return exp.ForceFlush(ctx) // delivery included
		})
	})
	b.Run("exporter=otlpmetrichttp", func(b *testing.B) {
		url := benchendpoint.Start(b, benchendpoint.OTLP)
		exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(url+"/v1/metrics"))
		if err != nil {
			b.Fatal(err)
		}
		defer exp.Shutdown(ctx)
		benchendpoint.Loop(b, points, "point", func() error { return exp.Export(ctx, rm) })
	})
}
