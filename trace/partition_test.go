package trace_test

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestPartitioningEndToEnd exports the spans of two resources through a TracerProvider
// with each partitioning scheme other than trace_id (TestRoundTrip covers that one),
// reads the stream back and checks every span arrived exactly once as otlptrace makes it,
// and that each user record's partition key is what the scheme promises.
func TestPartitioningEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []kinesistrace.Option
		check func(t *testing.T, recs []teststream.Record)
	}{
		{"resource", []kinesistrace.Option{otelkinesis.WithPartitionBy(otelkinesis.PartitionByResource)}, checkResourceKeys},
		{"random", []kinesistrace.Option{otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom)}, checkRandomKeys},
		{"function", []kinesistrace.Option{kinesistrace.WithPartitionKey(serviceKey)}, checkFunctionKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := exportertest.Kinesis[kinesistrace.Option](t, "traces")
			recs := exportAndRead(t, srv, "traces", append(base, tc.opts...))
			tc.check(t, recs)
		})
	}
}

// TestStreamByARNOnly: an exporter given the stream's ARN and no name writes to it,
// every request naming the stream by ARN alone.
func TestStreamByARNOnly(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	st, err := srv.CreateStream("by-arn", 2)
	if err != nil {
		t.Fatal(err)
	}
	recs := exportAndRead(t, srv, "by-arn", []kinesistrace.Option{
		otelkinesis.WithStreamARN(st.ARN()), otelkinesis.WithEndpointURL(srv.URL()), otelkinesis.WithAWSConfig(srv.AWSConfig()),
		otelkinesis.WithFlushInterval(10 * time.Millisecond),
	})
	if len(recs) == 0 {
		t.Fatal("nothing read back")
	}
	puts := srv.RequestsFor("PutRecords")
	if len(puts) == 0 {
		t.Fatal("no PutRecords request")
	}
	for _, op := range []string{"PutRecords", "ListShards", "DescribeStreamSummary"} {
		for _, r := range srv.RequestsFor(op) {
			if r.Stream != "by-arn" {
				t.Errorf("%s #%d named stream %q, want by-arn (from its ARN)", op, r.Seq, r.Stream)
			}
		}
	}
}

// exportAndRead exports 400 spans (20 traces over two resources) through an exporter
// built with opts, reads stream back from srv, checks every span arrived exactly once as
// otlptrace makes it, and returns the user records.
func exportAndRead(t *testing.T, srv *kinesistest.Server, stream string, opts []kinesistrace.Option) []teststream.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exp, err := kinesistrace.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	spans := makeSpans(t, exp, 400)
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := teststream.Read(ctx, testpeers.Client(t, srv.URL()), stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]placedSpan{}
	for _, r := range recs {
		flatten(t, r.Telemetry.Traces.ResourceSpans, got)
	}
	compareSpans(t, got, oracle(t, spans))
	return recs
}

// serviceKey is the caller's partition function of TestPartitioningEndToEnd: child spans
// are keyed by their service, roots get an invalid (empty) key, which the exporter
// replaces with the trace ID.
func serviceKey(s sdktrace.ReadOnlySpan) string {
	if s.Name() != "db.query" {
		return ""
	}
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			return "svc-" + kv.Value.AsString()
		}
	}
	return "svc-unknown"
}

// resourceText is a resource's attributes as text, to compare resources by.
func resourceText(rs *tracepb.ResourceSpans) string {
	return prototext.Format(rs.Resource)
}

// isHexKey reports whether k is n lowercase hex digits.
func isHexKey(k string, n int) bool {
	if len(k) != n {
		return false
	}
	b, err := hex.DecodeString(k)
	return err == nil && hex.EncodeToString(b) == k
}

// checkResourceKeys: each record holds one resource, keyed by 16 hex digits; one key per
// resource and one resource per key.
func checkResourceKeys(t *testing.T, recs []teststream.Record) {
	resOfKey, keyOfRes := map[string]string{}, map[string]string{}
	for _, r := range recs {
		rss := r.Telemetry.Traces.ResourceSpans
		if len(rss) != 1 {
			t.Fatalf("record %q holds %d resources, want 1", r.PartitionKey, len(rss))
		}
		if !isHexKey(r.PartitionKey, 16) {
			t.Errorf("record key %q is not 16 lowercase hex digits", r.PartitionKey)
		}
		res := resourceText(rss[0])
		if prev, ok := resOfKey[r.PartitionKey]; ok && prev != res {
			t.Errorf("key %q names two resources", r.PartitionKey)
		}
		if prev, ok := keyOfRes[res]; ok && prev != r.PartitionKey {
			t.Errorf("one resource keyed %q and %q", prev, r.PartitionKey)
		}
		resOfKey[r.PartitionKey], keyOfRes[res] = res, r.PartitionKey
	}
	if len(keyOfRes) != 2 {
		t.Errorf("read %d resources, want 2", len(keyOfRes))
	}
}

// checkRandomKeys: every key is 32 lowercase hex digits, drawn anew for each record.
func checkRandomKeys(t *testing.T, recs []teststream.Record) {
	keys := map[string]bool{}
	for _, r := range recs {
		if !isHexKey(r.PartitionKey, 32) {
			t.Errorf("record key %q is not 32 lowercase hex digits", r.PartitionKey)
		}
		keys[r.PartitionKey] = true
	}
	if len(recs) < 2 || len(keys) != len(recs) {
		t.Errorf("%d records under %d distinct keys, want at least 2 records, each its own key", len(recs), len(keys))
	}
}

// checkFunctionKeys: records keyed "svc-NAME" hold only db.query spans of service NAME;
// the roots, given an empty key, are keyed by their trace ID, one trace per record.
func checkFunctionKeys(t *testing.T, recs []teststream.Record) {
	var bySvc, byTrace int
	for _, r := range recs {
		for _, rs := range r.Telemetry.Traces.ResourceSpans {
			svc := attr(rs.Resource.GetAttributes(), "service.name")
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					want := hex.EncodeToString(sp.TraceId)
					if sp.Name == "db.query" {
						want = "svc-" + svc
						bySvc++
					} else {
						byTrace++
					}
					if r.PartitionKey != want {
						t.Fatalf("span %q of %s in a record keyed %q, want %q", sp.Name, svc, r.PartitionKey, want)
					}
				}
			}
		}
	}
	if bySvc != 380 || byTrace != 20 {
		t.Errorf("%d spans keyed by service and %d by trace, want 380 and 20", bySvc, byTrace)
	}
}

// attr returns the string value of key in kvs, "" if absent.
func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}
