package otelkinesis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/exporter"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/propagation"
)

// Producer is one stream's producer, shareable by the trace, metric and log exporters
// writing that stream (pass it with [WithProducer]): one producer per stream, so the
// shards' write capacity is budgeted once. It aggregates user records per shard in the
// KPL format, batches PutRecords requests, limits the rate per shard and retries what
// fails. Whoever creates it shuts it down.
type Producer struct {
	p        *kpl.Producer
	shutdown atomic.Bool // Shutdown was called: WithProducer refuses the producer
}

// NewProducer creates a producer from the stream, AWS and producer options (and the
// OTEL_EXPORTER_KINESIS_* environment, in its shared forms: the signal-specific ones are
// the exporters'). It takes [Option]s only: the exporters' own options ([ExporterOption],
// those of packages trace, metric and log) do not apply to it, and do not compile here. It
// checks that the stream exists and reads its shard map. With self-observability on
// ([WithMeterProvider], or OTEL_GO_X_OBSERVABILITY=true) it reports its
// otelkinesis.producer.* metrics under its own otel.component.name; the exporters sharing
// it count their items exported when it takes them, and what becomes of those is in its
// metrics (items.delivered and items.dropped), since one of its aggregates can mix several
// exporters' items.
func NewProducer(ctx context.Context, opts ...Option) (*Producer, error) {
	cfg, err := config.Load("", config.ProducerOptions(opts))
	if err != nil {
		return nil, err
	}
	p, err := cfg.NewProducer(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.Prefix(""), err)
	}
	return &Producer{p: p}, nil
}

// Tag is a key/value tag of a user record: propagation.Tag, the module's one tag
// type. Tags travel with the record inside its KPL aggregated record, and standard
// deaggregators ignore them; the consumer package's deaggregator returns them
// (consumer.Tag is the same type). The trace context carrier of package propagation
// puts context in them (propagation.Producer.InjectTags).
type Tag = propagation.Tag

// Put hands one user record to the producer, as the exporters do with telemetry: the
// producer aggregates it with other user records bound for the same shard into KPL
// aggregated records (so its tags travel with it), batches those into PutRecords
// requests, limits the rate per shard and retries what fails. partitionKey routes the
// record and is what consumers see as its key; a non-empty explicitHashKey routes it
// instead. With WithAggregation(false) each user record is sent as a plain Kinesis
// record, and its tags are not sent.
//
// data is copied before Put returns, so the caller may reuse its buffer. The key and tag
// strings are kept until the record is sent: they must not be built over memory the
// caller reuses. While the producer's backlog is full (WithBacklogCount,
// WithBacklogBytes) Put blocks until there is room or ctx ends; the error then wraps
// ctx.Err().
//
// Put returns an error, and the producer keeps nothing, when the producer is shut down
// (ErrShutdown), the partition key or explicit hash key is one Kinesis would refuse
// (ErrInvalidRecord) or the record cannot fit in one Kinesis record
// (ErrRecordTooLarge). Once Put returned nil, the record ends delivered or dropped: a
// drop (retries exhausted, a permanent error, a shutdown cut short) is passed to
// otel.Handle, returned by the next Flush or Shutdown and, with self-observability on,
// counted in otelkinesis.producer.user_records.dropped by error.type.
func (p *Producer) Put(ctx context.Context, partitionKey, explicitHashKey string, data []byte, tags []Tag) error {
	err := p.p.Put(ctx, partitionKey, explicitHashKey, data, aggregation.ConvertTags[aggregation.Tag](tags))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kpl.ErrShutdown):
		return fmt.Errorf("otelkinesis: put: %w", exporter.ProducerShutdown(err))
	}
	return fmt.Errorf("otelkinesis: put: %w", err)
}

// Flush sends everything buffered and returns when every record put before it is
// delivered or dropped, or ctx ends. Safe to call concurrently with anything.
func (p *Producer) Flush(ctx context.Context) error { return p.p.Flush(ctx) }

// Shutdown flushes, stops the producer's goroutines and makes later puts fail; an
// exporter given the producer afterwards (WithProducer) is refused. It is idempotent. If
// ctx ends first, what is still held is dropped, counted and reported.
func (p *Producer) Shutdown(ctx context.Context) error {
	p.shutdown.Store(true)
	return p.p.Shutdown(ctx)
}

// ErrShutdown is wrapped by the error of telemetry exported after its exporter (or the
// producer it shares) was shut down, and by Put's error after the producer's Shutdown;
// test for it with errors.Is. The trace exporter's ExportSpans returns it after Shutdown;
// the metric and log exporters return the SDK's ErrExporterShutdown after their own
// Shutdown, and ErrShutdown when a shared producer was shut down under them.
var ErrShutdown = kpl.ErrShutdown

// Errors wrapped by Put's error, for errors.Is.
var (
	// ErrInvalidRecord reports a partition key or explicit hash key Kinesis would refuse:
	// an empty key, one over 256 characters or not valid UTF-8, a hash key that is not a
	// decimal number below 2^128.
	ErrInvalidRecord = kpl.ErrInvalidRecord
	// ErrRecordTooLarge reports a user record that cannot fit in one Kinesis record of the
	// stream; the error names its size and the limit.
	ErrRecordTooLarge = kpl.ErrRecordTooLarge
)
