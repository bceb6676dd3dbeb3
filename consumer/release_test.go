package consumer_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/otlpsample"
)

// sampleRecords aggregates samples first..first+n-1 of every format into one Kinesis
// record per format.
func sampleRecords(t *testing.T, first, n int) []types.Record {
	t.Helper()
	var recs []types.Record
	for i, f := range otlpsample.Formats() {
		var a aggregation.Aggregator
		for id := first; id < first+n; id++ {
			data, err := otlpsample.Encode(f, otlpsample.Request(f.Signal, id))
			if err != nil {
				t.Fatal(err)
			}
			a.Add(otlpsample.PartitionKey(id), "", data, otlpsample.Tags(f))
		}
		recs = append(recs, kinesisRecord(fmt.Sprint(i), "pk", a.AppendTo(nil)))
	}
	return recs
}

// Batches read after Release, into the memory of the batches before, decode exactly
// as the first did.
func TestReleaseReuse(t *testing.T) {
	r := newReader(t, nil)
	for round := range 4 {
		first := 1 + round%2*3 // alternate samples, so that reused memory held other values
		b := r.ReadRecords("shardId-000000000000", sampleRecords(t, first, 3))
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		if len(b.Records) != 3*len(otlpsample.Formats()) {
			t.Fatalf("round %d: %d records", round, len(b.Records))
		}
		for i, rec := range b.Records {
			f := otlpsample.Formats()[rec.Index]
			checkRecord(t, rec, f, first+i%3)
		}
		b.Release()
		if b.Records != nil || b.Errors != nil {
			t.Fatal("Release left records in the batch")
		}
		b.Release() // twice does nothing
	}
}

// ReadData into a Batch{} of the caller's own: Release hands its memory to the Reader.
func TestReleaseReadData(t *testing.T) {
	r := newReader(t, nil)
	for range 3 {
		var b consumer.Batch
		for i, kr := range sampleRecords(t, 1, 2) {
			r.ReadData(&b, i, "shard", *kr.SequenceNumber, *kr.PartitionKey, kr.Data)
		}
		if err := b.Err(); err != nil || len(b.Records) != 2*len(otlpsample.Formats()) {
			t.Fatalf("%d records, %v", len(b.Records), err)
		}
		want := otlpsample.Request(b.Records[0].Telemetry.Format.Signal, 1)
		if !proto.Equal(b.Records[0].Telemetry.Message(), want) {
			t.Fatal("first record differs")
		}
		b.Release()
	}
	var empty consumer.Batch
	empty.Release() // a batch no Reader filled
}

// With Release, reading a batch of protobuf traces allocates next to nothing: a few
// allocations per Kinesis record (deaggregation), none per span.
func TestReleaseAllocations(t *testing.T) {
	recs, _ := benchBatch()
	r := newReader(t, nil, consumer.WithChecksum(false))
	r.ReadRecords("s", recs).Release()
	spans := 0
	b := r.ReadRecords("s", recs)
	for _, rec := range b.Records {
		for _, rs := range rec.Telemetry.Traces.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans += len(ss.Spans)
			}
		}
	}
	b.Release()
	allocs := testing.AllocsPerRun(5, func() { r.ReadRecords("s", recs).Release() })
	limit := float64(5 * len(recs))
	if raceEnabled {
		// Pooled slabs are dropped at random: still far from one allocation per span.
		limit = float64(15 * len(recs))
	}
	if allocs > limit {
		t.Errorf("%v allocations for %d Kinesis records of %d spans, want at most %v", allocs, len(recs), spans, limit)
	}
}
