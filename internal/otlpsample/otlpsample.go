// Package otlpsample builds small, deterministic OTLP requests of every signal for tests
// of the reading side, and writes them as otelkinesis and the Collector's Kinesis exporter
// write user records: protobuf or OTLP/JSON, optionally compressed, tagged or not.
package otlpsample

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/recordtag"
)

// Epoch is the fixed time every sample starts at.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// MarkerKey is the resource attribute holding a sample's number, so that a test can
// tell every request apart after a round trip.
const MarkerKey = "sample.id"

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func intKV(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func res(service string, id int) *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", service), intKV(MarkerKey, int64(id))}}
}

func ns(ms int) uint64 { return uint64(Epoch.Add(time.Duration(ms) * time.Millisecond).UnixNano()) }

// TraceID returns sample id's trace ID.
func TraceID(id int) []byte {
	return []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0, 0, byte(id >> 8), byte(id)}
}

func spanID(id, n int) []byte { return []byte{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, byte(id), byte(n)} }

// Traces returns sample id: one trace of three spans (a server span with a child that has
// a failing child of its own) of service "checkout".
func Traces(id int) *coltracepb.ExportTraceServiceRequest {
	t0 := id * 100
	tid := TraceID(id)
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: res("checkout", id),
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "example.com/checkout", Version: "1.0.0"},
			Spans: []*tracepb.Span{
				{TraceId: tid, SpanId: spanID(id, 1), Name: "POST /checkout", Kind: tracepb.Span_SPAN_KIND_SERVER,
					StartTimeUnixNano: ns(t0), EndTimeUnixNano: ns(t0 + 42),
					Attributes: []*commonpb.KeyValue{str("http.request.method", "POST"), intKV("http.response.status_code", 402)},
					Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "payment required"}},
				{TraceId: tid, SpanId: spanID(id, 2), ParentSpanId: spanID(id, 1), Name: "payment.charge",
					Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: ns(t0 + 5), EndTimeUnixNano: ns(t0 + 40)},
				{TraceId: tid, SpanId: spanID(id, 3), ParentSpanId: spanID(id, 2), Name: "POST payments.example.com/charges",
					Kind: tracepb.Span_SPAN_KIND_CLIENT, StartTimeUnixNano: ns(t0 + 6), EndTimeUnixNano: ns(t0 + 38),
					Events: []*tracepb.Span_Event{{Name: "retry", TimeUnixNano: ns(t0 + 20)}},
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "card declined"}},
			},
		}},
	}}}
}

// Metrics returns sample id: a monotonic cumulative sum, a gauge and a histogram of
// service "checkout".
func Metrics(id int) *colmetricpb.ExportMetricsServiceRequest {
	t0 := id * 100
	attrs := []*commonpb.KeyValue{str("http.route", "/checkout")}
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: res("checkout", id),
		ScopeMetrics: []*metricspb.ScopeMetrics{{
			Scope: &commonpb.InstrumentationScope{Name: "example.com/checkout"},
			Metrics: []*metricspb.Metric{
				{Name: "orders", Unit: "{order}", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true,
					DataPoints: []*metricspb.NumberDataPoint{{Attributes: attrs, StartTimeUnixNano: ns(0), TimeUnixNano: ns(t0),
						Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(id + 1)}}}}}},
				{Name: "queue.depth", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{
					DataPoints: []*metricspb.NumberDataPoint{{TimeUnixNano: ns(t0), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: 2.5}}}}}},
				{Name: "http.server.request.duration", Unit: "s", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA,
					DataPoints: []*metricspb.HistogramDataPoint{{Attributes: attrs, StartTimeUnixNano: ns(t0 - 50), TimeUnixNano: ns(t0),
						Count: 3, Sum: proto.Float64(0.75), BucketCounts: []uint64{1, 2, 0}, ExplicitBounds: []float64{0.1, 0.5}}}}}},
			},
		}},
	}}}
}

// Logs returns sample id: an INFO and an ERROR log record of service "checkout", the
// second in sample id's trace.
func Logs(id int) *collogspb.ExportLogsServiceRequest {
	t0 := id * 100
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: res("checkout", id),
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "example.com/checkout"},
			LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: ns(t0 + 1), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, SeverityText: "INFO",
					Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("order %d received", id)}}},
				{TimeUnixNano: ns(t0 + 39), SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
					Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "card declined"}},
					Attributes: []*commonpb.KeyValue{intKV("attempt", 2)}, TraceId: TraceID(id), SpanId: spanID(id, 3)},
			},
		}},
	}}}
}

// Request returns sample id of signal s.
func Request(s consumer.Signal, id int) proto.Message {
	switch s {
	case consumer.Traces:
		return Traces(id)
	case consumer.Metrics:
		return Metrics(id)
	case consumer.Logs:
		return Logs(id)
	}
	panic("otlpsample: unknown signal " + string(s))
}

// Telemetry returns sample id of signal s as the consumer package decodes it.
func Telemetry(f consumer.Format, id int) consumer.Telemetry {
	t := consumer.Telemetry{Format: f}
	switch f.Signal {
	case consumer.Traces:
		t.Traces = Traces(id)
	case consumer.Metrics:
		t.Metrics = Metrics(id)
	case consumer.Logs:
		t.Logs = Logs(id)
	}
	return t
}

// Encode writes m in format f: protobuf or OTLP/JSON, then compressed.
func Encode(f consumer.Format, m proto.Message) ([]byte, error) {
	t := consumer.Telemetry{Format: f}
	switch x := m.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		t.Traces = x
	case *colmetricpb.ExportMetricsServiceRequest:
		t.Metrics = x
	case *collogspb.ExportLogsServiceRequest:
		t.Logs = x
	}
	var raw []byte
	var err error
	if f.ContentType == consumer.ContentTypeJSON {
		raw, err = t.MarshalJSON()
	} else {
		raw, err = proto.Marshal(m)
	}
	if err != nil {
		return nil, err
	}
	return Compress(f.ContentEncoding, raw)
}

// Compress compresses raw with encoding: "", gzip, zstd, zlib or flate.
func Compress(encoding string, raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch encoding {
	case "":
		return raw, nil
	case consumer.EncodingGzip:
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case consumer.EncodingZlib:
		w, _ := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case consumer.EncodingFlate:
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
	case consumer.EncodingZstd:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer enc.Close()
		return enc.EncodeAll(raw, nil), nil
	default:
		return nil, fmt.Errorf("otlpsample: unknown encoding %q", encoding)
	}
	return buf.Bytes(), nil
}

// Tags returns the otelkinesis tags of format f.
func Tags(f consumer.Format) []aggregation.Tag {
	return recordtag.Description{Signal: string(f.Signal), ContentType: f.ContentType, ContentEncoding: f.ContentEncoding}.Tags()
}

// Formats returns every format otelkinesis writes: three signals, two content types,
// three compressions.
func Formats() []consumer.Format {
	var out []consumer.Format
	for _, s := range []consumer.Signal{consumer.Traces, consumer.Metrics, consumer.Logs} {
		for _, ct := range []string{consumer.ContentTypeProtobuf, consumer.ContentTypeJSON} {
			for _, enc := range []string{"", consumer.EncodingGzip, consumer.EncodingZstd} {
				out = append(out, consumer.Format{Signal: s, ContentType: ct, ContentEncoding: enc})
			}
		}
	}
	return out
}

// PartitionKey returns a partition key for sample id, as the trace exporter keys by
// trace ID.
func PartitionKey(id int) string { return fmt.Sprintf("%x", TraceID(id)) }
