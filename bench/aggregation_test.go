// Package bench holds the comparisons that need peer modules, kept out of
// the library's go.mod: the KPL aggregation codec against
// github.com/awslabs/kinesis-aggregation/go/v2 (an independent reader) and
// against the aggregator of github.com/a8m/kinesis-producer (the popular Go
// KPL-style producer). Run from this directory:
//
//	go test ./...
//	go test -run '^$' -bench 'Aggregat' -benchmem -count=10 . | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
package bench

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	a8m "github.com/a8m/kinesis-producer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/awslabs/kinesis-aggregation/go/v2/deaggregator"
	awsrec "github.com/awslabs/kinesis-aggregation/go/v2/records"
	"github.com/golang/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// userRecord is one user record for the aggregators.
type userRecord struct {
	pk, ehk string
	data    []byte
	tags    []aggregation.Tag
}

// mixedRecords returns n user records with multi-byte keys, a few shared
// keys, explicit hash keys, tags, and empty to 64 KB data.
func mixedRecords(seed uint64, n int) []userRecord {
	r := rand.New(rand.NewPCG(seed, seed+1))
	shared := []string{"tenant-α", "tenant-β"}
	out := make([]userRecord, n)
	for i := range out {
		u := userRecord{pk: "k-" + strconv.Itoa(r.IntN(1<<20)) + "-ключ-鍵"}
		if r.IntN(4) == 0 {
			u.pk = shared[r.IntN(len(shared))]
		}
		if r.IntN(3) == 0 {
			u.ehk = aggregation.HashKey{Hi: r.Uint64(), Lo: r.Uint64()}.String()
		}
		size := []int{0, 1, 100, 1024, 64 << 10}[r.IntN(5)]
		u.data = make([]byte, size)
		for j := range u.data {
			u.data[j] = byte(r.Uint32())
		}
		for j := range r.IntN(4) {
			u.tags = append(u.tags, aggregation.Tag{Key: "tag" + strconv.Itoa(j), Value: []string{"", "traces", "otlp_proto"}[r.IntN(3)]})
		}
		out[i] = u
	}
	return out
}

func aggregate(recs []userRecord) []byte {
	var a aggregation.Aggregator
	for _, u := range recs {
		a.Add(u.pk, u.ehk, u.data, u.tags)
	}
	return a.AppendTo(nil)
}

// TestAwslabsDeaggregatesOurRecords has the awslabs Go deaggregator read the
// golden files and random aggregates. It hides MD5 mismatches (the record
// comes back whole, with no error), so the test asserts the record count and
// every user record's contents, and reads explicit hash keys and tags with
// the same project's generated protobuf types.
func TestAwslabsDeaggregatesOurRecords(t *testing.T) {
	var blobs [][]byte
	golden, _ := filepath.Glob(filepath.Join("..", "internal", "kpl", "aggregation", "testdata", "golden", "*.kpl"))
	if len(golden) == 0 {
		t.Fatal("no golden files")
	}
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	for seed := range uint64(30) {
		blobs = append(blobs, aggregate(mixedRecords(seed, 1+int(seed)%25)))
	}
	for i, b := range blobs {
		want, err := consumer.Deaggregate(b, "outer")
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		got, err := deaggregator.DeaggregateRecords([]types.Record{{Data: b, PartitionKey: aws.String("outer"),
			SequenceNumber: aws.String(strconv.Itoa(i))}})
		if err != nil {
			t.Fatalf("blob %d: awslabs: %v", i, err)
		}
		if len(got) != len(want) {
			t.Fatalf("blob %d: awslabs read %d user records, want %d", i, len(got), len(want))
		}
		var msg awsrec.AggregatedRecord
		if err := proto.Unmarshal(b[4:len(b)-16], &msg); err != nil {
			t.Fatalf("blob %d: awslabs records: %v", i, err)
		}
		for j, w := range want {
			g := got[j]
			if aws.ToString(g.PartitionKey) != w.PartitionKey || !bytes.Equal(g.Data, w.Data) ||
				aws.ToString(g.SequenceNumber) != strconv.Itoa(i) {
				t.Fatalf("blob %d user record %d: awslabs read pk %q, %d bytes; want pk %q, %d bytes",
					i, j, aws.ToString(g.PartitionKey), len(g.Data), w.PartitionKey, len(w.Data))
			}
			m := msg.Records[j]
			ehk := ""
			if m.ExplicitHashKeyIndex != nil {
				ehk = msg.ExplicitHashKeyTable[*m.ExplicitHashKeyIndex]
			}
			if ehk != w.ExplicitHashKey || len(m.Tags) != len(w.Tags) {
				t.Fatalf("blob %d user record %d: ehk %q, %d tags; want %q, %d", i, j, ehk, len(m.Tags), w.ExplicitHashKey, len(w.Tags))
			}
			for k, tg := range m.Tags {
				if tg.GetKey() != w.Tags[k].Key || tg.GetValue() != w.Tags[k].Value || (tg.Value != nil) != (w.Tags[k].Value != "") {
					t.Fatalf("blob %d user record %d tag %d: %v, want %v", i, j, k, tg, w.Tags[k])
				}
			}
		}
	}

	// What it does with a bad digest: the whole record, unchanged, no error.
	// Ours refuses it.
	bad := bytes.Clone(blobs[len(blobs)-1])
	bad[len(bad)-1] ^= 1
	got, err := deaggregator.DeaggregateRecords([]types.Record{{Data: bad, PartitionKey: aws.String("outer")}})
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, bad) {
		t.Errorf("awslabs on a bad digest: %d records, %v (its behaviour changed)", len(got), err)
	}
	if _, err := consumer.Deaggregate(bad, "outer"); err == nil {
		t.Error("our deaggregator accepted a bad digest")
	}
}

// TestA8mAggregatesUnderOneKey documents a trap of a8m's aggregator: it
// writes every user record under the first record's partition key, so a
// consumer sees one key for records put under several; our deaggregator
// shows it plainly.
func TestA8mAggregatesUnderOneKey(t *testing.T) {
	var a a8m.Aggregator
	a.Put([]byte("one"), "key-1")
	a.Put([]byte("two"), "key-2")
	entry, err := a.Drain()
	if err != nil {
		t.Fatal(err)
	}
	got, err := consumer.Deaggregate(entry.Data, aws.ToString(entry.PartitionKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].PartitionKey != "key-1" || got[1].PartitionKey != "key-1" || string(got[1].Data) != "two" {
		t.Fatalf("a8m's aggregate reads as %+v", got)
	}
}

// aggregateLimit is the default aggregate_batch_size.
const aggregateLimit = 51200

// benchRecords returns user records of size bytes with a distinct
// 32-character partition key each (one per trace ID), about one and a half
// aggregates' worth so that they stay in cache, as freshly encoded records
// are in the producer, and how many of them our aggregator fits in one 50 KiB
// aggregate.
func benchRecords(size int) (recs []userRecord, perAggregate int) {
	n := 3 * aggregateLimit / (2 * size)
	recs = make([]userRecord, n)
	for i := range recs {
		recs[i] = userRecord{pk: fmt.Sprintf("%016x%016x", uint64(i)*0x9E3779B97F4A7C15, uint64(i)), data: make([]byte, size)}
		for j := range recs[i].data {
			recs[i].data[j] = byte(i ^ j)
		}
	}
	var a aggregation.Aggregator
	for _, u := range recs {
		if !a.AddIfFits(u.pk, "", u.data, nil, aggregateLimit) {
			break
		}
	}
	return recs, a.Count()
}

// BenchmarkAggregate builds 50 KiB aggregates of 100 B and 1 KiB user
// records: ours (stopping exactly at the limit with AddIfFits), a8m's on the
// same records (Put, then Drain), and MD5 alone over our output, the format's
// floor. One op is one aggregate; MB/s counts the user data, the same for
// all, so the ratios of ns/op are the ratios of cost per record.
func BenchmarkAggregate(b *testing.B) {
	for _, size := range []int{100, 1024} {
		recs, per := benchRecords(size)
		userBytes := int64(per * size)
		b.Run(fmt.Sprintf("record=%dB/impl=otelkinesis", size), func(b *testing.B) {
			var a aggregation.Aggregator
			fill := func(next int) int {
				a.Reset()
				for ; ; next++ {
					if next == len(recs) {
						next = 0
					}
					u := &recs[next]
					if !a.AddIfFits(u.pk, "", u.data, nil, aggregateLimit) {
						return next
					}
				}
			}
			fill(0) // grow the buffers before timing, as a long-running producer has
			out := a.AppendTo(make([]byte, 0, aggregateLimit))
			b.SetBytes(userBytes)
			b.ReportAllocs()
			next := 0
			for b.Loop() {
				next = fill(next)
				out = a.AppendTo(out[:0])
			}
			b.ReportMetric(float64(a.Count()), "records/op")
		})
		b.Run(fmt.Sprintf("record=%dB/impl=a8m", size), func(b *testing.B) {
			var a a8m.Aggregator
			b.SetBytes(userBytes)
			b.ReportAllocs()
			next := 0
			for b.Loop() {
				for range per {
					u := &recs[next%len(recs)]
					a.Put(u.data, u.pk)
					next++
				}
				if _, err := a.Drain(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(per), "records/op")
		})
		b.Run(fmt.Sprintf("record=%dB/impl=md5-floor", size), func(b *testing.B) {
			var a aggregation.Aggregator
			for _, u := range recs[:per] {
				a.Add(u.pk, "", u.data, nil)
			}
			out := a.AppendTo(nil)
			b.SetBytes(userBytes)
			b.ReportAllocs()
			var sum [md5.Size]byte
			for b.Loop() {
				sum = md5.Sum(out)
			}
			_ = sum
			b.ReportMetric(float64(per), "records/op")
		})
	}
}

// BenchmarkDeaggregate reads 50 KiB aggregates: ours with and without the
// MD5 check, and the awslabs deaggregator. MB/s counts aggregate bytes.
func BenchmarkDeaggregate(b *testing.B) {
	for _, size := range []int{100, 1024} {
		recs, per := benchRecords(size)
		data := aggregate(recs[:per])
		noMD5, err := consumer.NewDeaggregator(consumer.WithChecksum(false))
		if err != nil {
			b.Fatal(err)
		}
		var withMD5 consumer.Deaggregator
		for _, c := range []struct {
			name string
			d    *consumer.Deaggregator
		}{{"otelkinesis", &withMD5}, {"otelkinesis-nomd5", noMD5}} {
			b.Run(fmt.Sprintf("record=%dB/impl=%s", size, c.name), func(b *testing.B) {
				var dst []consumer.UserRecord
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if dst, err = c.d.AppendDeaggregated(dst[:0], data, "outer"); err != nil || len(dst) != per {
						b.Fatalf("%d records, %v", len(dst), err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("record=%dB/impl=awslabs", size), func(b *testing.B) {
			in := []types.Record{{Data: data, PartitionKey: aws.String("outer")}}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := deaggregator.DeaggregateRecords(in)
				if err != nil || len(out) != per {
					b.Fatalf("%d records, %v", len(out), err)
				}
			}
		})
	}
}
