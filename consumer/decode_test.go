package consumer_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

func newReader(t testing.TB, dopts []consumer.DecodeOption, opts ...consumer.Option) *consumer.Reader {
	t.Helper()
	dec, err := consumer.NewDecoder(dopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	r, err := consumer.NewReader(dec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func kinesisRecord(seq, pk string, data []byte) types.Record {
	return types.Record{SequenceNumber: aws.String(seq), PartitionKey: aws.String(pk), Data: data,
		ApproximateArrivalTimestamp: aws.Time(otlpsample.Epoch)}
}

func formatName(f consumer.Format) string {
	enc := f.ContentEncoding
	if enc == "" {
		enc = "none"
	}
	ct := "proto"
	if f.ContentType == consumer.ContentTypeJSON {
		ct = "json"
	}
	return fmt.Sprintf("%s/%s/%s", f.Signal, ct, enc)
}

// checkRecord asserts that r holds sample id of format f, decoded and as payload.
func checkRecord(t *testing.T, r consumer.Record, f consumer.Format, id int) {
	t.Helper()
	if r.Telemetry.Format != f {
		t.Errorf("record %d: format %+v, want %+v", id, r.Telemetry.Format, f)
	}
	want := otlpsample.Request(f.Signal, id)
	if got := r.Telemetry.Message(); !proto.Equal(got, want) {
		t.Errorf("record %d: decoded\n%v\nwant\n%v", id, got, want)
	}
	raw, err := otlpsample.Encode(consumer.Format{Signal: f.Signal, ContentType: f.ContentType}, want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Payload, raw) {
		t.Errorf("record %d: payload differs from what was written before compression", id)
	}
}

// Every format otelkinesis writes, aggregated and tagged, decodes to what was written.
func TestReadEveryFormat(t *testing.T) {
	r := newReader(t, nil)
	for _, f := range otlpsample.Formats() {
		t.Run(formatName(f), func(t *testing.T) {
			var a aggregation.Aggregator
			for id := 1; id <= 3; id++ {
				data, err := otlpsample.Encode(f, otlpsample.Request(f.Signal, id))
				if err != nil {
					t.Fatal(err)
				}
				a.Add(otlpsample.PartitionKey(id), "", data, otlpsample.Tags(f))
			}
			b := r.ReadRecords("shardId-000000000003", []types.Record{kinesisRecord("4951", "outer", a.AppendTo(nil))})
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			if len(b.Records) != 3 {
				t.Fatalf("%d records, want 3", len(b.Records))
			}
			for i, rec := range b.Records {
				checkRecord(t, rec, f, i+1)
				if rec.Shard != "shardId-000000000003" || rec.SequenceNumber != "4951" || rec.SubSequenceNumber != uint64(i) ||
					rec.Index != 0 || !rec.Aggregated || rec.PartitionKey != otlpsample.PartitionKey(i+1) || !rec.ArrivalTime.Equal(otlpsample.Epoch) {
					t.Errorf("record %d: position %+v", i, rec)
				}
			}
		})
	}
}

// collectorFormats are the formats the Collector's Kinesis exporter writes: one request
// per plain Kinesis record, no tags, compression none, gzip, zlib or flate.
func collectorFormats() []consumer.Format {
	var out []consumer.Format
	for _, s := range []consumer.Signal{consumer.Traces, consumer.Metrics, consumer.Logs} {
		for _, ct := range []string{consumer.ContentTypeProtobuf, consumer.ContentTypeJSON} {
			for _, enc := range []string{"", consumer.EncodingGzip, consumer.EncodingZlib, consumer.EncodingFlate} {
				out = append(out, consumer.Format{Signal: s, ContentType: ct, ContentEncoding: enc})
			}
		}
	}
	return out
}

// Records without tags, as the Collector's Kinesis exporter writes them, decode when the
// format is stated, and fail with ErrNoFormat, naming each record, when it is not.
func TestReadCollectorFormat(t *testing.T) {
	untold := newReader(t, nil)
	for _, f := range collectorFormats() {
		t.Run(formatName(f), func(t *testing.T) {
			var recs []types.Record
			for id := 1; id <= 3; id++ {
				data, err := otlpsample.Encode(f, otlpsample.Request(f.Signal, id))
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, kinesisRecord(fmt.Sprint(100+id), fmt.Sprintf("key-%d", id), data))
			}
			r := newReader(t, []consumer.DecodeOption{consumer.WithFormat(f)})
			b := r.ReadRecords("shardId-000000000000", recs)
			if err := b.Err(); err != nil {
				t.Fatal(err)
			}
			for i, rec := range b.Records {
				checkRecord(t, rec, f, i+1)
				if rec.Aggregated || rec.Index != i || rec.SequenceNumber != fmt.Sprint(101+i) {
					t.Errorf("record %d: position %+v", i, rec)
				}
			}

			b = untold.ReadRecords("shardId-000000000000", recs)
			if len(b.Records) != 0 || len(b.Errors) != 3 {
				t.Fatalf("without a format: %d records, %d errors; want 0, 3", len(b.Records), len(b.Errors))
			}
			for i, e := range b.Errors {
				if !errors.Is(e, consumer.ErrNoFormat) || e.Index != i {
					t.Errorf("error %d: %v (index %d), want ErrNoFormat", i, e, e.Index)
				}
				want := fmt.Sprintf("shard shardId-000000000000, sequence number %d, sub-sequence 0, partition key \"key-%d\"", 101+i, i+1)
				if !strings.Contains(e.Error(), want) {
					t.Errorf("error %q does not name the record (%s)", e, want)
				}
			}
		})
	}
}

// An OTLP/JSON body spelled as the Collector's pdata writes it (hex IDs, enums as numbers,
// 64-bit integers as strings), written by hand rather than by this module.
const collectorJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},` +
	`"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",` +
	`"parentSpanId":"eee19b7ec3c1b173","name":"GET /cart","kind":2,"startTimeUnixNano":"1544712660000000000",` +
	`"endTimeUnixNano":"1544712661000000000","attributes":[{"key":"n","value":{"intValue":"7"}}],"status":{"code":2}}]}]}]}`

func TestReadCollectorJSON(t *testing.T) {
	f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeJSON}
	r := newReader(t, []consumer.DecodeOption{consumer.WithFormat(f)})
	b := r.ReadRecords("shardId-000000000000", []types.Record{kinesisRecord("1", "k", []byte(collectorJSON))})
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "cart"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "lib"}, Spans: []*tracepb.Span{{
			TraceId:      []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
			SpanId:       []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
			ParentSpanId: []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73},
			Name:         "GET /cart", Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: 1544712660000000000, EndTimeUnixNano: 1544712661000000000,
			Attributes: []*commonpb.KeyValue{{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}},
			Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR},
		}}}},
	}}}
	if got := b.Records[0].Telemetry.Traces; !proto.Equal(got, want) {
		t.Fatalf("decoded\n%v\nwant\n%v", got, want)
	}
	// And MarshalJSON writes it back in the same mapping.
	out, err := b.Records[0].Telemetry.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"traceId":"5b8efff798038103d269b633813fc60c"`, `"kind":2`, `"startTimeUnixNano":"1544712660000000000"`, `"intValue":"7"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("MarshalJSON: %s lacks %s", out, want)
		}
	}
}

// A batch holding bad records of every kind: each bad one becomes an error naming it, and
// every good user record still comes out, in order.
func TestReadBadRecordsDoNotStopTheBatch(t *testing.T) {
	f := consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingGzip}
	good := func(id int) []byte {
		data, err := otlpsample.Encode(f, otlpsample.Logs(id))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	agg := func(datas ...[]byte) []byte {
		var a aggregation.Aggregator
		for i, d := range datas {
			a.Add(fmt.Sprintf("pk-%d", i), "", d, otlpsample.Tags(f))
		}
		return a.AppendTo(nil)
	}
	corrupt := agg(good(2))
	corrupt[len(corrupt)-1] ^= 0xff // the MD5 trailer
	var badTags aggregation.Aggregator
	badTags.Add("tagged", "", good(3), []aggregation.Tag{{Key: "otel.signal", Value: "profiles"}})

	recs := []types.Record{
		kinesisRecord("10", "a", agg(good(1))),
		kinesisRecord("11", "b", corrupt),
		kinesisRecord("12", "c", agg(good(4), []byte("not gzip"), good(5))),
		kinesisRecord("13", "d", badTags.AppendTo(nil)),
		kinesisRecord("14", "e", agg(good(6))),
	}
	b := newReader(t, nil).ReadRecords("shardId-000000000001", recs)
	var ids []int
	for _, r := range b.Records {
		ids = append(ids, int(r.Telemetry.Logs.ResourceLogs[0].Resource.Attributes[1].Value.GetIntValue()))
	}
	if fmt.Sprint(ids) != "[1 4 5 6]" {
		t.Errorf("decoded samples %v, want [1 4 5 6]", ids)
	}
	want := []struct {
		index int
		sub   int64
		is    error
		text  string
	}{
		{1, -1, consumer.ErrChecksum, `shard shardId-000000000001, sequence number 11 (whole record), partition key "b": `},
		{2, 1, nil, `shard shardId-000000000001, sequence number 12, sub-sequence 1, partition key "pk-1": gzip: `},
		{3, 0, nil, `shard shardId-000000000001, sequence number 13, sub-sequence 0, partition key "tagged": `},
	}
	if len(b.Errors) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(b.Errors), len(want), b.Err())
	}
	for i, w := range want {
		e := b.Errors[i]
		if e.Index != w.index || e.SubSequenceNumber != w.sub || (w.is != nil && !errors.Is(e, w.is)) || !strings.Contains(e.Error(), w.text) {
			t.Errorf("error %d: %v (index %d, sub %d); want index %d, sub %d, %v, text %q", i, e, e.Index, e.SubSequenceNumber, w.index, w.sub, w.is, w.text)
		}
		if !b.Failed(w.index) {
			t.Errorf("Failed(%d) = false", w.index)
		}
	}
	if b.Failed(0) || b.Failed(4) {
		t.Error("Failed reports a good record")
	}
	var fe *consumer.FormatError
	if !errors.As(b.Errors[0], &fe) {
		t.Errorf("errors.As(*FormatError) fails on %v", b.Errors[0])
	}
}

// The KCL's shard-range rule: records outside the shard are reported, and still delivered.
func TestReadShardRange(t *testing.T) {
	f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf}
	data, _ := otlpsample.Encode(f, otlpsample.Traces(1))
	var a aggregation.Aggregator
	a.Add("k", "5", data, otlpsample.Tags(f)) // hash key 5: inside [0, 9]
	a.Add("k", "99", data, otlpsample.Tags(f))
	r := newReader(t, nil, consumer.WithShardHashKeyRange("0", "9"))
	b := r.ReadRecords("shardId-000000000000", []types.Record{kinesisRecord("1", "k", a.AppendTo(nil))})
	var sre *consumer.ShardRangeError
	if len(b.Errors) != 1 || !errors.As(b.Errors[0], &sre) || len(sre.Outside) != 1 || len(b.Records) != 2 {
		t.Fatalf("errors %v, %d records; want one ShardRangeError and both records", b.Err(), len(b.Records))
	}
}

func TestReadLambdaEvent(t *testing.T) {
	f := consumer.Format{Signal: consumer.Metrics, ContentType: consumer.ContentTypeJSON, ContentEncoding: consumer.EncodingZstd}
	data, _ := otlpsample.Encode(f, otlpsample.Metrics(7))
	var a aggregation.Aggregator
	a.Add("m", "", data, otlpsample.Tags(f))
	ev := []events.KinesisEventRecord{
		{EventID: "shardId-000000000002:4959", Kinesis: events.KinesisRecord{SequenceNumber: "4959", PartitionKey: "m", Data: a.AppendTo(nil),
			ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: otlpsample.Epoch}}},
		{EventID: "shardId-000000000002:4960", Kinesis: events.KinesisRecord{SequenceNumber: "4960", PartitionKey: "x", Data: []byte{0xF3, 0x89, 0x9A, 0xC2, 1}}},
	}
	b := newReader(t, nil).ReadLambdaEvent(ev)
	if len(b.Records) != 1 || len(b.Errors) != 1 {
		t.Fatalf("%d records, %d errors; want 1, 1", len(b.Records), len(b.Errors))
	}
	checkRecord(t, b.Records[0], f, 7)
	if r := b.Records[0]; r.Shard != "shardId-000000000002" || r.SequenceNumber != "4959" || !r.ArrivalTime.Equal(otlpsample.Epoch) {
		t.Errorf("record %+v", r)
	}
	if e := b.Errors[0]; e.Shard != "shardId-000000000002" || e.SequenceNumber != "4960" || e.Index != 1 || !errors.Is(e, consumer.ErrTruncated) {
		t.Errorf("error %v (%+v)", e, e)
	}
}

func TestReadData(t *testing.T) {
	f := consumer.Format{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: consumer.EncodingZlib}
	data, _ := otlpsample.Encode(f, otlpsample.Traces(3))
	r := newReader(t, []consumer.DecodeOption{consumer.WithFormat(f)})
	var b consumer.Batch
	r.ReadData(&b, 0, "", "", "k", data)
	r.ReadData(&b, 1, "", "", "k", []byte("junk"))
	if len(b.Records) != 1 || len(b.Errors) != 1 {
		t.Fatalf("%d records, %d errors", len(b.Records), len(b.Errors))
	}
	checkRecord(t, b.Records[0], f, 3)
	if got := b.Errors[0].Error(); !strings.Contains(got, "record 1 of the batch, sub-sequence 0") {
		t.Errorf("error %q does not name the record by its index", got)
	}
}

func TestWithFormatRefusesUnknown(t *testing.T) {
	for _, f := range []consumer.Format{
		{Signal: "profiles", ContentType: consumer.ContentTypeProtobuf},
		{Signal: consumer.Traces, ContentType: "text/plain"},
		{Signal: consumer.Traces, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: "br"},
	} {
		if _, err := consumer.NewDecoder(consumer.WithFormat(f)); err == nil {
			t.Errorf("WithFormat(%+v) accepted", f)
		}
	}
	if _, err := consumer.NewDecoder(consumer.WithFormat(consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeJSON, ContentEncoding: "none"})); err != nil {
		t.Errorf("content encoding \"none\": %v", err)
	}
}

// A compressed record that would grow past WithMaxDecodedSize fails with ErrTooLarge.
func TestMaxDecodedSize(t *testing.T) {
	for _, enc := range []string{consumer.EncodingGzip, consumer.EncodingZlib, consumer.EncodingFlate, consumer.EncodingZstd} {
		f := consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeProtobuf, ContentEncoding: enc}
		bomb, err := otlpsample.Compress(enc, make([]byte, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		r := newReader(t, []consumer.DecodeOption{consumer.WithFormat(f), consumer.WithMaxDecodedSize(64 << 10)})
		b := r.ReadRecords("s", []types.Record{kinesisRecord("1", "k", bomb)})
		if len(b.Errors) != 1 {
			t.Fatalf("%s: %d errors, want 1", enc, len(b.Errors))
		}
		if enc != consumer.EncodingZstd && !errors.Is(b.Errors[0], consumer.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", enc, b.Errors[0])
		}
	}
}

func TestTelemetryMarshal(t *testing.T) {
	tel := otlpsample.Telemetry(consumer.Format{Signal: consumer.Logs, ContentType: consumer.ContentTypeProtobuf}, 5)
	js, err := tel.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"traceId":"4bf92f3577b34da6a3ce929d00000005"`)) || !bytes.Contains(js, []byte(`"severityNumber":17`)) || bytes.ContainsRune(js, '\n') {
		t.Errorf("MarshalJSON: %s", js)
	}
	pb, err := tel.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(otlpsample.Logs(5))
	if !bytes.Equal(pb, want) {
		t.Error("MarshalProto differs from proto.Marshal")
	}
	if _, err := (consumer.Telemetry{}).MarshalJSON(); err == nil {
		t.Error("empty Telemetry marshalled")
	}
}
