package bench

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// BenchmarkPerByteWork measures the per-byte work every Kinesis exporter owes on the bytes
// ours sends for one 512-span batch (otlp_proto, no compression): the MD5 trailer of each
// KPL aggregate (over its protobuf), base64 of the records' data (the JSON protocol), and
// SHA-256 of the request body (SigV4's payload hash). The records are the ones ours really
// wrote, captured from kinesistest. Each reports cpu-ns/span (the process's CPU time: the
// work runs on one goroutine, so on a busy machine this is steadier than ns/span); their
// sum is the floor that BenchmarkSpanExport's cpu-ns/span is compared with in
// BENCHMARKS.md. work=base64 is encoding/base64, what any exporter would spend;
// work=json-body is the whole PutRecords body as ours writes it (its own base64 of the
// same records, and the JSON around them), what ours really spends on that step.
//
//	go test -run '^$' -bench PerByteWork -count=10 .
func BenchmarkPerByteWork(b *testing.B) {
	recs := capturedRecords(b, recordSpans(batchSize, 1))
	in := &kinesis.PutRecordsInput{StreamName: aws.String(benchStream)}
	for _, r := range recs {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: r.Data, PartitionKey: aws.String(r.PartitionKey),
			ExplicitHashKey: aws.String(r.ExplicitHashKey)})
	}
	body := putrecords.AppendBody(nil, in)
	dst := make([]byte, 0, len(body))
	run := func(name string, fn func()) {
		b.Run("work="+name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				fn()
			}
			n := float64(b.N * batchSize)
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/n, "cpu-ns/span")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
			b.ReportMetric(0, "ns/op")
		})
	}
	run("md5", func() {
		for _, r := range recs {
			_ = md5.Sum(r.Data[4 : len(r.Data)-md5.Size]) // magic, protobuf, digest
		}
	})
	run("base64", func() {
		for _, r := range recs {
			dst = base64.StdEncoding.AppendEncode(dst[:0], r.Data)
		}
	})
	run("json-body", func() { dst = putrecords.AppendBody(dst[:0], in) })
	run("sha256", func() { _ = sha256.Sum256(body) })
}

// capturedRecords exports spans once through ours to an in-process kinesistest and
// returns the Kinesis records that arrived.
func capturedRecords(tb testing.TB, spans []sdktrace.ReadOnlySpan) []kinesistest.Record {
	srv := kinesistest.NewServer()
	defer srv.Close()
	st, err := srv.CreateStream(benchStream, 4)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchStream), otelkinesis.WithEndpoint(srv.URL()),
		otelkinesis.WithAWSConfig(testpeers.Config(srv.URL())))
	if err != nil {
		tb.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		tb.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
	return st.AllRecords()
}
