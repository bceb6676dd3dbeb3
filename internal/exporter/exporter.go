// Package exporter is the part of the trace, metric and log exporters that does not depend
// on the signal: it turns encoded OTLP requests into tagged, optionally compressed user
// records, hands them to the producer (its own, or one shared with the other exporters of
// the stream), and accounts for every item: when self-observability is on (see package
// selfobs), the SDK exporter metrics count the items delivered, those it drops before the
// producer (too large, not accepted, unsupported) and, through a HookDropped hook on a
// producer it creates, those the producer drops after taking them (retries exhausted, a
// permanent error, a shutdown cut short), by error.type (see observer).
package exporter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/recordtag"
	"github.com/otelkinesis/otelkinesis/internal/selfobs"
)

// ErrStopped is returned by Put after Shutdown, and by the exporters' own export calls
// then: "otelkinesis: exporter is shut down", wrapping kpl.ErrShutdown (which
// otelkinesis.ErrShutdown is).
var ErrStopped = fmt.Errorf("otelkinesis: exporter is %w", kpl.ErrShutdown)

// producerShutdown is what Put returns when the producer was shut down: kpl.ErrShutdown
// for errors.Is, worded to follow a message that already says it is otelkinesis's, and
// wrapping the producer's error.
type producerShutdown struct{ cause error }

func (e producerShutdown) Error() string        { return "the producer is shut down" }
func (e producerShutdown) Is(target error) bool { return target == kpl.ErrShutdown }
func (e producerShutdown) Unwrap() error        { return e.cause }

// ProducerShutdown returns the error of a put refused with cause, kpl.ErrShutdown: it is
// kpl.ErrShutdown (so otelkinesis.ErrShutdown) and cause for errors.Is, and says "the
// producer is shut down".
func ProducerShutdown(cause error) error { return producerShutdown{cause} }

// longestKey is the partition key the record size budget is computed for: 256 UTF-16
// code units of 3 UTF-8 bytes each, the most bytes a Kinesis partition key can take, so
// any valid key fits the budget.
var longestKey = strings.Repeat("\u65e5", aggregation.MaxPartitionKeyLen)

// Core is the signal-independent half of an exporter. It is safe for concurrent use.
type Core struct {
	cfg      config.Config
	signal   string
	producer *kpl.Producer
	owned    bool // the Core created the producer and shuts it down
	tags     []aggregation.Tag
	maxData  int // most encoded bytes per user record before compression
	comp     compressor

	stopped  atomic.Bool
	shutOnce sync.Once
	shutErr  error

	obs *observer // nil: self-observability off
}

// New builds a Core for cfg: it creates the Kinesis client and the producer, unless
// cfg.SharedProducer is set, in which case it uses that one and leaves it running on
// Shutdown.
func New(ctx context.Context, cfg config.Config) (*Core, error) {
	c := &Core{cfg: cfg, signal: cfg.Signal}
	desc := recordtag.Description{Signal: c.signal, ContentType: recordtag.ContentTypeProtobuf}
	if cfg.Encoding == config.EncodingJSON {
		desc.ContentType = recordtag.ContentTypeJSON
	}
	switch cfg.Compression {
	case config.CompressionGzip:
		desc.ContentEncoding = recordtag.EncodingGzip
	case config.CompressionZstd:
		desc.ContentEncoding = recordtag.EncodingZstd
	}
	c.tags = desc.Tags()
	comp, err := newCompressor(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.Prefix(cfg.Signal), err)
	}
	c.comp = comp

	// The name is taken whether or not the metrics are on, as the SDK's exporters do.
	name := selfobs.NextName(componentType(cfg.Signal))
	mp, observe := selfobs.Provider(cfg.Producer.MeterProvider)
	if observe {
		c.obs = newObserver(cfg.SharedProducer != nil)
	}

	if cfg.SharedProducer != nil {
		// A shared producer reports what becomes of the records in its own metrics: one
		// aggregate may hold several exporters' items.
		c.producer = cfg.SharedProducer
	} else {
		pcfg := cfg
		// The Core's hook first, then the configuration's, on a slice of its own.
		pcfg.Producer.Hooks = append([]kpl.Hook{producerDropped{c}}, cfg.Producer.Hooks...)
		p, err := pcfg.NewProducer(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.Prefix(cfg.Signal), err)
		}
		c.producer, c.owned = p, true
	}

	// The budget for encoded bytes: what the producer takes for the longest possible key,
	// less room for the few bytes compression adds to data it cannot shrink.
	limit := c.producer.MaxDataSize(longestKey, "", c.tags)
	if cfg.Compression != config.CompressionNone {
		limit -= limit/100 + 1024
	}
	if limit < 1024 {
		if c.owned {
			_ = c.producer.Shutdown(ctx) // a failed construction leaves no producer running
		}
		return nil, fmt.Errorf("otelkinesis: %s exporter: the stream's record limit leaves only %s per user record", c.signal, plural.Count(limit, "byte"))
	}
	c.maxData = limit
	if c.obs != nil {
		c.obs.start(mp, cfg.Signal, name, c.producer)
	}
	return c, nil
}

// Config returns the resolved configuration.
func (c *Core) Config() config.Config { return c.cfg }

// MaxRecordData is the most encoded bytes one user record may hold before compression: the
// encoders split their output to fit.
func (c *Core) MaxRecordData() int { return c.maxData }

// Stopped reports whether Shutdown was called.
func (c *Core) Stopped() bool { return c.stopped.Load() }

// Put compresses data as configured and hands it to the producer under partitionKey with
// the signal's tags, as a user record holding items spans, data points or log records (so
// that a later drop is reported in those units). data may be reused once Put returns.
func (c *Core) Put(ctx context.Context, partitionKey string, data []byte, items int) error {
	return c.hand(ctx, Op{}, partitionKey, data, items)
}

// hand is Put for the export call op (none for a zero Op): the items it hands over leave
// the call's share of the items in flight for the producer's.
func (c *Core) hand(ctx context.Context, op Op, partitionKey string, data []byte, items int) error {
	if c.stopped.Load() {
		return ErrStopped
	}
	o := c.obs
	if o == nil {
		return c.put(ctx, partitionKey, data, items)
	}
	n := int64(items)
	// The own producer's items are counted as handed over before it can deliver them, so
	// that what it holds is never counted below what it delivered; it counts a record of
	// no item as one. A shared producer's are exported once it took them.
	held := int64(max(items, 1))
	if !o.shared {
		o.handed.Add(held)
		if op.handed != nil {
			o.ended.Add(n)
		}
	}
	err := c.put(ctx, partitionKey, data, items)
	switch {
	case o.shared && err == nil:
		o.accepted.Add(n)
		if op.handed != nil {
			o.ended.Add(n)
		}
	case !o.shared && err != nil:
		o.handed.Add(-held)
		if op.handed != nil {
			o.ended.Add(-n)
		}
	}
	if err == nil && op.handed != nil {
		*op.handed += items
	}
	return err
}

func (c *Core) put(ctx context.Context, partitionKey string, data []byte, items int) error {
	var err error
	if c.comp == nil {
		err = c.producer.PutItems(ctx, partitionKey, "", data, c.tags, items)
	} else {
		buf := c.comp.compress(data)
		err = c.producer.PutItems(ctx, partitionKey, "", buf.b, c.tags, items)
		c.comp.release(buf)
	}
	if errors.Is(err, kpl.ErrShutdown) {
		// Shutdown raced with this export, or a shared producer's owner shut it down.
		return ProducerShutdown(err)
	}
	return err
}

// Drop reasons, the error.type of the items otel.sdk.exporter.*.exported counts as failed.
// The first three are the exporter's own, for items that never reached the producer; the
// export call that dropped them also returns an error naming them. The others are the
// producer's (kpl.DropReason), for items in user records the producer took and then gave
// up on; they are reported through otel.Handle and the next ForceFlush or Shutdown.
const (
	// ReasonTooLarge: one item alone is larger than a user record may be.
	ReasonTooLarge = "too_large"
	// ReasonNotAccepted: the producer did not take the record (shut down, backlog full
	// until the export's context ended), or the export's context had ended before.
	ReasonNotAccepted = "not_accepted"
	// ReasonUnsupported: OTLP has no message for the data.
	ReasonUnsupported = "unsupported"
	// ReasonRetriesExhausted: max_retries+1 attempts were answered by Kinesis with an error
	// worth retrying (kpl.DropRetriesExhausted).
	ReasonRetriesExhausted = string(kpl.DropRetriesExhausted)
	// ReasonPermanentError: Kinesis refused the record with an error sending again cannot
	// fix, such as a missing stream or denied access (kpl.DropPermanent).
	ReasonPermanentError = string(kpl.DropPermanent)
	// ReasonShutdown: the producer's Shutdown ended, by its context, before the record was
	// delivered (kpl.DropShutdown).
	ReasonShutdown = string(kpl.DropShutdown)
	// ReasonExpired: the record was not delivered within the delivery budget
	// (record_ttl) of the export call that handed it over (kpl.DropExpired).
	ReasonExpired = string(kpl.DropExpired)
)

// producerDropped is the kpl.HookDropped of a producer the Core created: it counts the
// items (kpl.DropError.Items: the spans, data points or log records the user records
// held) of user records the producer gave up on after taking them as failed, with the
// producer's reason as error.type. The producer calls it from its own goroutines without
// holding its lock; it only adds to a counter and never calls back into the producer.
type producerDropped struct{ c *Core }

// OnDropped counts d's items as failed, under d's reason.
func (h producerDropped) OnDropped(d *kpl.DropError) {
	if h.c.obs == nil {
		return
	}
	h.c.obs.fail(string(d.Reason), d.Items, true)
}

// Emit returns the function the encoders of the export call op hand each encoded user
// record to: it puts the record to the producer within ctx, with the item count items
// reports for it (the encoder's RecordSpans, RecordDataPoints or RecordLogs).
func (c *Core) Emit(ctx context.Context, op Op, items func() int) func(partitionKey string, data []byte) error {
	return func(partitionKey string, data []byte) error { return c.hand(ctx, op, partitionKey, data, items()) }
}

// Op is one export call, from Begin to Finish or Abort. It is used by one goroutine.
type Op struct {
	items  int
	start  time.Time
	handed *int // items handed to the producer so far; nil: self-observability off
}

// Begin starts an export call given items spans, data points or log records: they are in
// flight until the call ends and, for those handed to the producer, until they are
// delivered or dropped.
func (c *Core) Begin(items int) Op {
	if c.obs == nil {
		return Op{items: items}
	}
	c.obs.begun.Add(int64(items))
	return Op{items: items, start: time.Now(), handed: new(int)}
}

// Abort ends an export call that gave nothing to the producer because of err (its context
// ended first): its items are counted as not accepted. It returns err.
func (c *Core) Abort(op Op, err error) error {
	if c.obs != nil && op.handed != nil {
		c.obs.fail(ReasonNotAccepted, int64(op.items), false)
		c.obs.ended.Add(int64(op.items))
		c.obs.record(op.start, ReasonNotAccepted)
	}
	return err
}

// Outcome is what one export call's encoding did, in items of the signal (spans, data
// points, log records).
type Outcome struct {
	// Handed is how many the producer accepted.
	Handed int
	// TooLarge describes each item dropped because it is larger than a user record may be.
	TooLarge []error
	// Unsupported describes data OTLP has no message for (metrics of a type from outside
	// the SDK), left out as the official exporters leave it out; each counts as one item.
	Unsupported []error
	// Err is the error that stopped the encoding (the producer refused a record), if any.
	Err error
}

// Finish ends the export call op, counts what it dropped and returns the error the
// exporter reports: each item too large named, and the items the producer did not take
// counted, with the cause. unit names one item in messages ("span"). The call's
// error.type is the first of not_accepted, too_large and unsupported it dropped items for.
func (c *Core) Finish(op Op, o Outcome, unit string) error {
	var errs []error
	tooLarge, unsupported, notAccepted := len(o.TooLarge), len(o.Unsupported), 0
	errs = append(errs, o.TooLarge...)
	errs = append(errs, o.Unsupported...)
	var errType string
	switch {
	case o.Err != nil:
		errType = ReasonNotAccepted
	case tooLarge > 0:
		errType = ReasonTooLarge
	case unsupported > 0:
		errType = ReasonUnsupported
	}
	if o.Err != nil {
		notAccepted = max(op.items-o.Handed-tooLarge-unsupported, 0)
		errs = append(errs, fmt.Errorf("otelkinesis: %s exporter: %d of %s not exported: %w", c.signal, notAccepted, plural.Count(op.items, unit), o.Err))
	}
	if c.obs != nil && op.handed != nil {
		// The items handed over left the call as they went.
		rest := op.items - *op.handed
		c.obs.fail(ReasonTooLarge, int64(tooLarge), false)
		c.obs.fail(ReasonUnsupported, int64(unsupported), false)
		if o.Err != nil {
			c.obs.fail(ReasonNotAccepted, int64(max(rest-tooLarge-unsupported, 0)), false)
		}
		c.obs.ended.Add(int64(rest))
		c.obs.record(op.start, errType)
	}
	return errors.Join(errs...)
}

var badKeyOnce sync.Once

// CheckPartitionKey returns key if Kinesis accepts it as a partition key (valid UTF-8, 1
// to 256 characters counted in UTF-16 code units) and fallback otherwise, reporting the first refused key through
// otel.Handle. Caller-supplied partition functions go through it, so that one bad key
// costs neither its records nor the rest of the batch.
func CheckPartitionKey(key, fallback string) string {
	if aggregation.CheckPartitionKey(key) == nil {
		return key
	}
	badKeyOnce.Do(func() {
		otel.Handle(fmt.Errorf("otelkinesis: partition key function returned a key of %s (allowed 1 to %d, valid UTF-8); using %q instead (reported once)",
			plural.Count(aggregation.PartitionKeyLen(key), "character"), aggregation.MaxPartitionKeyLen, fallback))
	})
	return fallback
}

// Signal returns the signal name as the tags write it: traces, metrics or logs.
func (c *Core) Signal() string { return c.signal }

// Tags returns the tags every user record of this exporter carries.
func (c *Core) Tags() []aggregation.Tag { return c.tags }

// Flush returns when every record put before it is delivered or dropped, or ctx ends.
func (c *Core) Flush(ctx context.Context) error {
	return c.producer.Flush(ctx)
}

// Shutdown stops Put. A producer the Core created is shut down (flushing what it holds);
// a shared producer is flushed and left running for the other exporters. Later calls
// return the first call's result.
func (c *Core) Shutdown(ctx context.Context) error {
	c.shutOnce.Do(func() {
		c.stopped.Store(true)
		if c.owned {
			c.shutErr = c.producer.Shutdown(ctx)
			if c.obs != nil {
				c.obs.stop()
			}
		} else {
			c.shutErr = c.producer.Flush(ctx)
		}
		if c.comp != nil {
			c.comp.close()
		}
	})
	return c.shutErr
}
