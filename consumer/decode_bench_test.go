package consumer_test

import (
	"fmt"
	"strings"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

func benchAttrs(n, i int) []*commonpb.KeyValue {
	attrs := make([]*commonpb.KeyValue, n)
	for k := range attrs {
		attrs[k] = &commonpb.KeyValue{Key: fmt.Sprintf("attribute.key.%d", k),
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("value-%d-%d", k, i)}}}
	}
	return attrs
}

var benchResource = &resourcepb.Resource{Attributes: benchAttrs(4, 0)}

// benchMetrics returns 30 metrics as an SDK exports them: sums of ints, gauges of
// doubles and histograms of 10 buckets, two points each with 3 attributes.
func benchMetrics() *colmetricpb.ExportMetricsServiceRequest {
	var metrics []*metricspb.Metric
	for i := range 10 {
		var ints, doubles []*metricspb.NumberDataPoint
		var hists []*metricspb.HistogramDataPoint
		for p := range 2 {
			ints = append(ints, &metricspb.NumberDataPoint{Attributes: benchAttrs(3, p), StartTimeUnixNano: 1, TimeUnixNano: 2,
				Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(i * p)}})
			doubles = append(doubles, &metricspb.NumberDataPoint{Attributes: benchAttrs(3, p), TimeUnixNano: 2,
				Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(i) / 3}})
			sum := 12.5
			hists = append(hists, &metricspb.HistogramDataPoint{Attributes: benchAttrs(3, p), StartTimeUnixNano: 1, TimeUnixNano: 2,
				Count: 40, Sum: &sum, BucketCounts: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 3, 1, 0},
				ExplicitBounds: []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 1000}})
		}
		metrics = append(metrics,
			&metricspb.Metric{Name: fmt.Sprintf("requests.%d", i), Unit: "1", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
				DataPoints: ints, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true}}},
			&metricspb.Metric{Name: fmt.Sprintf("load.%d", i), Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: doubles}}},
			&metricspb.Metric{Name: fmt.Sprintf("latency.%d", i), Unit: "ms", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
				DataPoints: hists, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}})
	}
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{Resource: benchResource,
		ScopeMetrics: []*metricspb.ScopeMetrics{{Scope: &commonpb.InstrumentationScope{Name: "example.com/app"}, Metrics: metrics}}}}}
}

// benchLogs returns 20 log records of an 80-byte body and 5 attributes, in a trace.
func benchLogs() *collogspb.ExportLogsServiceRequest {
	var records []*logspb.LogRecord
	for i := range 20 {
		records = append(records, &logspb.LogRecord{TimeUnixNano: 1, ObservedTimeUnixNano: 2,
			SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
			Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: strings.Repeat("request handled ", 5)}},
			Attributes: benchAttrs(5, i), TraceId: make([]byte, 16), SpanId: make([]byte, 8)})
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{Resource: benchResource,
		ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{Name: "example.com/app"}, LogRecords: records}}}}}
}

// BenchmarkDecode measures Decoder.Decode of one OTLP protobuf request of each signal
// (the fast decoder, with a pooled arena per request) against proto.Unmarshal of the
// same bytes. MB/s is of OTLP protobuf.
func BenchmarkDecode(b *testing.B) {
	dec, err := consumer.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	for _, s := range []struct {
		signal consumer.Signal
		req    proto.Message
	}{{consumer.Traces, nil}, {consumer.Metrics, benchMetrics()}, {consumer.Logs, benchLogs()}} {
		var data []byte
		if s.req == nil {
			data = benchTrace(0)
		} else if data, err = proto.Marshal(s.req); err != nil {
			b.Fatal(err)
		}
		f := consumer.Format{Signal: s.signal, ContentType: consumer.ContentTypeProtobuf}
		ur := consumer.UserRecord{Data: data, Tags: aggregation.ConvertTags[consumer.Tag](otlpsample.Tags(f))}
		if got, err := dec.Format(ur); err != nil || got != f {
			b.Fatalf("tags give %+v, %v", got, err)
		}
		b.Run(fmt.Sprintf("%s/fast", s.signal), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dec.Decode(ur); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%s/proto.Unmarshal", s.signal), func(b *testing.B) {
			empty, _ := dec.Decode(ur)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				m := empty.Message().ProtoReflect().New().Interface()
				if err := proto.Unmarshal(data, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
