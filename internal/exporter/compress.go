package exporter

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/otelkinesis/otelkinesis/internal/config"
)

// buffer is a pooled output buffer of a compressor.
type buffer struct{ b []byte }

// compressor compresses one user record's data at a time; it is safe for concurrent use.
type compressor interface {
	compress(data []byte) *buffer
	release(*buffer)
	close()
}

func newCompressor(c config.Compression) (compressor, error) {
	switch c {
	case config.CompressionNone, "":
		return nil, nil
	case config.CompressionGzip:
		return &gzipCompressor{}, nil
	case config.CompressionZstd:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		return &zstdCompressor{enc: enc}, nil
	}
	return nil, fmt.Errorf("compression %q: allowed none, gzip or zstd", c)
}

var buffers = sync.Pool{New: func() any { return &buffer{} }}

// gzipCompressor writes gzip at the default level with pooled writers.
type gzipCompressor struct{ writers sync.Pool }

// gzipWriter is a gzip writer that appends to out.
type gzipWriter struct {
	w   *gzip.Writer
	out appendWriter
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func (g *gzipCompressor) compress(data []byte) *buffer {
	gw, _ := g.writers.Get().(*gzipWriter)
	if gw == nil {
		gw = &gzipWriter{}
		gw.w = gzip.NewWriter(&gw.out)
	}
	buf := buffers.Get().(*buffer)
	gw.out.b = buf.b[:0]
	gw.w.Reset(&gw.out)
	_, _ = gw.w.Write(data) // appending cannot fail
	_ = gw.w.Close()
	buf.b, gw.out.b = gw.out.b, nil
	g.writers.Put(gw)
	return buf
}

func (g *gzipCompressor) release(b *buffer) { buffers.Put(b) }
func (g *gzipCompressor) close()            {}

// zstdCompressor uses one encoder's EncodeAll, which is safe for concurrent use.
type zstdCompressor struct{ enc *zstd.Encoder }

func (z *zstdCompressor) compress(data []byte) *buffer {
	buf := buffers.Get().(*buffer)
	buf.b = z.enc.EncodeAll(data, buf.b[:0])
	return buf
}

func (z *zstdCompressor) release(b *buffer) { buffers.Put(b) }
func (z *zstdCompressor) close()            { _ = z.enc.Close() }
