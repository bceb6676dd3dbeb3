package otlpwire_test

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// Encode splits a collection into records under the resource's partition
// key; a metric too large for one record is split between its data points.
func ExampleMetricEncoder_Encode() {
	var points []metricdata.DataPoint[int64]
	for i := range 40 {
		points = append(points, metricdata.DataPoint[int64]{
			Attributes: attribute.NewSet(attribute.String("http.route", fmt.Sprintf("/api/v1/items/%d", i))),
			StartTime:  time.Unix(1_700_000_000, 0),
			Time:       time.Unix(1_700_000_060, 0),
			Value:      int64(i),
		})
	}
	rm := &metricdata.ResourceMetrics{
		Resource: resource.NewSchemaless(attribute.String("service.name", "checkout")),
		ScopeMetrics: []metricdata.ScopeMetrics{{
			Scope: instrumentation.Scope{Name: "example"},
			Metrics: []metricdata.Metrics{{
				Name: "http.server.requests",
				Data: metricdata.Sum[int64]{DataPoints: points, Temporality: metricdata.CumulativeTemporality, IsMonotonic: true},
			}},
		}},
	}

	enc, err := otlpwire.NewMetricEncoder(otlpwire.MetricConfig{MaxRecordSize: 1000})
	if err != nil {
		panic(err)
	}
	result, err := enc.Encode(rm, func(key string, data []byte) error {
		// data is reused for the next record: decode (or copy) it now.
		var req colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			return err
		}
		m := req.ResourceMetrics[0].ScopeMetrics[0].Metrics[0]
		fmt.Printf("%s: %d bytes, %s with %d data points\n", key, len(data), m.Name, len(m.GetSum().DataPoints))
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(result.Records, "records,", result.DataPoints, "data points,", len(result.Dropped), "dropped")
	// Output:
	// 4831d134ce24c50d: 951 bytes, http.server.requests with 14 data points
	// 4831d134ce24c50d: 961 bytes, http.server.requests with 14 data points
	// 4831d134ce24c50d: 835 bytes, http.server.requests with 12 data points
	// 3 records, 40 data points, 0 dropped
}
