package kpl

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestWalkAggregateRoundTrip(t *testing.T) {
	var a aggregation.Aggregator
	type rec struct {
		pk, ehk, data string
		tags          []aggregation.Tag
	}
	want := []rec{
		{"a", "", "one", nil},
		{"b", "340282366920938463463374607431768211455", "two", []aggregation.Tag{{Key: "k", Value: "v"}, {Key: "flag"}}},
		{"a", "", "", []aggregation.Tag{{Key: "k", Value: "v"}}},
		{"ключ", "0", "four", nil},
	}
	for _, r := range want {
		a.Add(r.pk, r.ehk, []byte(r.data), r.tags)
	}
	var got []rec
	err := walkAggregate(a.AppendTo(nil), func(pk, ehk string, data []byte, tags []aggregation.Tag) {
		got = append(got, rec{pk, ehk, string(data), append([]aggregation.Tag(nil), tags...)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestWalkAggregateRefusesMalformed(t *testing.T) {
	var a aggregation.Aggregator
	a.Add("k", "", []byte("data"), nil)
	good := a.AppendTo(nil)
	for name, b := range map[string][]byte{
		"short":     good[:10],
		"no magic":  append([]byte{0, 0, 0, 0}, good[4:]...),
		"truncated": append(append([]byte{}, good[:len(good)-aggregation.DigestSize-2]...), make([]byte, aggregation.DigestSize)...),
		"bad index": withDigest([]byte{0x1a, 0x02, 0x08, 0x05}), // a record with partition key index 5, no table
	} {
		if err := walkAggregate(b, func(string, string, []byte, []aggregation.Tag) {}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// withDigest frames an AggregatedRecord message with magic and digest.
func withDigest(msg []byte) []byte {
	sum := md5.Sum(msg)
	return append(append(append([]byte{}, aggregation.Magic[:]...), msg...), sum[:]...)
}

// FuzzWalkAggregate feeds arbitrary bytes to the producer's own walk over an
// aggregate: it must never panic, and what it accepts it reads consistently.
func FuzzWalkAggregate(f *testing.F) {
	var a aggregation.Aggregator
	a.Add("k", "", []byte("data"), []aggregation.Tag{{Key: "a", Value: "b"}})
	a.Add("k2", "123", []byte("more"), nil)
	f.Add(a.AppendTo(nil))
	f.Add(withDigest([]byte{0x0a, 0x01, 'k', 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := walkAggregate(b, func(pk, ehk string, data []byte, tags []aggregation.Tag) {
			n++
			if len(data) > len(b) {
				t.Fatalf("data of %d bytes from %d bytes of input", len(data), len(b))
			}
		})
		if err == nil && n > 0 && !bytes.Equal(b[:4], aggregation.Magic[:]) {
			t.Fatal("accepted input without magic")
		}
	})
}
