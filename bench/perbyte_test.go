package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/pprof/profile"
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
	exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchStream), otelkinesis.WithEndpointURL(srv.URL()),
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

// BenchmarkPerByteShare splits the CPU time of ours exporting spans end to end (as
// BenchmarkSpanExport's exporter=otelkinesis, compression none) into the per-byte work
// and everything else, from a CPU profile of the measured export itself. Every profile
// sample goes to the class of the innermost frame of its stack that has one
// (cpuClasses): the per-byte work is MD5 (the aggregates' trailers), base64 (the records'
// data in the PutRecords body) and SHA-256 (SigV4: payload hash and signature); the rest
// is split by who spent it. Each class's share of the samples, times the run's
// cpu-ns/span, is reported as perbyte-<class>-ns/span or other-<class>-ns/span, with
// their sums perbyte-ns/span and other-ns/span, and other-per-perbyte, their ratio: both
// sides measured in the same run on the same bytes, which BenchmarkPerByteWork's
// hot-cache figures, taken in a separate run, are not. The profile is sampled (100 Hz),
// so each run's split carries a few points of sampling error: run enough batches
// (-benchtime) and compare medians.
//
//	go test -run '^$' -bench PerByteShare -benchtime=6000x -count=10 . | tee results/pershare.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '.unit:other-per-perbyte' results/pershare.txt
func BenchmarkPerByteShare(b *testing.B) {
	spans := recordSpans(batchSize, 1)
	for _, enc := range []otelkinesis.Encoding{otelkinesis.EncodingProto, otelkinesis.EncodingJSON} {
		b.Run("exporter=otelkinesis/encoding="+string(enc)+"/compression=none", func(b *testing.B) {
			ctx := context.Background()
			ep := startEndpoint(b, "kinesis")
			exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchStream),
				otelkinesis.WithEndpointURL(ep.URL), otelkinesis.WithAWSConfig(testpeers.Config(ep.URL)),
				otelkinesis.WithRateLimit(1000), otelkinesis.WithEncoding(enc))
			if err != nil {
				b.Fatal(err)
			}
			defer exp.Shutdown(ctx)
			var prof bytes.Buffer
			export := func() error { return exp.ExportSpans(ctx, spans) }
			flush := func() error { return exp.ForceFlush(ctx) }
			m := measureExport(b, ep, &prof, export, flush)
			share, err := cpuShares(&prof)
			if errors.Is(err, errNoSamples) && b.N < 100 {
				return // the benchmark's first, sizing run: too short to sample, not reported
			}
			if err != nil {
				b.Fatal(err)
			}
			var perByte, other float64
			for i, c := range cpuClasses {
				ns := share[i] * m.cpuPerSpan
				if c.perByte {
					b.ReportMetric(ns, "perbyte-"+c.name+"-ns/span")
					perByte += ns
				} else {
					b.ReportMetric(ns, "other-"+c.name+"-ns/span")
					other += ns
				}
			}
			b.ReportMetric(perByte, "perbyte-ns/span")
			b.ReportMetric(other, "other-ns/span")
			b.ReportMetric(other/perByte, "other-per-perbyte")
		})
	}
}

// cpuClass is one class of CPU profile samples: a sample is in the class of the
// innermost frame of its stack whose function name match accepts.
type cpuClass struct {
	name    string
	perByte bool // the per-byte work the target is measured against
	match   func(fn string) bool
}

// cpuClasses are the classes BenchmarkPerByteShare reports, the per-byte work first; a
// sample none of them matches is in the last, "rest". Innermost first means MD5 called
// from the producer counts as MD5, and an allocation (or a GC assist) as the package
// that allocated.
var cpuClasses = []cpuClass{
	// The aggregates' MD5 trailers (and the shard map's MD5 of each partition key, a
	// few bytes per record).
	{"md5", true, prefix("crypto/md5.")},
	// putrecords' base64 of the records' data in the PutRecords body.
	{"base64", true, func(fn string) bool {
		return strings.Contains(fn, "/internal/putrecords.encodeBase64") ||
			strings.Contains(fn, "/internal/putrecords.putBase64Group")
	}},
	// SigV4: SHA-256 of the body, then the HMAC chain of the signature.
	{"sha256", true, prefix("crypto/sha256.", "crypto/internal/fips140/sha256.", "crypto/hmac.",
		"crypto/internal/fips140/hmac.")},
	// The OTLP encoder, from the SDK's spans to user records.
	{"encode", false, contains("/internal/otlpwire.")},
	// The producer: aggregation, its copies and buffers, batching, accounting.
	{"producer", false, contains("/internal/kpl.")},
	// The rest of the PutRecords body (JSON around the base64) and the response parser.
	{"body", false, contains("/internal/putrecords.")},
	// The exporter around them: grouping, options, the trace exporter itself.
	{"exporter", false, prefix("github.com/otelkinesis/otelkinesis")},
	// The AWS SDK's middleware stack, signer (less its hashing) and endpoint resolution.
	{"sdk", false, prefix("github.com/aws/")},
	// net/http, the socket and its system calls.
	{"transport", false, prefix("net/", "net.", "internal/poll.", "syscall.", "bufio.", "io.")},
	// The garbage collector's background work.
	{"gc", false, prefix("runtime.gcBgMarkWorker")},
	{"rest", false, func(string) bool { return true }},
}

func prefix(ps ...string) func(string) bool {
	return func(fn string) bool {
		for _, p := range ps {
			if strings.HasPrefix(fn, p) {
				return true
			}
		}
		return false
	}
}

func contains(s string) func(string) bool {
	return func(fn string) bool { return strings.Contains(fn, s) }
}

// errNoSamples is cpuShares' error for a profile of a run too short to sample.
var errNoSamples = errors.New("the CPU profile has no samples")

// cpuShares reads a CPU profile and returns each of cpuClasses' share of its CPU time.
func cpuShares(r io.Reader) ([]float64, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("reading the CPU profile: %w", err)
	}
	vi := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	if vi < 0 {
		return nil, fmt.Errorf("the profile has no cpu sample type: %v", p.SampleType)
	}
	share := make([]float64, len(cpuClasses))
	var total float64
	for _, s := range p.Sample {
		v := float64(s.Value[vi])
		total += v
		share[sampleClass(s)] += v
	}
	if total == 0 {
		return nil, errNoSamples
	}
	for i := range share {
		share[i] /= total
	}
	return share, nil
}

// shared reports whether a function is one of the project's helpers shared by several
// classes (JSON strings, written by the encoder and the body alike): a sample in it goes
// to the class of its caller.
func shared(fn string) bool { return strings.Contains(fn, "/internal/jsonstr.") }

// sampleClass is the index in cpuClasses of a sample's class: the first class that
// matches a frame, frames from the innermost out (inlined ones included), shared helpers
// skipped.
func sampleClass(s *profile.Sample) int {
	for _, loc := range s.Location { // innermost first
		for _, ln := range loc.Line { // innermost (inlined) first
			if ln.Function == nil || shared(ln.Function.Name) {
				continue
			}
			for i, c := range cpuClasses[:len(cpuClasses)-1] {
				if c.match(ln.Function.Name) {
					return i
				}
			}
		}
	}
	return len(cpuClasses) - 1
}
