package kpl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelkinesis/otelkinesis/internal/selfobs"
)

// Stats is a snapshot of a producer's counters since New. User record bytes
// count data, keys and tags, as the backlog does.
type Stats struct {
	UserRecordsPut       int64 // user records Put accepted
	UserBytesPut         int64
	UserRecordsDelivered int64 // user records Kinesis stored
	UserBytesDelivered   int64
	// ItemsDelivered is the sum of the item counts (PutItems) of the user
	// records Kinesis stored: the spans, data points or log records they
	// held, one for a user record put with Put.
	ItemsDelivered     int64
	UserRecordsDropped int64 // user records given up on (see DropError)
	UserBytesDropped   int64

	KinesisRecordsSent      int64 // Kinesis records sent, every attempt counted
	KinesisRecordsDelivered int64 // Kinesis records stored
	Requests                int64 // PutRecords requests answered or failed
	RequestsFailed          int64 // requests that failed as a whole
	Retries                 int64 // Kinesis records scheduled to be sent again
	Throttles               int64 // Kinesis records refused for exceeding throughput

	// PossibleDuplicates counts user records sent again after an attempt
	// whose outcome was unknown (timeout, connection lost, server error,
	// an answer that does not match the request): Kinesis may hold them
	// twice. Records of a request the service refused with a 4xx status, or
	// that never connected, are retried without being counted here.
	PossibleDuplicates int64
	// WrongShard counts Kinesis records stored on another shard than the
	// map predicted (the map was stale).
	WrongShard int64
	// WrongShardResends counts user records sent again because their
	// aggregate landed on a shard whose range did not hold all of them (a
	// KCL reader discards such an aggregate; other readers see the user
	// records twice).
	WrongShardResends int64
	// Splits counts aggregates taken apart for new shards.
	Splits int64
	// ShardMapRefreshes counts successful shard map reads.
	ShardMapRefreshes int64

	BufferedRecords int64 // user records held now
	BufferedBytes   int64
	// MemoryBytes is what the producer holds now against BacklogBytes: its
	// aggregates and records, the request bodies they need, and body
	// buffers kept for reuse (see Config.BacklogBytes).
	MemoryBytes int64
	Shards      int  // open shards in the map
	Fallback    bool // no shard map: aggregating only user records of one hash key
}

// Stats returns a snapshot of the producer's counters.
func (p *Producer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statsLocked()
}

func (p *Producer) statsLocked() Stats {
	s := p.st.stats
	s.BufferedRecords = int64(p.st.heldCount)
	s.BufferedBytes = p.st.heldBytes
	s.MemoryBytes = p.st.mem
	s.Fallback = p.st.smap == nil
	if p.st.smap != nil {
		s.Shards = len(p.st.smap.open)
	}
	return s
}

// ServerAttrs returns the server.address and server.port of the endpoint the
// producer's client sends PutRecords to, nil when they cannot be known (a
// client other than aws-sdk-go-v2's).
func (p *Producer) ServerAttrs() []attribute.KeyValue {
	return selfobs.Server(p.client, p.cfg.StreamARN)
}

// meters records the producer's own metrics, when self-observability is on
// for it (Config.MeterProvider set, or OTEL_GO_X_OBSERVABILITY=true; nil
// meters record nothing). Counters and gauges are read from the producer's
// counters by one callback at collection time, which holds the producer's
// lock only to copy them, so Put pays nothing for them; only the request
// latency and aggregation ratio histograms are recorded as they happen,
// outside the lock.
//
// Every series carries the producer's otel.component.name, so two producers
// never add up into one. After Shutdown the series keep their last values
// (memory.limit reads 0), so that a MeterProvider shut down after the
// producer still collects the final counts.
//
// Nothing here calls Put: when a metric exporter sends these metrics through
// this same producer, each collection adds one export's worth of records,
// paced by the reader's interval, and no loop can form.
type meters struct {
	duration metric.Float64Histogram
	ratio    metric.Int64Histogram
	base     []attribute.KeyValue // component, stream and server attributes
	attrs    metric.MeasurementOption

	mu      sync.Mutex
	p       *Producer // nil once shut down: final holds the last values
	final   producerSnapshot
	items   map[DropReason]int64                // telemetry items dropped, by reason
	errOpts map[string]metric.MeasurementOption // base attributes and error.type, by type
}

// producerSnapshot is what the metrics callback reads from the producer.
type producerSnapshot struct {
	Stats
	limit   int64
	retries []codeCount // by error code, sorted
	drops   []dropCount // by reason, sorted
}

type codeCount struct {
	code string
	n    int64
}

type dropCount struct {
	reason         DropReason
	records, bytes int64
}

// metricsSnapshot copies what the metrics report, holding the lock only for
// the copy.
func (p *Producer) metricsSnapshot() producerSnapshot {
	p.mu.Lock()
	s := producerSnapshot{Stats: p.statsLocked(), limit: p.cfg.BacklogBytes}
	s.retries = make([]codeCount, 0, len(p.st.retriesByCode))
	for c, n := range p.st.retriesByCode {
		s.retries = append(s.retries, codeCount{c, n})
	}
	s.drops = make([]dropCount, 0, len(p.st.dropsByReason))
	for r, v := range p.st.dropsByReason {
		s.drops = append(s.drops, dropCount{r, v[0], v[1]})
	}
	p.mu.Unlock()
	slices.SortFunc(s.retries, func(a, b codeCount) int { return strings.Compare(a.code, b.code) })
	slices.SortFunc(s.drops, func(a, b dropCount) int { return strings.Compare(string(a.reason), string(b.reason)) })
	return s
}

// streamName is the stream's name, from the ARN's resource when only that is
// set.
func streamName(c *Config) string {
	if c.StreamName != "" {
		return c.StreamName
	}
	if i := strings.LastIndexByte(c.StreamARN, '/'); i >= 0 {
		return c.StreamARN[i+1:]
	}
	return c.StreamARN
}

// newMeters creates the producer's instruments and registers their callback,
// or returns nil when self-observability is off for p. A failure to create
// them is reported through otel.Handle and does not stop the producer.
func newMeters(p *Producer) (*meters, error) {
	name := selfobs.NextName(selfobs.TypeProducer)
	mp, on := selfobs.Provider(p.cfg.MeterProvider)
	if !on {
		return nil, nil
	}
	m := selfobs.Meter(mp)
	ms := &meters{p: p, items: map[DropReason]int64{}, errOpts: map[string]metric.MeasurementOption{}}
	ms.base = append(selfobs.ComponentAttrs(selfobs.TypeProducer, name), semconv.AWSKinesisStreamName(streamName(&p.cfg)))
	ms.base = append(ms.base, p.ServerAttrs()...)
	ms.attrs = metric.WithAttributeSet(attribute.NewSet(slices.Clone(ms.base)...))

	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	ms.duration, err = m.Float64Histogram("otelkinesis.producer.request.duration",
		metric.WithDescription("Duration of PutRecords requests; error.type is set unless every record was stored."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	check(err)
	ms.ratio, err = m.Int64Histogram("otelkinesis.producer.aggregation.user_records",
		metric.WithDescription("User records per Kinesis record sent (the aggregation ratio)."),
		metric.WithUnit("{record}"),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
	check(err)

	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	userRecords := counter("otelkinesis.producer.user_records", "{record}", "User records accepted by Put.")
	userBytes := counter("otelkinesis.producer.user_records.size", "By", "Bytes of user records accepted by Put (data, keys and tags).")
	delivered := counter("otelkinesis.producer.user_records.delivered", "{record}", "User records stored by Kinesis.")
	dropped := counter("otelkinesis.producer.user_records.dropped", "{record}", "User records given up on, by error.type (the drop reason).")
	droppedBytes := counter("otelkinesis.producer.user_records.dropped.size", "By", "Bytes of user records given up on, by error.type (the drop reason).")
	duplicates := counter("otelkinesis.producer.user_records.possible_duplicates", "{record}", "User records sent again after an attempt with an unknown outcome.")
	itemsDelivered := counter("otelkinesis.producer.items.delivered", "{item}",
		"Telemetry items (spans, data points, log records) in the user records Kinesis stored.")
	itemsDropped := counter("otelkinesis.producer.items.dropped", "{item}",
		"Telemetry items (spans, data points, log records) in the user records given up on, by error.type (the drop reason).")
	kinesisRecords := counter("otelkinesis.producer.kinesis_records", "{record}", "Kinesis records sent, every attempt counted.")
	requests := counter("otelkinesis.producer.requests", "{request}", "PutRecords requests made.")
	retries := counter("otelkinesis.producer.retries", "{record}", "Kinesis records scheduled to be sent again, by error.type (the Kinesis error code).")
	throttles := counter("otelkinesis.producer.throttles", "{record}", "Kinesis records refused for exceeding a shard's or the stream's throughput.")
	buffered := gauge("otelkinesis.producer.buffered.user_records", "{record}", "User records held by the producer.")
	bufferedBytes := gauge("otelkinesis.producer.buffered.size", "By", "Bytes of user records held by the producer.")
	memUsed := gauge("otelkinesis.producer.memory.used", "By",
		"Memory the producer holds against its byte budget: aggregates, records, request bodies and kept buffers.")
	memLimit := gauge("otelkinesis.producer.memory.limit", "By", "The producer's byte budget (backlog_bytes); 0 once it is shut down.")

	cb := func(_ context.Context, o metric.Observer) error {
		ms.mu.Lock()
		src, s := ms.p, ms.final
		items := make([]codeCount, 0, len(ms.items))
		for r, n := range ms.items {
			items = append(items, codeCount{string(r), n})
		}
		ms.mu.Unlock()
		if src != nil {
			s = src.metricsSnapshot()
		}
		slices.SortFunc(items, func(a, b codeCount) int { return strings.Compare(a.code, b.code) })

		o.ObserveInt64(userRecords, s.UserRecordsPut, ms.attrs)
		o.ObserveInt64(userBytes, s.UserBytesPut, ms.attrs)
		o.ObserveInt64(delivered, s.UserRecordsDelivered, ms.attrs)
		o.ObserveInt64(duplicates, s.PossibleDuplicates, ms.attrs)
		o.ObserveInt64(itemsDelivered, s.ItemsDelivered, ms.attrs)
		o.ObserveInt64(kinesisRecords, s.KinesisRecordsSent, ms.attrs)
		o.ObserveInt64(requests, s.Requests, ms.attrs)
		o.ObserveInt64(throttles, s.Throttles, ms.attrs)
		o.ObserveInt64(buffered, s.BufferedRecords, ms.attrs)
		o.ObserveInt64(bufferedBytes, s.BufferedBytes, ms.attrs)
		o.ObserveInt64(memUsed, s.MemoryBytes, ms.attrs)
		o.ObserveInt64(memLimit, s.limit, ms.attrs)
		for _, r := range s.retries {
			o.ObserveInt64(retries, r.n, ms.errOpt(r.code))
		}
		for _, d := range s.drops {
			opt := ms.errOpt(string(d.reason))
			o.ObserveInt64(dropped, d.records, opt)
			o.ObserveInt64(droppedBytes, d.bytes, opt)
		}
		for _, it := range items {
			o.ObserveInt64(itemsDropped, it.n, ms.errOpt(it.code))
		}
		return nil
	}
	if _, err := m.RegisterCallback(cb, userRecords, userBytes, delivered, dropped, droppedBytes, duplicates,
		itemsDelivered, itemsDropped, kinesisRecords, requests, retries, throttles, buffered, bufferedBytes,
		memUsed, memLimit); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		otel.Handle(fmt.Errorf("otelkinesis: producer metrics: %w", errors.Join(errs...)))
	}
	return ms, nil
}

// errOpt returns the measurement option of the base attributes with
// error.type set to t, made once per type.
func (m *meters) errOpt(t string) metric.MeasurementOption {
	m.mu.Lock()
	defer m.mu.Unlock()
	opt, ok := m.errOpts[t]
	if !ok {
		attrs := append(slices.Clone(m.base), selfobs.ErrorType(t))
		opt = metric.WithAttributeSet(attribute.NewSet(attrs...))
		m.errOpts[t] = opt
	}
	return opt
}

// request records one request's latency. outcome is "success" when every
// record was stored, and otherwise the request's error.type: "partial" when
// some entries failed, "abandoned" when a Shutdown whose context ended
// cancelled it, or the class of the error that failed it (an API error
// code, "http_" and the status, "timeout", "connection", "bad_response"...;
// _OTHER for an error without a code).
func (m *meters) request(d time.Duration, outcome string) {
	if m == nil {
		return
	}
	opt := m.attrs
	switch outcome {
	case "success":
	case "":
		opt = m.errOpt(selfobs.ErrorOther)
	default:
		opt = m.errOpt(outcome)
	}
	m.duration.Record(context.Background(), d.Seconds(), opt)
}

// aggregated records how many user records one Kinesis record carries.
func (m *meters) aggregated(users int) {
	if m == nil {
		return
	}
	m.ratio.Record(context.Background(), int64(users), m.attrs)
}

// dropped counts the telemetry items of a drop; called without the
// producer's lock, before the HookDropped hooks.
func (m *meters) dropped(d *DropError) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.items[d.Reason] += d.Items
	m.mu.Unlock()
}

// close keeps the producer's last values for the series and lets go of the
// producer; called once, when Shutdown has finished.
func (m *meters) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	p := m.p
	m.mu.Unlock()
	if p == nil {
		return
	}
	s := p.metricsSnapshot()
	s.limit = 0
	m.mu.Lock()
	m.final, m.p = s, nil
	m.mu.Unlock()
}
