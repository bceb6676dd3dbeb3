package consumer_test

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation/kplref"
)

// frame wraps protobuf bytes as an aggregated record: magic, pb, MD5.
func frame(pb []byte) []byte {
	sum := md5.Sum(pb)
	out := append(aggregation.Magic[:len(aggregation.Magic):len(aggregation.Magic)], pb...)
	return append(out, sum[:]...)
}

// pbBytes appends a length-delimited field.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// pbVarint appends a varint field.
func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// newDeaggregator returns a Deaggregator or fails the test.
func newDeaggregator(t *testing.T, opts ...consumer.Option) *consumer.Deaggregator {
	t.Helper()
	d, err := consumer.NewDeaggregator(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// goldenRecord mirrors the NAME.json files next to the golden aggregates.
type goldenRecord struct {
	PartitionKey    string       `json:"partitionKey"`
	ExplicitHashKey string       `json:"explicitHashKey"`
	Data            []byte       `json:"data"`
	Tags            []kplref.Tag `json:"tags"`
}

func TestGoldenFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "internal", "kpl", "aggregation", "testdata", "golden", "*.kpl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".kpl")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			js, err := os.ReadFile(strings.TrimSuffix(f, ".kpl") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var want []goldenRecord
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			got, err := consumer.Deaggregate(data, "outer-key")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d user records, want %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey ||
					!bytes.Equal(g.Data, w.Data) || g.SubSequenceNumber != uint64(i) || !g.Aggregated {
					t.Errorf("user record %d = %+v, want %+v", i, g, w)
				}
				if len(g.Tags) != len(w.Tags) {
					t.Fatalf("user record %d: tags %v, want %v", i, g.Tags, w.Tags)
				}
				for j := range w.Tags {
					if g.Tags[j] != consumer.Tag(w.Tags[j]) {
						t.Errorf("user record %d tag %d = %v, want %v", i, j, g.Tags[j], w.Tags[j])
					}
				}
			}
		})
	}
}

// randUserRecords returns n records with unicode keys up to 256 characters,
// repeats, explicit hash keys, empty and large data, and up to 12 tags.
func randUserRecords(r *rand.Rand, n int) []kplref.Record {
	runes := []rune("aZ09-_.éßλЖ日本語한😀𝄞")
	str := func(max int) string {
		var b strings.Builder
		for range 1 + r.IntN(max) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		return b.String()
	}
	keys := []string{str(256), str(256), str(8), str(1)}
	recs := make([]kplref.Record, n)
	for i := range recs {
		rec := kplref.Record{PK: keys[r.IntN(len(keys))]}
		if r.IntN(2) == 0 {
			rec.PK = str(256)
		}
		if r.IntN(3) == 0 {
			rec.EHK = aggregation.HashKey{Hi: r.Uint64() >> r.UintN(64), Lo: r.Uint64()}.String()
		}
		switch r.IntN(5) {
		case 0: // empty
		case 1:
			rec.Data = make([]byte, 100_000+r.IntN(100_000))
		default:
			rec.Data = make([]byte, r.IntN(2000))
		}
		for j := range rec.Data {
			rec.Data[j] = byte(r.Uint32())
		}
		for range r.IntN(13) {
			tag := kplref.Tag{Key: str(30)}
			if r.IntN(2) == 0 {
				tag.Value = str(60)
			}
			rec.Tags = append(rec.Tags, tag)
		}
		recs[i] = rec
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var a aggregation.Aggregator
	for iter := range 200 {
		recs := randUserRecords(r, r.IntN(30))
		a.Reset()
		for _, rec := range recs {
			var tags []aggregation.Tag
			for _, tg := range rec.Tags {
				tags = append(tags, aggregation.Tag(tg))
			}
			a.Add(rec.PK, rec.EHK, rec.Data, tags)
		}
		data := a.AppendTo(nil)
		got, err := consumer.Deaggregate(data, "outer")
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		assertRecords(t, got, recs)
		// The reference decoder agrees.
		ref, err := kplref.Decode(data)
		if err != nil {
			t.Fatalf("iteration %d: reference decoder: %v", iter, err)
		}
		assertRecords(t, got, ref)
	}
}

// assertRecords compares decoded user records with reference records.
func assertRecords(t *testing.T, got []consumer.UserRecord, want []kplref.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d user records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.PartitionKey != w.PK || g.ExplicitHashKey != w.EHK || !bytes.Equal(g.Data, w.Data) ||
			g.SubSequenceNumber != uint64(i) || !g.Aggregated || len(g.Tags) != len(w.Tags) {
			t.Fatalf("user record %d: got pk %q ehk %q %d bytes %d tags, want pk %q ehk %q %d bytes %d tags",
				i, g.PartitionKey, g.ExplicitHashKey, len(g.Data), len(g.Tags), w.PK, w.EHK, len(w.Data), len(w.Tags))
		}
		for j := range w.Tags {
			if g.Tags[j] != consumer.Tag(w.Tags[j]) {
				t.Fatalf("user record %d tag %d = %v, want %v", i, j, g.Tags[j], w.Tags[j])
			}
		}
		if cap(g.Data) != len(g.Data) {
			t.Fatalf("user record %d: Data has capacity %d beyond its length %d", i, cap(g.Data), len(g.Data))
		}
	}
}

func TestPlainRecord(t *testing.T) {
	for _, data := range [][]byte{nil, {}, []byte("plain payload"), aggregation.Magic[:3], {0xF3, 0x89, 0x9A, 0xC3, 0, 0}} {
		got, err := consumer.Deaggregate(data, "the-key")
		if err != nil {
			t.Fatalf("Deaggregate(%x): %v", data, err)
		}
		want := []consumer.UserRecord{{PartitionKey: "the-key", Data: data}}
		if len(got) != 1 || got[0].PartitionKey != "the-key" || !bytes.Equal(got[0].Data, data) ||
			got[0].Aggregated || got[0].Tags != nil || got[0].SubSequenceNumber != 0 || got[0].ExplicitHashKey != "" {
			t.Fatalf("Deaggregate(%x) = %+v, want %+v", data, got, want)
		}
		if consumer.IsAggregated(data) {
			t.Fatalf("IsAggregated(%x) = true", data)
		}
	}
}

func TestEmptyAggregate(t *testing.T) {
	var a aggregation.Aggregator
	got, err := consumer.Deaggregate(a.AppendTo(nil), "k")
	if err != nil || len(got) != 0 {
		t.Fatalf("empty aggregate: %v, %v", got, err)
	}
}

// TestMessageOrder reads valid messages the KPL does not write: records
// before the tables, unknown fields of every wire type, scalar fields
// repeated (the last wins, as in every protobuf parser).
func TestMessageOrder(t *testing.T) {
	var tag []byte
	tag = pbBytes(tag, 1, []byte("k"))
	tag = pbBytes(tag, 2, []byte("v"))
	tag = pbVarint(tag, 9, 1) // unknown
	var rec []byte
	rec = pbVarint(rec, 1, 0)
	rec = pbVarint(rec, 1, 1) // repeated: index 1 wins
	rec = pbBytes(rec, 3, []byte("first"))
	rec = pbBytes(rec, 3, []byte("second")) // repeated: wins
	rec = pbBytes(rec, 4, tag)
	rec = protowire.AppendTag(rec, 15, protowire.Fixed32Type) // unknown fixed32
	rec = protowire.AppendFixed32(rec, 7)
	rec = pbVarint(rec, 2, 0)
	var pb []byte
	pb = pbBytes(pb, 3, rec) // record before any table
	pb = protowire.AppendTag(pb, 20, protowire.Fixed64Type)
	pb = protowire.AppendFixed64(pb, 1)
	pb = protowire.AppendTag(pb, 21, protowire.StartGroupType) // unknown group
	pb = pbVarint(pb, 1, 5)
	pb = protowire.AppendTag(pb, 21, protowire.EndGroupType)
	pb = pbBytes(pb, 1, []byte("pk0"))
	pb = pbBytes(pb, 2, []byte("42"))
	pb = pbBytes(pb, 1, []byte("pk1"))
	got, err := consumer.Deaggregate(frame(pb), "outer")
	if err != nil {
		t.Fatal(err)
	}
	want := []consumer.UserRecord{{PartitionKey: "pk1", ExplicitHashKey: "42", Data: []byte("second"),
		Tags: []consumer.Tag{{Key: "k", Value: "v"}}, Aggregated: true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestFormatErrors(t *testing.T) {
	good := func() []byte {
		var a aggregation.Aggregator
		a.Add("pk", "", []byte("data"), []aggregation.Tag{{Key: "k"}})
		return a.AppendTo(nil)
	}()
	flip := bytes.Clone(good)
	flip[10] ^= 1

	rec := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	pk := pbBytes(nil, 1, []byte("pk"))
	pkIdx := func(i uint64) []byte { return pbVarint(nil, 1, i) }
	data := pbBytes(nil, 3, []byte("d"))
	records := func(r []byte) []byte { return pbBytes(nil, 3, r) }

	cases := []struct {
		name   string
		data   []byte
		want   error
		offset int
		record int
		field  string
	}{
		{"magic only", aggregation.Magic[:], consumer.ErrTruncated, 4, -1, ""},
		{"short of the digest", append(aggregation.Magic[:4:4], make([]byte, 15)...), consumer.ErrTruncated, 19, -1, ""},
		{"digest mismatch", flip, consumer.ErrChecksum, len(flip) - 16, -1, ""},
		{"bad field tag", frame([]byte{0x80}), consumer.ErrTruncated, 4, -1, ""},
		{"field number zero", frame([]byte{0x02, 0x00}), consumer.ErrMalformed, 4, -1, ""},
		{"table length past the end", frame([]byte{0x0a, 0x05, 'a'}), consumer.ErrTruncated, 5, -1, ""},
		{"absurd length", frame(append([]byte{0x0a}, protowire.AppendVarint(nil, 1<<62)...)), consumer.ErrTruncated, 5, -1, ""},
		{"varint overflow", frame(append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 10)...)), consumer.ErrMalformed, 5, -1, ""},
		{"table with wrong wire type", frame(pbVarint(nil, 1, 3)), consumer.ErrMalformed, 4, -1, "partition_key_table"},
		{"records with wrong wire type", frame(pbVarint(nil, 3, 3)), consumer.ErrMalformed, 4, 0, "records"},
		{"missing partition key index", frame(rec(pk, records(data))), consumer.ErrMalformed, 8, 0, "records.partition_key_index"},
		{"missing data", frame(rec(pk, records(pkIdx(0)))), consumer.ErrMalformed, 8, 0, "records.data"},
		{"data with wrong wire type", frame(rec(pk, records(rec(pkIdx(0), pbVarint(nil, 3, 1))))), consumer.ErrMalformed, 12, 0, "records.data"},
		{"partition key index out of range", frame(rec(pk, records(rec(pkIdx(0), data)), records(rec(pkIdx(1), data)))),
			consumer.ErrIndexOutOfRange, 17, 1, "records.partition_key_index"},
		{"no partition key table", frame(records(rec(pkIdx(0), data))), consumer.ErrIndexOutOfRange, 6, 0, "records.partition_key_index"},
		{"explicit hash key index out of range", frame(rec(pk, records(rec(pkIdx(0), pbVarint(nil, 2, 0), data)))),
			consumer.ErrIndexOutOfRange, 12, 0, "records.explicit_hash_key_index"},
		{"huge index", frame(rec(pk, records(rec(pbVarint(nil, 1, 1<<63), data)))), consumer.ErrIndexOutOfRange, 10, 0, "records.partition_key_index"},
		{"tag without key", frame(rec(pk, records(rec(pkIdx(0), data, pbBytes(nil, 4, pbBytes(nil, 2, []byte("v"))))))),
			consumer.ErrMalformed, 15, 0, "records.tags.key"},
		{"record truncated inside", frame(rec(pk, records([]byte{0x08, 0x00, 0x1a, 0x09, 'x'}))), consumer.ErrTruncated, 13, 0, "records"},
		{"tag truncated inside", frame(rec(pk, records(rec(pkIdx(0), data, pbBytes(nil, 4, []byte{0x0a, 0x7f}))))),
			consumer.ErrTruncated, 18, 0, "records.tags"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []consumer.UserRecord{{PartitionKey: "kept"}}
			got, err := newDeaggregator(t).AppendDeaggregated(dst, c.data, "outer")
			var fe *consumer.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FormatError", err, err)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if fe.Offset != c.offset || fe.UserRecord != c.record || fe.Field != c.field {
				t.Errorf("error at offset %d, record %d, field %q; want %d, %d, %q (%v)",
					fe.Offset, fe.UserRecord, fe.Field, c.offset, c.record, c.field, err)
			}
			if len(got) != 1 || got[0].PartitionKey != "kept" {
				t.Errorf("dst changed on error: %+v", got)
			}
			if !strings.Contains(err.Error(), c.want.Error()) {
				t.Errorf("message %q does not name the check", err)
			}
		})
	}
}

func TestWithoutChecksum(t *testing.T) {
	var a aggregation.Aggregator
	a.Add("pk", "", []byte("data"), nil)
	data := a.AppendTo(nil)
	data[len(data)-1] ^= 0xff
	if _, err := consumer.Deaggregate(data, "x"); !errors.Is(err, consumer.ErrChecksum) {
		t.Fatalf("default: %v, want ErrChecksum", err)
	}
	d, err := consumer.NewDeaggregator(consumer.WithChecksum(false))
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Deaggregate(data, "x")
	if err != nil || len(got) != 1 || string(got[0].Data) != "data" {
		t.Fatalf("WithChecksum(false): %+v, %v", got, err)
	}
}

func TestMaxUserRecords(t *testing.T) {
	var a aggregation.Aggregator
	for range 3 {
		a.Add("pk", "", nil, nil)
	}
	data := a.AppendTo(nil)
	d, err := consumer.NewDeaggregator(consumer.WithMaxUserRecords(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deaggregate(data, "x"); !errors.Is(err, consumer.ErrTooManyRecords) {
		t.Fatalf("3 records with a limit of 2: %v", err)
	}
	d, _ = consumer.NewDeaggregator(consumer.WithMaxUserRecords(3))
	if got, err := d.Deaggregate(data, "x"); err != nil || len(got) != 3 {
		t.Fatalf("3 records with a limit of 3: %d, %v", len(got), err)
	}
	if _, err := consumer.NewDeaggregator(consumer.WithMaxUserRecords(-1)); err == nil ||
		!strings.Contains(err.Error(), "WithMaxUserRecords(-1)") {
		t.Fatalf("negative limit: %v", err)
	}
}

// TestAllocationBounded feeds the densest hostile input (empty records that
// claim nothing) and checks that memory stays proportional to the input and
// that the number of allocations does not grow with the record count.
func TestAllocationBounded(t *testing.T) {
	for _, n := range []int{1000, 100_000} {
		pb := pbBytes(nil, 1, nil)
		one := pbBytes(nil, 3, append(pbVarint(nil, 1, 0), pbBytes(nil, 3, nil)...))
		pb = append(pb, bytes.Repeat(one, n)...)
		data := frame(pb)
		var got []consumer.UserRecord
		allocs := testing.AllocsPerRun(5, func() {
			var err error
			if got, err = consumer.Deaggregate(data, "x"); err != nil {
				t.Fatal(err)
			}
		})
		if len(got) != n {
			t.Fatalf("%d records, want %d", len(got), n)
		}
		if allocs > 6 {
			t.Errorf("%d records: %v allocations per record read, want at most 6", n, allocs)
		}
	}
	// A length field claiming far more than the input allocates nothing big.
	huge := frame(append([]byte{0x1a}, protowire.AppendVarint(nil, 1<<40)...))
	allocs := testing.AllocsPerRun(5, func() { _, _ = consumer.Deaggregate(huge, "x") })
	if allocs > 10 {
		t.Errorf("absurd length: %v allocations", allocs)
	}
}

func TestDataSharesInputAndStringsDoNot(t *testing.T) {
	var a aggregation.Aggregator
	a.Add("pk", "", []byte("data"), []aggregation.Tag{{Key: "k", Value: "v"}})
	data := a.AppendTo(nil)
	got, err := consumer.Deaggregate(data, "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'Z'
	}
	if string(got[0].Data) != "ZZZZ" {
		t.Errorf("Data %q does not share the input", got[0].Data)
	}
	if got[0].PartitionKey != "pk" || got[0].Tags[0] != (consumer.Tag{Key: "k", Value: "v"}) {
		t.Errorf("strings changed with the input: %+v", got[0])
	}
}

// TestRepeatedTags reads tags that repeat from record to record, change, or
// move position: equal strings are shared, and everything reads back right
// with no more allocations than the fixed few per aggregate.
func TestRepeatedTags(t *testing.T) {
	lists := [][]aggregation.Tag{
		{{Key: "signal", Value: "traces"}, {Key: "encoding", Value: "otlp_proto"}},
		{{Key: "signal", Value: "traces"}, {Key: "encoding", Value: "otlp_proto"}},
		{{Key: "signal", Value: "metrics"}, {Key: "encoding", Value: "otlp_proto"}},
		{{Key: "encoding", Value: "otlp_proto"}, {Key: "signal", Value: "metrics"}},
		nil,
		{{Key: "signal", Value: "traces"}, {Key: "encoding"}, {Key: "extra", Value: "x"}},
		{{Key: "signal", Value: "traces"}, {Key: "encoding"}, {Key: "extra", Value: "x"}},
	}
	var a aggregation.Aggregator
	for i, l := range lists {
		a.Add("pk"+strconv.Itoa(i), "", []byte{byte(i)}, l) // a table too big for the stack
	}
	data := a.AppendTo(nil)
	dst := make([]consumer.UserRecord, 0, len(lists))
	var d consumer.Deaggregator
	allocs := testing.AllocsPerRun(10, func() {
		var err error
		if dst, err = d.AppendDeaggregated(dst[:0], data, "outer"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 3 { // strings, partition key table, tags; more means the string arena was undersized
		t.Errorf("%v allocations, want 3", allocs)
	}
	for i, l := range lists {
		if !reflect.DeepEqual(dst[i].Tags, aggregation.ConvertTags[consumer.Tag](l)) && (len(l) > 0 || dst[i].Tags != nil) {
			t.Errorf("record %d tags %v, want %v", i, dst[i].Tags, l)
		}
	}
}
