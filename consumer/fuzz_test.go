package consumer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation/kplref"
)

// FuzzDeaggregate feeds arbitrary bytes, either as a whole Kinesis record's
// data (raw) or as the protobuf message of a correctly framed aggregated
// record, and checks that reading never panics, that every user record's
// data lies inside the input, that the record count is bounded by the input
// size, that the protobuf runtime reads the same records, and that encoding
// the records again reads back the same.
func FuzzDeaggregate(f *testing.F) {
	golden, _ := filepath.Glob(filepath.Join("..", "internal", "kpl", "aggregation", "testdata", "golden", "*.kpl"))
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
		f.Add(b[4:len(b)-16], false)
	}
	f.Add([]byte("plain"), true)
	f.Add(aggregation.Magic[:], true)
	f.Add([]byte{0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00}, false)
	f.Fuzz(func(t *testing.T, in []byte, raw bool) {
		data := in
		if !raw {
			data = frame(in)
		}
		got, err := consumer.Deaggregate(data, "outer")
		if err != nil {
			var fe *consumer.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if fe.Offset < 0 || fe.Offset > len(data) {
				t.Fatalf("error offset %d outside the %d-byte input", fe.Offset, len(data))
			}
			if ref, rerr := kplref.Decode(data); rerr == nil && !errors.Is(err, consumer.ErrMalformed) {
				// The protobuf runtime treats a known field with the wrong
				// wire type as unknown; that is the only leniency allowed.
				t.Fatalf("rejected with %v, but the protobuf runtime reads %d records", err, len(ref))
			}
			return
		}
		if !consumer.IsAggregated(data) {
			if len(got) != 1 || !bytes.Equal(got[0].Data, data) || got[0].Aggregated {
				t.Fatalf("plain record read as %+v", got)
			}
			return
		}
		if len(got) > len(data)/6 {
			t.Fatalf("%d user records from %d bytes", len(got), len(data))
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
		for i, u := range got {
			if u.SubSequenceNumber != uint64(i) || !u.Aggregated {
				t.Fatalf("user record %d: %+v", i, u)
			}
			if len(u.Data) > 0 {
				p := uintptr(unsafe.Pointer(unsafe.SliceData(u.Data)))
				if p < lo || p+uintptr(len(u.Data)) > lo+uintptr(len(data)) {
					t.Fatalf("user record %d: data outside the input", i)
				}
			}
		}
		ref, err := kplref.Decode(data)
		if err != nil {
			t.Fatalf("read %d records, but the protobuf runtime fails: %v", len(got), err)
		}
		assertRecords(t, got, ref)

		var a aggregation.Aggregator
		for _, u := range got {
			a.Add(u.PartitionKey, u.ExplicitHashKey, u.Data, aggregation.ConvertTags[aggregation.Tag](u.Tags))
		}
		again, err := consumer.Deaggregate(a.AppendTo(nil), "outer")
		if err != nil {
			t.Fatalf("re-encoded records fail: %v", err)
		}
		assertRecords(t, again, ref)
	})
}
