// Package exporter is the part of the trace, metric and log exporters that does not depend
// on the signal: it turns encoded OTLP requests into tagged, optionally compressed user
// records, hands them to the producer (its own, or one shared with the other exporters of
// the stream), and accounts for everything it cannot deliver: the items it drops before
// the producer (too large, not accepted, unsupported) and, through the OnDrop hook of a
// producer it creates, those the producer drops after taking them (retries exhausted, a
// permanent error, a shutdown cut short) are counted in otelkinesis.exporter.dropped by
// signal and reason. A shared producer's creator counts its drops with DropCounter.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelkinesis/otelkinesis/internal/config"
	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/recordtag"
)

// ErrShutdown is returned by Put after Shutdown.
var ErrShutdown = errors.New("otelkinesis: exporter is shut down")

// producerShutdown is what Put returns when the producer was shut down: ErrShutdown for
// errors.Is, worded to follow a message that already says it is otelkinesis's, and
// wrapping the producer's error.
type producerShutdown struct{ cause error }

func (e producerShutdown) Error() string        { return "the producer is shut down" }
func (e producerShutdown) Is(target error) bool { return target == ErrShutdown }
func (e producerShutdown) Unwrap() error        { return e.cause }

// ProducerShutdown returns the error of a put refused with cause, kpl.ErrShutdown: it is
// ErrShutdown and cause for errors.Is, and says "the producer is shut down".
func ProducerShutdown(cause error) error { return producerShutdown{cause} }

// longestKey is the partition key the record size budget is computed for: 256 UTF-16
// code units of 3 UTF-8 bytes each, the most bytes a Kinesis partition key can take, so
// any valid key fits the budget.
var longestKey = strings.Repeat("\u65e5", kpl.MaxPartitionKeyLen)

// Core is the signal-independent half of an exporter. It is safe for concurrent use.
type Core struct {
	cfg      config.Config
	signal   string
	producer *kpl.Producer
	owned    bool // the Core created the producer and shuts it down
	tags     []kpl.Tag
	maxData  int // most encoded bytes per user record before compression
	comp     compressor

	stopped  atomic.Bool
	shutOnce sync.Once
	shutErr  error

	dropped   metric.Int64Counter
	dropAttrs map[kpl.DropReason]metric.AddOption // by the reasons of the producer's drops
}

// New builds a Core for cfg: it creates the Kinesis client and the producer, unless
// cfg.SharedProducer is set, in which case it uses that one and leaves it running on
// Shutdown.
func New(ctx context.Context, cfg config.Config) (*Core, error) {
	c := &Core{cfg: cfg, signal: signalName(cfg.Signal)}
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

	mp := cfg.Producer.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	c.dropped, err = droppedCounter(mp)
	if err != nil {
		otel.Handle(fmt.Errorf("otelkinesis: %s exporter: dropped counter: %w", c.signal, err))
	}
	c.dropAttrs = make(map[kpl.DropReason]metric.AddOption, len(producerDropReasons))
	for _, r := range producerDropReasons {
		c.dropAttrs[r] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("signal", c.signal), attribute.String("reason", string(r))))
	}

	if cfg.SharedProducer != nil {
		// Whoever created a shared producer counts its drops, with DropCounter as its
		// OnDrop: without a signal, since one aggregate may hold several signals.
		c.producer = cfg.SharedProducer
	} else {
		pcfg := cfg
		pcfg.Producer.OnDrop = chainOnDrop(c.producerDropped, cfg.Producer.OnDrop)
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
	return c, nil
}

func signalName(s config.Signal) string {
	switch s {
	case config.Metrics:
		return recordtag.SignalMetrics
	case config.Logs:
		return recordtag.SignalLogs
	default:
		return recordtag.SignalTraces
	}
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
	if c.stopped.Load() {
		return ErrShutdown
	}
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

// Drop reasons, as the reason attribute of otelkinesis.exporter.dropped. The first three
// are the exporter's own, for items that never reached the producer; the export call
// that dropped them also returns an error naming them. The last three are the producer's
// (kpl.DropReason), for items in user records the producer took and then gave up on; they
// are reported through otel.Handle and the next ForceFlush or Shutdown.
const (
	// ReasonTooLarge: one item alone is larger than a user record may be.
	ReasonTooLarge = "too_large"
	// ReasonNotAccepted: the producer did not take the record (shut down, backlog full
	// until the export's context ended).
	ReasonNotAccepted = "not_accepted"
	// ReasonUnsupported: OTLP has no message for the data.
	ReasonUnsupported = "unsupported"
	// ReasonRetriesExhausted: every attempt to send the record failed with an error worth
	// retrying (kpl.DropRetriesExhausted).
	ReasonRetriesExhausted = string(kpl.DropRetriesExhausted)
	// ReasonPermanentError: Kinesis refused the record with an error sending again cannot
	// fix, such as a missing stream or denied access (kpl.DropPermanent).
	ReasonPermanentError = string(kpl.DropPermanent)
	// ReasonShutdown: the producer's Shutdown ended, by its context, before the record was
	// delivered (kpl.DropShutdown).
	ReasonShutdown = string(kpl.DropShutdown)
)

// producerDropReasons are the reasons of the producer's drops.
var producerDropReasons = []kpl.DropReason{kpl.DropRetriesExhausted, kpl.DropPermanent, kpl.DropShutdown}

// droppedName is the name of the counter of dropped telemetry items.
const droppedName = "otelkinesis.exporter.dropped"

// droppedCounter creates the otelkinesis.exporter.dropped counter of mp. The exporters and
// a shared producer's DropCounter create the same instrument, so one series per
// attribute set adds up every drop of a stream.
func droppedCounter(mp metric.MeterProvider) (metric.Int64Counter, error) {
	return mp.Meter("github.com/otelkinesis/otelkinesis").Int64Counter(droppedName,
		metric.WithDescription("Telemetry items (spans, data points, log records) dropped, by reason: "+
			"by an exporter before they reached the producer (too_large, not_accepted, unsupported), "+
			"or by the producer after it took them (retries_exhausted, permanent_error, shutdown)"),
		metric.WithUnit("{item}"))
}

// CountDropped adds n items (spans, data points or log records) that were not exported to
// the otelkinesis.exporter.dropped counter, with the signal and reason as attributes. The
// exporter also returns an error naming them, which the SDK's processors and readers pass
// to otel.Handle.
func (c *Core) CountDropped(ctx context.Context, n int, reason string) {
	if n > 0 && c.dropped != nil {
		c.dropped.Add(context.WithoutCancel(ctx), int64(n), metric.WithAttributes(
			attribute.String("signal", c.signal), attribute.String("reason", reason)))
	}
}

// producerDropped is the OnDrop hook of a producer the Core created: it counts the items
// (kpl.DropError.Items: the spans, data points or log records the user records held) of
// user records the producer gave up on after taking them, with the signal and the
// producer's reason. The producer calls it from its own goroutines without holding its
// lock; it only adds to a counter and never calls back into the producer.
func (c *Core) producerDropped(records int, _ int64, reason error) {
	if c.dropped == nil {
		return
	}
	n, r := dropItems(records, reason)
	opt, ok := c.dropAttrs[r]
	if !ok {
		opt = metric.WithAttributes(attribute.String("signal", c.signal), attribute.String("reason", string(r)))
	}
	if n > 0 {
		c.dropped.Add(context.Background(), n, opt)
	}
}

// dropItems returns the items and the reason of a drop reported to OnDrop, from its
// *kpl.DropError. The producer always reports one; an error of another kind counts its
// records as items, under the reason "unknown".
func dropItems(records int, reason error) (int64, kpl.DropReason) {
	var de *kpl.DropError
	if errors.As(reason, &de) {
		return de.Items, de.Reason
	}
	return int64(records), "unknown"
}

// chainOnDrop returns an OnDrop hook calling first and then next, if next is set.
func chainOnDrop(first, next func(records int, bytes int64, reason error)) func(records int, bytes int64, reason error) {
	if next == nil {
		return first
	}
	return func(records int, bytes int64, reason error) {
		first(records, bytes, reason)
		next(records, bytes, reason)
	}
}

// DropCounter returns an OnDrop hook (kpl.Config.OnDrop) for a producer shared by several
// exporters (otelkinesis.NewProducer): it counts the items of the user records the
// producer gives up on in otelkinesis.exporter.dropped of mp (nil: the global
// MeterProvider), with the producer's reason and no signal attribute, since one aggregate
// of a shared producer can hold spans, data points and log records together. Like the
// exporters' own hook, it only adds to a counter. An exporter handed a shared producer
// counts only what never reached it.
func DropCounter(mp metric.MeterProvider) func(records int, bytes int64, reason error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	counter, err := droppedCounter(mp)
	if err != nil {
		otel.Handle(fmt.Errorf("otelkinesis: producer: dropped counter: %w", err))
		return func(int, int64, error) {}
	}
	opts := make(map[kpl.DropReason]metric.AddOption, len(producerDropReasons))
	for _, r := range producerDropReasons {
		opts[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(r))))
	}
	return func(records int, _ int64, reason error) {
		n, r := dropItems(records, reason)
		opt, ok := opts[r]
		if !ok {
			opt = metric.WithAttributes(attribute.String("reason", string(r)))
		}
		if n > 0 {
			counter.Add(context.Background(), n, opt)
		}
	}
}

// Emit returns the function the encoders hand each encoded user record to: it puts the
// record to the producer within ctx, with the item count items reports for it (the
// encoder's RecordSpans, RecordDataPoints or RecordLogs).
func (c *Core) Emit(ctx context.Context, items func() int) func(partitionKey string, data []byte) error {
	return func(partitionKey string, data []byte) error { return c.Put(ctx, partitionKey, data, items()) }
}

// Outcome is what one export call's encoding did, in items of the signal (spans, data
// points, log records).
type Outcome struct {
	// Items is how many items the export was given.
	Items int
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

// Finish counts what an export call dropped and returns the error the exporter reports:
// each item too large named, and the items the producer did not take counted, with the
// cause. unit names one item in messages ("span").
func (c *Core) Finish(ctx context.Context, o Outcome, unit string) error {
	var errs []error
	if n := len(o.TooLarge); n > 0 {
		c.CountDropped(ctx, n, ReasonTooLarge)
		errs = append(errs, o.TooLarge...)
	}
	if n := len(o.Unsupported); n > 0 {
		c.CountDropped(ctx, n, ReasonUnsupported)
		errs = append(errs, o.Unsupported...)
	}
	if o.Err != nil {
		n := o.Items - o.Handed - len(o.TooLarge) - len(o.Unsupported)
		c.CountDropped(ctx, n, ReasonNotAccepted)
		errs = append(errs, fmt.Errorf("otelkinesis: %s exporter: %d of %s not exported: %w", c.signal, n, plural.Count(o.Items, unit), o.Err))
	}
	return errors.Join(errs...)
}

var badKeyOnce sync.Once

// CheckPartitionKey returns key if Kinesis accepts it as a partition key (valid UTF-8, 1
// to 256 characters counted in UTF-16 code units) and fallback otherwise, reporting the first refused key through
// otel.Handle. Caller-supplied partition functions go through it, so that one bad key
// costs neither its records nor the rest of the batch.
func CheckPartitionKey(key, fallback string) string {
	n := kpl.PartitionKeyLen(key)
	if n >= 1 && n <= kpl.MaxPartitionKeyLen && utf8.ValidString(key) {
		return key
	}
	badKeyOnce.Do(func() {
		otel.Handle(fmt.Errorf("otelkinesis: partition key function returned a key of %s (allowed 1 to %d, valid UTF-8); using %q instead (reported once)",
			plural.Count(n, "character"), kpl.MaxPartitionKeyLen, fallback))
	})
	return fallback
}

// Signal returns the signal name as the tags write it: traces, metrics or logs.
func (c *Core) Signal() string { return c.signal }

// Tags returns the tags every user record of this exporter carries.
func (c *Core) Tags() []kpl.Tag { return c.tags }

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
		} else {
			c.shutErr = c.producer.Flush(ctx)
		}
		if c.comp != nil {
			c.comp.close()
		}
	})
	return c.shutErr
}
