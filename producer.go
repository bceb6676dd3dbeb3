package otelkinesis

import (
	"context"
	"fmt"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// Producer is one stream's producer, shareable by the trace, metric and log exporters
// writing that stream (pass it with [WithProducer]): one producer per stream, so the
// shards' write capacity is budgeted once. It aggregates user records per shard in the
// KPL format, batches PutRecords requests, limits the rate per shard and retries what
// fails. Whoever creates it shuts it down.
type Producer struct {
	p *kpl.Producer
}

// NewProducer creates a producer from the stream, AWS and producer options (and the
// OTEL_EXPORTER_KINESIS_* environment). It checks that the stream exists and reads its
// shard map.
func NewProducer(ctx context.Context, opts ...Option) (*Producer, error) {
	cfg, err := config.Load("", opts...)
	if err != nil {
		return nil, err
	}
	// What the producer gives up on is counted in otelkinesis.exporter.dropped, without a
	// signal: its aggregates can mix the exporters' records.
	cfg.Producer.OnDrop = exporter.DropCounter(cfg.Producer.MeterProvider)
	p, err := cfg.NewProducer(ctx)
	if err != nil {
		return nil, fmt.Errorf("otelkinesis: producer: %w", err)
	}
	return &Producer{p: p}, nil
}

// Flush sends everything buffered and returns when every record put before it is
// delivered or dropped, or ctx ends. Safe to call concurrently with anything.
func (p *Producer) Flush(ctx context.Context) error { return p.p.Flush(ctx) }

// Shutdown flushes, stops the producer's goroutines and makes later puts fail. It is
// idempotent. If ctx ends first, what is still held is dropped, counted and reported.
func (p *Producer) Shutdown(ctx context.Context) error { return p.p.Shutdown(ctx) }

// ErrShutdown is returned when telemetry is exported after its exporter (or the producer
// it shares) was shut down. The trace exporter returns it from ExportSpans; the metric
// and log exporters return the SDK's ErrExporterShutdown after their own Shutdown, and
// ErrShutdown when a shared producer was shut down under them.
var ErrShutdown = exporter.ErrShutdown
