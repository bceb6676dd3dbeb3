package aggregation

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// bothPaths reads the protobuf bytes pb with the fast path and the general
// parser. fast reports whether the fast path took the input.
func bothPaths(t *testing.T, pb []byte) (fastRecs, generalRecs []Record, fast bool, generalErr error) {
	t.Helper()
	f := parser{pb: pb, base: 4}
	g := parser{pb: pb, base: 4}
	generalErr = g.scan()
	if generalErr == nil {
		generalRecs = build(&g, nil, record)
	}
	if !f.fastScan() {
		return nil, generalRecs, false, generalErr
	}
	fastRecs = fastBuild(&f, nil, record)
	if generalErr != nil {
		t.Fatalf("fast path accepted what the general parser rejects: %v", generalErr)
	}
	if f.pks != g.pks || f.ehks != g.ehks || f.records != g.records || f.tags != g.tags || f.strBytes != g.strBytes {
		t.Fatalf("fast path counted %d/%d/%d/%d/%d, general %d/%d/%d/%d/%d (pks/ehks/records/tags/strBytes)",
			f.pks, f.ehks, f.records, f.tags, f.strBytes, g.pks, g.ehks, g.records, g.tags, g.strBytes)
	}
	return fastRecs, generalRecs, true, nil
}

func TestFastPathMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	tagSets := [][]Tag{nil, {{Key: "a", Value: "1"}}, {{Key: "a", Value: "1"}, {Key: "b"}}, {{Key: "a", Value: "2"}, {Key: "b"}}}
	for iter := range 300 {
		var a Aggregator
		for range r.IntN(50) {
			pk := "pk" + strconv.Itoa(r.IntN(10))
			ehk := ""
			if r.IntN(3) == 0 {
				ehk = strconv.Itoa(r.IntN(5))
			}
			a.Add(pk, ehk, make([]byte, r.IntN(300)), tagSets[r.IntN(len(tagSets))])
		}
		out := a.AppendTo(nil)
		fastRecs, generalRecs, fast, err := bothPaths(t, out[4:len(out)-16])
		if !fast || err != nil {
			t.Fatalf("iteration %d: fast path refused our own encoding (general: %v)", iter, err)
		}
		if !reflect.DeepEqual(fastRecs, generalRecs) {
			t.Fatalf("iteration %d: paths differ\nfast    %+v\ngeneral %+v", iter, fastRecs, generalRecs)
		}
	}
}

func TestFastPathRefusesOtherLayouts(t *testing.T) {
	rec := protowire.AppendTag(nil, 1, protowire.VarintType)
	rec = protowire.AppendVarint(rec, 0)
	rec = protowire.AppendTag(rec, 3, protowire.BytesType)
	rec = protowire.AppendBytes(rec, []byte("d"))
	table := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("pk"))
	records := protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), rec)
	unknown := protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1)
	dataFirst := append(protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), []byte("d")), rec[:2]...)
	for name, pb := range map[string][]byte{
		"records before the table": append(append([]byte{}, records...), table...),
		"unknown top-level field":  append(append(append([]byte{}, table...), unknown...), records...),
		"unknown record field":     append(append([]byte{}, table...), protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), append(append([]byte{}, rec...), unknown...))...),
		"data before the index":    append(append([]byte{}, table...), protowire.AppendBytes(protowire.AppendTag(nil, 3, protowire.BytesType), dataFirst)...),
	} {
		fastRecs, generalRecs, fast, err := bothPaths(t, pb)
		if fast {
			t.Errorf("%s: fast path took it (%+v)", name, fastRecs)
		}
		if err != nil || len(generalRecs) != 1 || string(generalRecs[0].Data) != "d" || generalRecs[0].PartitionKey != "pk" {
			t.Errorf("%s: general parser read %+v, %v", name, generalRecs, err)
		}
	}
}

// FuzzFastPath checks the fast path against the general parser on arbitrary
// protobuf bytes: whatever it takes, the general parser reads identically.
func FuzzFastPath(f *testing.F) {
	var a Aggregator
	a.Add("pk", "7", []byte("data"), []Tag{{Key: "k", Value: "v"}})
	a.Add("pk2", "", nil, []Tag{{Key: "k", Value: "v"}})
	a.Add("pk", "", []byte("x"), []Tag{{Key: "k"}})
	out := a.AppendTo(nil)
	f.Add(out[4 : len(out)-16])
	f.Fuzz(func(t *testing.T, pb []byte) {
		fastRecs, generalRecs, fast, _ := bothPaths(t, pb)
		if fast && !reflect.DeepEqual(fastRecs, generalRecs) {
			t.Fatalf("paths differ\nfast    %+v\ngeneral %+v", fastRecs, generalRecs)
		}
	})
}
