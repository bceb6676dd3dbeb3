package consumer_test

import (
	"crypto/md5"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/cputime"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

// benchTrace returns one trace of 8 realistic spans (10 attributes, 1 event, 1 link each,
// about 590 bytes of protobuf per span) as an OTLP protobuf request.
func benchTrace(n int) []byte {
	kv := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	tid := []byte(fmt.Sprintf("trace-%010d", n))
	var spans []*tracepb.Span
	for i := range 8 {
		sid := []byte(fmt.Sprintf("span%04d", i))
		attrs := []*commonpb.KeyValue{kv("http.request.method", "POST"), kv("url.path", "/api/v1/checkout"),
			kv("server.address", "checkout.internal.example.com"), kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
			kv("network.protocol.version", "1.1"), kv("client.address", "10.12.34.56"), kv("http.route", "/api/v1/checkout"),
			kv("deployment.environment", "production"), kv("tenant.id", "tenant-00042")}
		attrs = append(attrs, &commonpb.KeyValue{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}})
		spans = append(spans, &tracepb.Span{TraceId: tid, SpanId: sid, ParentSpanId: []byte("span0000"), Name: "POST /api/v1/checkout",
			Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_042_000_000,
			Attributes: attrs,
			Events:     []*tracepb.Span_Event{{Name: "cache.miss", TimeUnixNano: 1_700_000_000_010_000_000, Attributes: []*commonpb.KeyValue{kv("cache.key", "cart:12345")}}},
			Links:      []*tracepb.Span_Link{{TraceId: []byte("linked-trace-id!"), SpanId: []byte("linkspan")}},
			Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}})
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", "checkout"), kv("service.version", "1.4.2")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "example.com/checkout"}, Spans: spans}},
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// benchBatch returns a GetRecords-sized batch of aggregated records, each filled up to
// the producer's default aggregate size (51200 bytes), and its total data size.
func benchBatch() ([]types.Record, int) {
	f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf}
	tags := otlpsample.Tags(f)
	var recs []types.Record
	total, n := 0, 0
	for range 20 {
		var a aggregation.Aggregator
		for {
			data := benchTrace(n)
			pk := fmt.Sprintf("%032x", n)
			if a.Count() > 0 && a.SizeWith(pk, "", len(data), tags) > 51200 {
				break
			}
			a.Add(pk, "", data, tags)
			n++
		}
		rec := kinesisRecord(fmt.Sprint(len(recs)), a.PartitionKey(0), a.AppendTo(nil))
		total += len(rec.Data)
		recs = append(recs, rec)
	}
	return recs, total
}

// BenchmarkReadAggregated measures the reading side's throughput on aggregated OTLP
// protobuf traces: deaggregation (with and without the MD5 check), no decompression,
// unmarshalling into the OTLP types. MB/s is of Kinesis record data per second of wall
// time; cpu-MB/s per second of the process's CPU time (garbage collection included), the
// figure for one core that moves little with the load of other processes.
//
// The reader+release variants call Batch.Release after each batch, as a consumer that
// is done with each batch before the next can: the Reader then decodes into the same
// memory again, with next to no allocation and garbage collection. Two references run
// beside them: proto.Unmarshal of every user record (the standard decoder, which the
// Reader's fast path replaces), and MD5 alone over the same bytes, whose speed on a
// quiet core of this kind is known (about 0.9 GB/s): its cpu-MB/s in the
// same run shows how much the load of other processes slows every figure down.
func BenchmarkReadAggregated(b *testing.B) {
	recs, total := benchBatch()
	measure := func(b *testing.B, op func()) {
		b.SetBytes(int64(total))
		b.ReportAllocs()
		cpu := cputime.Process()
		for b.Loop() {
			op()
		}
		if cpu := cputime.Process() - cpu; cpu > 0 {
			// Bytes per CPU-second, all threads: the throughput of one core.
			b.ReportMetric(float64(total)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
		}
	}
	for _, bc := range []struct {
		name    string
		release bool
		opts    []consumer.Option
	}{
		{"reader/md5", false, nil},
		{"reader/nomd5", false, []consumer.Option{consumer.WithChecksum(false)}},
		{"reader+release/md5", true, nil},
		{"reader+release/nomd5", true, []consumer.Option{consumer.WithChecksum(false)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newReader(b, nil, bc.opts...)
			measure(b, func() {
				batch := r.ReadRecords("shardId-000000000000", recs)
				if len(batch.Errors) != 0 {
					b.Fatal(batch.Err())
				}
				if bc.release {
					batch.Release()
				}
			})
		})
	}
	b.Run("proto.Unmarshal/nomd5", func(b *testing.B) {
		d, _ := consumer.NewDeaggregator(consumer.WithChecksum(false))
		var users []consumer.UserRecord
		measure(b, func() {
			for _, kr := range recs {
				var err error
				if users, err = d.AppendRecord(users[:0], kr); err != nil {
					b.Fatal(err)
				}
				for _, u := range users {
					var m coltracepb.ExportTraceServiceRequest
					if err := proto.Unmarshal(u.Data, &m); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	})
	b.Run("md5-only", func(b *testing.B) {
		measure(b, func() {
			for _, kr := range recs {
				md5.Sum(kr.Data)
			}
		})
	})
}
