package bench

import (
	"context"
	"encoding/hex"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// localityShards and localityBatches shape TestTraceLocality: traces whose spans are
// spread over several export calls, as a batch span processor sees concurrent requests,
// written to a stream of a few shards.
const (
	localityShards  = 4
	localityBatches = 8
)

// TestTraceLocality writes the same spans, each trace spread over 8 export calls of 512
// spans, through ours and through the Collector's awskinesisexporter (its defaults:
// otlp encoding, no compression) to a 4-shard kinesistest stream, reads every record back
// and counts the shards each trace's spans landed on. Ours must keep every trace whole on
// one shard, the one its trace ID maps to, both partitioning by trace ID (the default, the
// subtest exporter=otelkinesis) and with partition_by=shard, which groups the traces of a
// call bound for one shard in one user record. The Collector's default partition key is a
// random UUID per ResourceSpans of each export call, so a trace spread over several calls
// lands on several shards; the test logs how many (make bench keeps the log).
func TestTraceLocality(t *testing.T) {
	spans := recordSpans(batchSize*localityBatches, localityBatches)
	ctx := context.Background()

	for _, part := range []otelkinesis.PartitionBy{otelkinesis.PartitionByTraceID, otelkinesis.PartitionByShard} {
		name := "exporter=otelkinesis"
		if part != otelkinesis.PartitionByTraceID {
			name += "/partition=" + string(part)
		}
		t.Run(name, func(t *testing.T) {
			srv, st := localityServer(t)
			exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchStream), otelkinesis.WithEndpointURL(srv.URL()),
				otelkinesis.WithAWSConfig(testpeers.Config(srv.URL())), otelkinesis.WithPartitionBy(part))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(spans); i += batchSize {
				if err := exp.ExportSpans(ctx, spans[i:i+batchSize]); err != nil {
					t.Fatal(err)
				}
			}
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			traces, split, off, n := shardsPerTrace(t, st)
			if n != len(spans) {
				t.Fatalf("read back %d spans, exported %d", n, len(spans))
			}
			t.Logf("otelkinesis (partition_by=%s): %d traces, %d split over more than one shard, %d off the shard their trace ID maps to",
				part, traces, split, off)
			if split != 0 || off != 0 {
				t.Errorf("%d of %d traces landed on more than one shard, %d on another than their trace ID's", split, traces, off)
			}
		})
	}

	t.Run("exporter=awskinesis", func(t *testing.T) {
		srv, st := localityServer(t)
		exp := newCollectorExporter(t, srv.URL(), "otlp_proto", "none")
		for i := 0; i < len(spans); i += batchSize {
			if err := exp.ConsumeTraces(ctx, asPdata(t, spans[i:i+batchSize])); err != nil {
				t.Fatal(err)
			}
		}
		traces, split, _, n := shardsPerTrace(t, st)
		if n != len(spans) {
			t.Fatalf("read back %d spans, exported %d", n, len(spans))
		}
		t.Logf("awskinesis (default partitioning): %d traces, %d (%.0f%%) split over more than one shard",
			traces, split, 100*float64(split)/float64(traces))
	})
}

func localityServer(t *testing.T) (*kinesistest.Server, *kinesistest.Stream) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	st, err := srv.CreateStream(benchStream, localityShards)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st
}

// shardsPerTrace reads every record of st (aggregated or not, uncompressed OTLP
// protobuf) and returns how many traces there are, how many have spans on more than one
// shard, how many have spans on a shard whose hash key range does not hold their trace ID's
// (as a partition key: 32 lowercase hex digits), and how many spans were read.
func shardsPerTrace(t *testing.T, st *kinesistest.Stream) (traces, split, off, spans int) {
	var d consumer.Deaggregator
	shards := map[[16]byte]map[string]bool{}
	for _, r := range st.AllRecords() {
		users, err := d.Deaggregate(r.Data, r.PartitionKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(u.Data)
			if err != nil {
				t.Fatal(err)
			}
			rss := td.ResourceSpans()
			for i := range rss.Len() {
				sss := rss.At(i).ScopeSpans()
				for j := range sss.Len() {
					ss := sss.At(j).Spans()
					for k := range ss.Len() {
						id := [16]byte(ss.At(k).TraceID())
						if shards[id] == nil {
							shards[id] = map[string]bool{}
						}
						shards[id][r.ShardID] = true
						spans++
					}
				}
			}
		}
	}
	ranges := map[string]aggregation.HashRange{}
	for _, sh := range st.Shards() {
		rng, err := aggregation.ParseHashRange(sh.StartingHashKey, sh.EndingHashKey)
		if err != nil {
			t.Fatal(err)
		}
		ranges[sh.ID] = rng
	}
	for id, s := range shards {
		if len(s) > 1 {
			split++
		}
		h := aggregation.HashPartitionKey(hex.EncodeToString(id[:]))
		for shard := range s {
			if !ranges[shard].Contains(h) {
				off++
				break
			}
		}
	}
	return len(shards), split, off, spans
}
