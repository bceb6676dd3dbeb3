package exporter

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/otelkinesis/otelkinesis/internal/config"
)

// TestCompressorsRoundTrip: what each compressor writes decompresses, with the standard
// readers, to exactly its input, also when many goroutines share one compressor and its
// pooled buffers.
func TestCompressorsRoundTrip(t *testing.T) {
	zr, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	decode := map[config.Compression]func([]byte) ([]byte, error){
		config.CompressionGzip: func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		},
		config.CompressionZstd: func(b []byte) ([]byte, error) { return zr.DecodeAll(b, nil) },
	}
	for comp, dec := range decode {
		t.Run(string(comp), func(t *testing.T) {
			c, err := newCompressor(comp)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						in := []byte(strings.Repeat(string(rune('a'+g)), i*97) + "end")
						buf := c.compress(in)
						out, err := dec(buf.b)
						c.release(buf)
						if err != nil || !bytes.Equal(out, in) {
							t.Errorf("%s: round trip of %d bytes: %v", comp, len(in), err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
	if c, err := newCompressor(config.CompressionNone); c != nil || err != nil {
		t.Errorf("none: %v, %v", c, err)
	}
	if _, err := newCompressor("lz4"); err == nil || !strings.Contains(err.Error(), "lz4") {
		t.Errorf("lz4: %v", err)
	}
}

// TestCheckPartitionKey: keys of 1 to 256 characters pass; others fall back.
func TestCheckPartitionKey(t *testing.T) {
	for key, want := range map[string]string{
		"k":                           "k",
		strings.Repeat("é", 256):      strings.Repeat("é", 256),
		"":                            "fallback",
		strings.Repeat("k", 257):      "fallback",
		strings.Repeat("\u65e5", 257): "fallback",
		strings.Repeat("😀", 128):      strings.Repeat("😀", 128),
		strings.Repeat("😀", 129):      "fallback", // 129 runes, 258 UTF-16 code units
		"bad\xffutf8":                 "fallback",
	} {
		if got := CheckPartitionKey(key, "fallback"); got != want {
			t.Errorf("CheckPartitionKey(%d runes) = %.20q, want %.20q", len([]rune(key)), got, want)
		}
	}
}
