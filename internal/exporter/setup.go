package exporter

import (
	"context"
	"fmt"
	"sync"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/otlpwire"
)

// Start resolves the configuration of an exporter of signal from opts and the environment
// and builds its Core.
func Start(ctx context.Context, signal config.Signal, opts []*config.Option) (*Core, error) {
	cfg, err := config.Load(signal, opts)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// WireEncoding is the configured encoding, which is the encoders' setting.
func (c *Core) WireEncoding() otlpwire.Encoding { return c.cfg.Encoding }

// WirePartitioning is the encoders' setting for the configured partitioning (trace_id,
// resource or random; a caller's key function is set by each exporter).
func (c *Core) WirePartitioning() otlpwire.Partitioning {
	switch c.cfg.PartitionBy {
	case config.PartitionByResource:
		return otlpwire.PartitionByResource
	case config.PartitionByRandom:
		return otlpwire.PartitionRandom
	}
	return otlpwire.PartitionByTraceID
}

// Pool holds reusable encoders of one kind: an encoder keeps scratch buffers between
// batches and is not safe for concurrent use, so concurrent exports each take their own.
type Pool[E any] struct{ p sync.Pool }

// NewPool checks that newEncoder accepts its configuration and returns a pool of the
// encoders it makes. On error it shuts c down, so that a failed exporter construction
// leaves no producer running.
func NewPool[E any](ctx context.Context, c *Core, newEncoder func() (E, error)) (*Pool[E], error) {
	first, err := newEncoder()
	if err != nil {
		_ = c.Shutdown(ctx)
		return nil, fmt.Errorf("otelkinesis: %s exporter: %w", c.signal, err)
	}
	p := &Pool[E]{}
	p.p.New = func() any {
		e, _ := newEncoder() // accepted above: the configuration does not change
		return e
	}
	p.p.Put(first)
	return p, nil
}

// Get takes an encoder from the pool.
func (p *Pool[E]) Get() E { return p.p.Get().(E) }

// Put returns an encoder to the pool.
func (p *Pool[E]) Put(e E) { p.p.Put(e) }
