package aggregation

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation/kplref"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// randString returns a string of 0..maxRunes characters mixing 1- to 4-byte
// UTF-8 sequences.
func randString(r *rand.Rand, minRunes, maxRunes int) string {
	alphabets := [][]rune{
		[]rune("abcdefghijklmnopqrstuvwxyz0123456789-_"),
		[]rune("éßøñüλπЖж"),
		[]rune("日本語中文한국어"),
		[]rune("😀🚀𝄞"),
	}
	n := minRunes + r.IntN(maxRunes-minRunes+1)
	var b strings.Builder
	for range n {
		a := alphabets[r.IntN(len(alphabets))]
		b.WriteRune(a[r.IntN(len(a))])
	}
	return b.String()
}

// randRecords returns n random user records with some keys repeated.
func randRecords(r *rand.Rand, n int) []kplref.Record {
	pks := make([]string, 1+r.IntN(n+1))
	for i := range pks {
		pks[i] = randString(r, 1, 256)
	}
	ehks := []string{"0", "1", MaxHashKey.String(), HashKey{Hi: r.Uint64(), Lo: r.Uint64()}.String()}
	dataLens := []int{0, 1, 127, 128, 16383, 16384, 100, 1024}
	recs := make([]kplref.Record, n)
	for i := range recs {
		rec := &recs[i]
		rec.PK = pks[r.IntN(len(pks))]
		if r.IntN(3) == 0 {
			rec.EHK = ehks[r.IntN(len(ehks))]
		}
		l := dataLens[r.IntN(len(dataLens))]
		if r.IntN(4) == 0 {
			l = r.IntN(3000)
		}
		rec.Data = make([]byte, l)
		for j := range rec.Data {
			rec.Data[j] = byte(r.Uint32())
		}
		for range r.IntN(4) * r.IntN(4) {
			tg := kplref.Tag{Key: randString(r, 1, 20)}
			if r.IntN(3) > 0 {
				tg.Value = randString(r, 1, 40)
			}
			rec.Tags = append(rec.Tags, tg)
		}
	}
	return recs
}

// toTags converts reference tags to Tags.
func toTags(ts []kplref.Tag) []Tag {
	var out []Tag
	for _, t := range ts {
		out = append(out, Tag(t))
	}
	return out
}

// refEncode encodes recs with the reference codec.
func refEncode(t *testing.T, recs []kplref.Record) []byte {
	t.Helper()
	b, err := kplref.Encode(recs)
	if err != nil {
		t.Fatalf("reference encode: %v", err)
	}
	return b
}

// addAll adds recs to a, checking SizeWith, Size, Count and PartitionKey
// after every Add.
func addAll(t *testing.T, a *Aggregator, recs []kplref.Record) {
	t.Helper()
	for i, rec := range recs {
		tags := toTags(rec.Tags)
		want := a.SizeWith(rec.PK, rec.EHK, len(rec.Data), tags)
		before := a.Size()
		a.Add(rec.PK, rec.EHK, rec.Data, tags)
		if got := a.Size(); got != want {
			t.Fatalf("record %d: Size() = %d after Add, SizeWith predicted %d (was %d)", i, got, want, before)
		}
		if got := a.Count(); got != i+1 {
			t.Fatalf("Count() = %d, want %d", got, i+1)
		}
	}
	for i, rec := range recs {
		if got := a.PartitionKey(i); got != rec.PK {
			t.Fatalf("PartitionKey(%d) = %q, want %q", i, got, rec.PK)
		}
	}
}

func TestAggregatorMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var a Aggregator
	for iter := range 300 {
		recs := randRecords(r, r.IntN(40))
		a.Reset()
		addAll(t, &a, recs)
		got := a.AppendTo([]byte("prefix"))
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatal("AppendTo overwrote dst")
		}
		got = got[len("prefix"):]
		if len(got) != a.Size() {
			t.Fatalf("iteration %d: AppendTo wrote %d bytes, Size() = %d", iter, len(got), a.Size())
		}
		want := refEncode(t, recs)
		if !bytes.Equal(got, want) {
			t.Fatalf("iteration %d: %d records encode differently from the protobuf runtime\n got %x\nwant %x",
				iter, len(recs), got, want)
		}
		back, err := kplref.Decode(got)
		if err != nil {
			t.Fatalf("iteration %d: reference decode: %v", iter, err)
		}
		if !sameRecords(back, recs) {
			t.Fatalf("iteration %d: round trip differs", iter)
		}
	}
}

// TestAppendSingleMatchesAggregator: AppendSingle writes, for one user record, exactly
// what an empty Aggregator writes after one Add, SingleSize is its length, and neither
// allocates given room.
func TestAppendSingleMatchesAggregator(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var a Aggregator
	dst := make([]byte, 0, 300000)
	for iter := range 2000 {
		rec := randRecords(r, 1)[0]
		if iter%100 == 0 {
			rec.Data = make([]byte, 70000+r.IntN(200000)) // over an aggregate's size, as alone records are
		}
		tags := toTags(rec.Tags)
		a.Reset()
		a.Add(rec.PK, rec.EHK, rec.Data, tags)
		want := a.AppendTo(nil)
		got := AppendSingle(dst[:0], rec.PK, rec.EHK, rec.Data, tags)
		if !bytes.Equal(got, want) {
			t.Fatalf("iteration %d (pk %d bytes, ehk %q, %d bytes of data, %d tags): AppendSingle differs from the Aggregator\n got %x\nwant %x",
				iter, len(rec.PK), rec.EHK, len(rec.Data), len(tags), got, want)
		}
		if n := SingleSize(rec.PK, rec.EHK, len(rec.Data), tags); n != len(got) {
			t.Fatalf("iteration %d: SingleSize = %d, AppendSingle wrote %d", iter, n, len(got))
		}
	}
	rec := randRecords(r, 1)[0]
	tags := toTags(rec.Tags)
	if n := testing.AllocsPerRun(100, func() {
		_ = AppendSingle(dst[:0], rec.PK, rec.EHK, rec.Data, tags)
		_ = SingleSize(rec.PK, rec.EHK, len(rec.Data), tags)
	}); n != 0 {
		t.Errorf("AppendSingle and SingleSize with room: %v allocations, want 0", n)
	}
}

// sameRecords compares record lists, treating nil and empty data or tags alike.
func sameRecords(a, b []kplref.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].PK != b[i].PK || a[i].EHK != b[i].EHK || !bytes.Equal(a[i].Data, b[i].Data) ||
			len(a[i].Tags) != len(b[i].Tags) || (len(a[i].Tags) > 0 && !reflect.DeepEqual(a[i].Tags, b[i].Tags)) {
			return false
		}
	}
	return true
}

func TestAggregatorEmpty(t *testing.T) {
	var a Aggregator
	if a.Size() != 20 || a.Count() != 0 {
		t.Fatalf("empty: Size() = %d, Count() = %d", a.Size(), a.Count())
	}
	sum := md5.Sum(nil)
	want := append(Magic[:len(Magic):len(Magic)], sum[:]...)
	if got := a.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("empty AppendTo = %x, want %x", got, want)
	}
}

func TestAggregatorResetReuses(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	first, second := randRecords(r, 30), randRecords(r, 30)
	var a Aggregator
	addAll(t, &a, first)
	a.AppendTo(nil)
	a.Reset()
	if a.Count() != 0 || a.Size() != 20 {
		t.Fatalf("after Reset: Count() = %d, Size() = %d", a.Count(), a.Size())
	}
	addAll(t, &a, second)
	if got, want := a.AppendTo(nil), refEncode(t, second); !bytes.Equal(got, want) {
		t.Fatal("aggregate after Reset differs from a fresh encoding")
	}
	// AppendTo does not Reset: a second call writes the same bytes.
	if !bytes.Equal(a.AppendTo(nil), a.AppendTo(nil)) {
		t.Fatal("AppendTo is not repeatable")
	}
}

func TestAddIfFits(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 100 {
		recs := randRecords(r, 30)
		limit := 20 + r.IntN(20000)
		var a, b Aggregator
		var added []kplref.Record
		for _, rec := range recs {
			tags := toTags(rec.Tags)
			want := b.SizeWith(rec.PK, rec.EHK, len(rec.Data), tags) <= limit
			before := a.AppendTo(nil)
			if got := a.AddIfFits(rec.PK, rec.EHK, rec.Data, tags, limit); got != want {
				t.Fatalf("AddIfFits = %v at size %d, limit %d, but SizeWith says %v", got, a.Size(), limit, want)
			}
			if want {
				b.Add(rec.PK, rec.EHK, rec.Data, tags)
				added = append(added, rec)
			} else if !bytes.Equal(a.AppendTo(nil), before) {
				t.Fatal("AddIfFits changed the aggregate when refusing a record")
			}
			if a.Size() > limit && a.Count() > 0 {
				t.Fatalf("Size() = %d above limit %d", a.Size(), limit)
			}
		}
		if got := a.AppendTo(nil); !bytes.Equal(got, b.AppendTo(nil)) || !bytes.Equal(got, refEncode(t, added)) {
			t.Fatal("AddIfFits built a different aggregate than SizeWith and Add")
		}
	}
}

func TestAggregatorCopiesData(t *testing.T) {
	var a Aggregator
	data := []byte("original")
	a.Add("pk", "", data, nil)
	copy(data, "mutated!")
	recs, err := kplref.Decode(a.AppendTo(nil))
	if err != nil || string(recs[0].Data) != "original" {
		t.Fatalf("decoded %q, %v; Add did not copy data", recs[0].Data, err)
	}
}

func TestAggregatorStopsAtLimit(t *testing.T) {
	// A caller filling up to a byte limit with SizeWith lands exactly on it
	// when the records allow, and never above.
	const limit = 25 * 1000 // one PUT payload unit
	r := rand.New(rand.NewPCG(9, 10))
	var a Aggregator
	for range 200 {
		a.Reset()
		for {
			pk := randString(r, 1, 64)
			data := make([]byte, r.IntN(700))
			if a.SizeWith(pk, "", len(data), nil) > limit {
				break
			}
			a.Add(pk, "", data, nil)
		}
		if n := len(a.AppendTo(nil)); n > limit || n != a.Size() {
			t.Fatalf("aggregate of %d bytes, Size() %d, limit %d", n, a.Size(), limit)
		}
	}
}

func TestAggregatorNoAllocsSteadyState(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	pks := make([]string, 400)
	for i := range pks {
		pks[i] = fmt.Sprintf("%032x", i) // a trace ID per record: every key distinct
	}
	tags := []Tag{{"otelkinesis.signal", "traces"}, {"content-type", "application/x-protobuf"}}
	var a Aggregator
	out := make([]byte, 0, 1<<17)
	fill := func() {
		a.Reset()
		for i, pk := range pks {
			ehk := ""
			if i%3 == 0 {
				ehk = "12345678901234567890"
			}
			a.Add(pk, ehk, data, tags)
		}
		out = a.AppendTo(out[:0])
	}
	fill() // grow the buffers once
	if n := testing.AllocsPerRun(20, fill); n != 0 {
		t.Fatalf("steady state allocates %v times per aggregate of %d records, want 0", n, len(pks))
	}
}

func TestSizeWithOnEmptyAggregatorIsFree(t *testing.T) {
	tags := []Tag{{Key: "otelkinesis.signal", Value: "traces"}}
	pk := strings.Repeat("k", 40)
	var n int
	allocs := testing.AllocsPerRun(100, func() {
		var empty Aggregator
		n = empty.SizeWith(pk, "12345", 1000, tags)
	})
	if allocs != 0 {
		t.Errorf("SizeWith on an empty Aggregator allocates %v times", allocs)
	}
	var a Aggregator
	a.Add(pk, "12345", make([]byte, 1000), tags)
	if n != a.Size() {
		t.Errorf("SizeWith on an empty Aggregator = %d, Size after Add = %d", n, a.Size())
	}
}

// goldenCases are fixed inputs whose encodings are kept byte for byte in
// testdata/golden (NAME.kpl), next to the user records they hold
// (NAME.json, see goldenJSON). Regenerate both with:
//
//	go test ./internal/kpl/aggregation -run TestGolden -update
//
// The consumer package and the independent readers check the same files.
var goldenCases = []struct {
	name string
	recs []kplref.Record
}{
	{"single", []kplref.Record{{PK: "pk", Data: []byte("hello")}}},
	{"empty-data", []kplref.Record{{PK: "k", Data: nil}}},
	{"shared-keys", []kplref.Record{
		{PK: "alpha", Data: []byte("one")},
		{PK: "beta", Data: []byte("two")},
		{PK: "alpha", Data: []byte("three")},
	}},
	{"explicit-hash-keys", []kplref.Record{
		{PK: "a", EHK: "0", Data: []byte("first")},
		{PK: "b", Data: []byte("second")},
		{PK: "c", EHK: "340282366920938463463374607431768211455", Data: []byte("third")},
		{PK: "d", EHK: "0", Data: []byte("fourth")},
	}},
	{"tags", []kplref.Record{
		{PK: "trace-0af7651916cd43dd8448eb211c80319c", Data: []byte{0x0a, 0x00},
			Tags: []kplref.Tag{{Key: "otelkinesis.signal", Value: "traces"}, {Key: "otelkinesis.encoding", Value: "otlp_proto"}, {Key: "flag"}}},
	}},
	{"unicode-keys", []kplref.Record{
		{PK: "日本語のキー", Data: []byte("ja")},
		{PK: strings.Repeat("é", 256), Data: bytes.Repeat([]byte{0xff}, 300)},
	}},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			var a Aggregator
			addAll(t, &a, c.recs)
			got := a.AppendTo(nil)
			if want := refEncode(t, c.recs); !bytes.Equal(got, want) {
				t.Fatalf("differs from the protobuf runtime's encoding")
			}
			js, err := json.MarshalIndent(toGoldenJSON(c.recs), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name+".kpl", got)
			checkGolden(t, c.name+".json", append(js, '\n'))
		})
	}
}

// goldenJSON is one user record in a golden NAME.json file, the form the
// consumer tests and the Node cross-check read.
type goldenJSON struct {
	PartitionKey    string       `json:"partitionKey"`
	ExplicitHashKey string       `json:"explicitHashKey,omitempty"`
	Data            []byte       `json:"data"` // base64
	Tags            []kplref.Tag `json:"tags,omitempty"`
}

func toGoldenJSON(recs []kplref.Record) []goldenJSON {
	out := make([]goldenJSON, len(recs))
	for i, r := range recs {
		out[i] = goldenJSON{PartitionKey: r.PK, ExplicitHashKey: r.EHK, Data: r.Data, Tags: r.Tags}
		if out[i].Data == nil {
			out[i].Data = []byte{}
		}
	}
	return out
}

// checkGolden compares got with testdata/golden/name, rewriting it first
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s changed:\n got %x\nwant %x", path, got, want)
	}
}

// TestKeyTableUnput takes back the last key added, as AddIfFits does with a
// record that does not fit, also when adding it grew the index, and checks
// that every other key is still found at its index, that a lookup SizeWith
// remembered before still adds its key soundly, and that the table's bytes
// are those of the keys kept.
func TestKeyTableUnput(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := range 2000 {
		var kt keyTable
		keys := make([]string, 1+r.IntN(70))
		for i := range keys {
			// Distinct keys of 2 to about 45 bytes: both hash paths.
			keys[i] = fmt.Sprintf("%d-%s", i, strings.Repeat("k", r.IntN(40)))
		}
		last := len(keys) - 1
		for _, k := range keys[:last] {
			kt.lookup(tagPartitionKeyTable, k, true)
		}
		missing := fmt.Sprintf("missing-%d", trial)
		kt.lookup(tagPartitionKeyTable, missing, false) // remembered
		kt.lookup(tagPartitionKeyTable, keys[last], true)
		kt.unput()
		if i, isNew := kt.lookup(tagPartitionKeyTable, missing, true); !isNew || int(i) != last {
			t.Fatalf("trial %d: remembered key added as %d (new %v), want %d", trial, i, isNew, last)
		}
		if _, isNew := kt.lookup(tagPartitionKeyTable, strings.Clone(keys[last]), false); !isNew {
			t.Fatalf("trial %d: key %d still found after unput", trial, last)
		}
		keys[last] = missing
		var want []byte
		for i, k := range keys {
			// A copy, so that the lookup probes the index rather than
			// recognise the string it saw last.
			if got, isNew := kt.lookup(tagPartitionKeyTable, strings.Clone(k), false); isNew || int(got) != i {
				t.Fatalf("trial %d: key %d of %d found as %d (new %v)", trial, i, len(keys), got, isNew)
			}
			want = append(append(append(want, tagPartitionKeyTable), byte(len(k))), k...)
		}
		if !bytes.Equal(kt.enc, want) {
			t.Fatalf("trial %d: table bytes %x, want %x", trial, kt.enc, want)
		}
	}
}
