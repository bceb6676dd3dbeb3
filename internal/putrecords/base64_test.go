package putrecords

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestEncodeBase64 compares encodeBase64 with the standard library on every length up
// to a few rounds past the fast loop's, with bytes covering every 12-bit group.
func TestEncodeBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 300)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	for n := range len(src) + 1 {
		want := base64.StdEncoding.AppendEncode(nil, src[:n])
		got := make([]byte, base64.StdEncoding.EncodedLen(n))
		encodeBase64(got, src[:n])
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %q, want %q", n, got, want)
		}
	}
	// Every 12-bit value, in both halves of a 24-bit group.
	all := make([]byte, 0, 3<<12)
	for v := range 1 << 12 {
		all = append(all, byte(v>>4), byte(v<<4|v>>8), byte(v))
	}
	got := make([]byte, base64.StdEncoding.EncodedLen(len(all)))
	encodeBase64(got, all)
	if want := base64.StdEncoding.AppendEncode(nil, all); !bytes.Equal(got, want) {
		t.Fatal("every 12-bit group: differs from encoding/base64")
	}
}

// FuzzEncodeBase64 checks encodeBase64 against the standard library.
func FuzzEncodeBase64(f *testing.F) {
	f.Add([]byte("any carnal pleasure, any carnal pleasure."))
	f.Fuzz(func(t *testing.T, src []byte) {
		got := make([]byte, base64.StdEncoding.EncodedLen(len(src)))
		encodeBase64(got, src)
		if want := base64.StdEncoding.AppendEncode(nil, src); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// BenchmarkBase64 compares encodeBase64 with the standard library on a 45 KB
// aggregate, the size the producer sends by default.
func BenchmarkBase64(b *testing.B) {
	src := make([]byte, 45000)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]byte, base64.StdEncoding.EncodedLen(len(src)))
	b.Run("impl=encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.StdEncoding.Encode(dst, src)
		}
	})
	b.Run("impl=putrecords", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			encodeBase64(dst, src)
		}
	})
}
