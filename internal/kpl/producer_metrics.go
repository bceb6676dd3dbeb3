package kpl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Stats is a snapshot of a producer's counters since New. User record bytes
// count data, keys and tags, as the backlog does.
type Stats struct {
	UserRecordsPut       int64 // user records Put accepted
	UserBytesPut         int64
	UserRecordsDelivered int64 // user records Kinesis stored
	UserBytesDelivered   int64
	UserRecordsDropped   int64 // user records given up on (see DropError)
	UserBytesDropped     int64

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

// meterName is the instrumentation scope of the producer's metrics.
const meterName = "github.com/otelkinesis/otelkinesis/internal/kpl"

// meters records the producer's own metrics. Counters and gauges are read
// from the producer's counters by one callback at collection time, so Put
// pays nothing for them; only the request latency and aggregation ratio
// histograms are recorded as they happen, outside the producer's lock.
//
// Nothing here calls Put: when a metric exporter sends these metrics through
// this same producer, each collection adds one export's worth of records,
// paced by the reader's interval, and no loop can form.
type meters struct {
	duration  metric.Float64Histogram
	ratio     metric.Int64Histogram
	reg       metric.Registration
	stream    attribute.KeyValue
	attrs     metric.MeasurementOption
	byOutcome map[string]metric.MeasurementOption
}

func newMeters(p *Producer) (*meters, error) {
	mp := p.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	ms := &meters{stream: attribute.String("aws.kinesis.stream_name", p.stream)}
	ms.attrs = metric.WithAttributeSet(attribute.NewSet(ms.stream))
	ms.byOutcome = map[string]metric.MeasurementOption{}
	for _, o := range []string{"success", "partial", "error", "abandoned"} {
		ms.byOutcome[o] = metric.WithAttributeSet(attribute.NewSet(ms.stream, attribute.String("outcome", o)))
	}

	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	ms.duration, err = m.Float64Histogram("otelkinesis.producer.request.duration",
		metric.WithDescription("Duration of PutRecords requests, by outcome (success, partial, error, abandoned)."),
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
	dropped := counter("otelkinesis.producer.user_records.dropped", "{record}", "User records given up on, by reason.")
	droppedBytes := counter("otelkinesis.producer.user_records.dropped.size", "By", "Bytes of user records given up on, by reason.")
	duplicates := counter("otelkinesis.producer.user_records.possible_duplicates", "{record}", "User records sent again after an attempt with an unknown outcome.")
	kinesisRecords := counter("otelkinesis.producer.kinesis_records", "{record}", "Kinesis records sent, every attempt counted.")
	requests := counter("otelkinesis.producer.requests", "{request}", "PutRecords requests made.")
	retries := counter("otelkinesis.producer.retries", "{record}", "Kinesis records scheduled to be sent again, by error code.")
	throttles := counter("otelkinesis.producer.throttles", "{record}", "Kinesis records refused for exceeding a shard's or the stream's throughput.")
	buffered := gauge("otelkinesis.producer.buffered.user_records", "{record}", "User records held by the producer.")
	bufferedBytes := gauge("otelkinesis.producer.buffered.size", "By", "Bytes of user records held by the producer.")
	memUsage := gauge("otelkinesis.producer.memory.usage", "By",
		"Memory the producer holds against its byte budget: aggregates, records, request bodies and kept buffers.")
	memLimit := gauge("otelkinesis.producer.memory.limit", "By", "The producer's byte budget (backlog_bytes).")
	if len(errs) > 0 {
		return nil, fmt.Errorf("kpl: creating producer metrics: %w", errors.Join(errs...))
	}

	ms.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		p.mu.Lock()
		s := p.statsLocked()
		codes := make([]string, 0, len(p.st.retriesByCode))
		for c := range p.st.retriesByCode {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		byCode := make([]int64, len(codes))
		for i, c := range codes {
			byCode[i] = p.st.retriesByCode[c]
		}
		drops := make(map[DropReason][2]int64, len(p.st.dropsByReason))
		for r, v := range p.st.dropsByReason {
			drops[r] = v
		}
		p.mu.Unlock()

		o.ObserveInt64(userRecords, s.UserRecordsPut, ms.attrs)
		o.ObserveInt64(userBytes, s.UserBytesPut, ms.attrs)
		o.ObserveInt64(delivered, s.UserRecordsDelivered, ms.attrs)
		o.ObserveInt64(duplicates, s.PossibleDuplicates, ms.attrs)
		o.ObserveInt64(kinesisRecords, s.KinesisRecordsSent, ms.attrs)
		o.ObserveInt64(requests, s.Requests, ms.attrs)
		o.ObserveInt64(throttles, s.Throttles, ms.attrs)
		o.ObserveInt64(buffered, s.BufferedRecords, ms.attrs)
		o.ObserveInt64(bufferedBytes, s.BufferedBytes, ms.attrs)
		o.ObserveInt64(memUsage, s.MemoryBytes, ms.attrs)
		o.ObserveInt64(memLimit, p.cfg.BacklogBytes, ms.attrs)
		for i, c := range codes {
			o.ObserveInt64(retries, byCode[i], metric.WithAttributes(ms.stream, attribute.String("error.code", c)))
		}
		for r, v := range drops {
			opt := metric.WithAttributes(ms.stream, attribute.String("reason", string(r)))
			o.ObserveInt64(dropped, v[0], opt)
			o.ObserveInt64(droppedBytes, v[1], opt)
		}
		return nil
	}, userRecords, userBytes, delivered, dropped, droppedBytes, duplicates, kinesisRecords,
		requests, retries, throttles, buffered, bufferedBytes, memUsage, memLimit)
	if err != nil {
		return nil, fmt.Errorf("kpl: registering producer metrics: %w", err)
	}
	return ms, nil
}

// request records one request's latency.
func (m *meters) request(d time.Duration, outcome string) {
	m.duration.Record(context.Background(), d.Seconds(), m.byOutcome[outcome])
}

// aggregated records how many user records one Kinesis record carries.
func (m *meters) aggregated(users int) {
	m.ratio.Record(context.Background(), int64(users), m.attrs)
}

// close unregisters the callback.
func (m *meters) close() {
	if err := m.reg.Unregister(); err != nil {
		otel.Handle(fmt.Errorf("kpl: unregistering producer metrics: %w", err))
	}
}
