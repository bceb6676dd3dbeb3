package propagation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/version"
)

// Consumer takes trace context off Kinesis records, gives back the records as
// they were before a Producer touched them, and starts CONSUMER spans. Build it
// with NewConsumer; it is safe for concurrent use.
//
// Extraction is for hostile input: any partition key, data and tags can be
// given to it. It never panics, and a malformed context is ignored, the record
// passed through, with the reason in Message.Err. Whatever the size of the
// data, it looks at no more than the context fields (the key, at most 16 KiB
// of an envelope's headers, at most 32 KiB of a JSON object, the tags), and
// its work and allocations are bounded by them, except that taking a JSON
// context field off copies the rest of the data once.
type Consumer struct {
	tracer    trace.Tracer
	prop      propagation.TextMapPropagator
	w3c       bool
	extract   [formatCount]bool
	jsonField string
}

// NewConsumer returns a Consumer with the given options. The defaults: look
// for every format, the global propagator and tracer provider, the JSON field
// "_otel". An invalid option is an error.
func NewConsumer(opts ...Option) (*Consumer, error) {
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	_, w3c := c.propagator.(propagation.TraceContext)
	return &Consumer{
		tracer:    c.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(version.Version), trace.WithSchemaURL(semconv.SchemaURL)),
		prop:      c.propagator,
		w3c:       w3c,
		extract:   c.extract,
		jsonField: c.jsonField,
	}, nil
}

// Message is a Kinesis record after extraction: its business key and data as
// the producer had them, where it came from, and the context it carried.
type Message struct {
	// Stream, ShardID and SequenceNumber locate the record, when known.
	Stream, ShardID, SequenceNumber string
	// PartitionKey is the business key: the partition key with the key
	// format taken off.
	PartitionKey string
	// Data is the record's data with the envelope or the JSON context field
	// taken off. It shares the input's memory, except after a JSON field was
	// removed.
	Data []byte
	// Tags are the user record's tags, unchanged (nil for a plain record).
	Tags []Tag
	// Format is where the context was found; FormatNone if nowhere.
	Format Format
	// Err is why context present on the record was ignored (it wraps
	// ErrMalformedEnvelope, ErrMalformedJSONField or ErrMalformedContext),
	// or nil. The record is then passed through as it came, as far as the
	// malformed part goes.
	Err error

	parent context.Context
	ctx    context.Context // the propagator's result, when not W3C-direct
	sc     trace.SpanContext
}

// SpanContext returns the producer's span context the record carried, or an
// invalid one.
func (m *Message) SpanContext() trace.SpanContext { return m.sc }

// Context returns the context given to extraction, with the record's remote
// span context (and, with a propagator that carries it, baggage) added. It is
// built on each call.
func (m *Message) Context() context.Context {
	if m.ctx != nil {
		return m.ctx
	}
	parent := m.parent
	if parent == nil {
		parent = context.Background()
	}
	if m.sc.IsValid() {
		return contextWithRemoteSpanContext(parent, m.sc)
	}
	return parent
}

// Extract takes the context off a record given by its partition key, data and
// tags (tags are nil for a plain Kinesis record). For the user records of
// package consumer's deaggregator:
//
//	m := c.Extract(ctx, ur.PartitionKey, ur.Data, ur.Tags)
//
// then set m.Stream, m.ShardID and m.SequenceNumber if the spans should name
// them. It works for any input: records without context come back untouched
// with Format FormatNone.
//
// Every configured format found on the record is taken off: the key is
// unwrapped, the envelope opened and the JSON field removed (in that order:
// the envelope first, then the JSON field of its payload). If more than one
// carries context, the envelope wins, then the tags, then the JSON field, then
// the key.
func (c *Consumer) Extract(ctx context.Context, partitionKey string, data []byte, tags []Tag) (m Message) {
	// m is the result itself, filled in place: a Message is large to copy.
	m.PartitionKey, m.Data, m.Tags, m.parent = partitionKey, data, tags, ctx
	var (
		cand candidates
		errs []error
	)
	if c.extract[FormatKey] {
		m.PartitionKey, cand.keyTP, _ = UnwrapKey(partitionKey)
	}
	if c.extract[FormatEnvelope] {
		e, err := parseEnvelope(m.Data)
		switch {
		case err == nil:
			m.Data = e.payload
			if e.count > 0 {
				cand.env = e
			}
		case err != ErrNotEnvelope:
			errs = append(errs, err)
		}
	}
	if c.extract[FormatJSON] {
		// Most data has no context field: a look at its first bytes says so.
		if _, ok := firstMemberIs(c.jsonField, m.Data); ok {
			h, payload, err := ExtractJSONField(c.jsonField, m.Data)
			switch {
			case err == nil:
				cand.json, m.Data = h, payload
			case errors.Is(err, ErrMalformedJSONField):
				errs = append(errs, err)
			}
		}
	}
	if c.extract[FormatTags] {
		cand.tags = tags
	}
	if c.w3c {
		pickW3C(&m, &cand, &errs)
	} else if err := c.pickGeneric(&m, cand); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		m.Err = errors.Join(errs...)
	}
	return m
}

// candidates are the context fields found on a record, by format.
type candidates struct {
	env   envelope // count 0 when there is no envelope with headers
	tags  TagCarrier
	json  TagCarrier
	keyTP string
}

// pickW3C reads the W3C fields of the candidates straight from the record,
// in order of precedence, and keeps the first valid context; it adds to errs
// why those it read before were not.
func pickW3C(m *Message, cand *candidates, errs *[]error) {
	switch {
	case cand.env.count > 0 && setW3C(m, errs, FormatEnvelope, cand.env.get(fieldTraceparent), cand.env.get(fieldTracestate)):
	case len(cand.tags) > 0 && setW3C(m, errs, FormatTags, cand.tags.Get(fieldTraceparent), cand.tags.Get(fieldTracestate)):
	case len(cand.json) > 0 && setW3C(m, errs, FormatJSON, cand.json.Get(fieldTraceparent), cand.json.Get(fieldTracestate)):
	case cand.keyTP != "" && setW3C(m, errs, FormatKey, cand.keyTP, ""):
	}
}

// setW3C reads a traceparent and tracestate found in format f the way
// propagation.TraceContext does. For a valid context it sets m's span context
// and format and returns true; a traceparent present but unusable adds the
// reason to errs. It allocates only for a non-empty tracestate (or a reason).
func setW3C[S ~string | ~[]byte](m *Message, errs *[]error, f Format, tp, ts S) bool {
	if len(tp) == 0 {
		return false
	}
	cfg, ok := parseTraceparent(tp)
	if !ok {
		*errs = append(*errs, fmt.Errorf("%v format: %w: traceparent %s", f, ErrMalformedContext, quoteShort(tp)))
		return false
	}
	if len(ts) > 0 {
		// As in TraceContext: a bad tracestate does not void the traceparent.
		cfg.TraceState, _ = trace.ParseTraceState(string(ts))
	}
	m.sc, m.Format = trace.NewSpanContext(cfg), f
	return true
}

// pickGeneric runs the propagator over each candidate in order of precedence
// and keeps the first that yields anything.
func (c *Consumer) pickGeneric(m *Message, cand candidates) error {
	var errs []error
	try := func(f Format, carrier propagation.TextMapCarrier) bool {
		ok, err := c.extractGeneric(m, carrier)
		if err != nil {
			errs = append(errs, fmt.Errorf("%v format: %w", f, err))
		}
		if ok {
			m.Format = f
		}
		return ok
	}
	switch {
	case cand.env.count > 0 && try(FormatEnvelope, envelopeCarrier{&cand.env}):
	case len(cand.tags) > 0 && try(FormatTags, &cand.tags):
	case len(cand.json) > 0 && try(FormatJSON, &cand.json):
	case cand.keyTP != "" && try(FormatKey, &KeyCarrier{Traceparent: cand.keyTP}):
	}
	return errors.Join(errs...)
}

// extractGeneric runs the configured propagator over carrier. ok is true when
// it extracted anything (a span context, baggage); err explains fields that
// the propagator knows but could not use.
func (c *Consumer) extractGeneric(m *Message, carrier propagation.TextMapCarrier) (ok bool, err error) {
	parent := m.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx := c.prop.Extract(parent, carrier)
	// What the propagator added: a remote span context, or baggage. (Contexts
	// are not compared: a caller's context type need not be comparable.)
	sc := trace.SpanContextFromContext(ctx)
	newSpan := sc.IsValid() && sc.IsRemote() && !sc.Equal(trace.SpanContextFromContext(parent))
	b := baggage.FromContext(ctx)
	newBaggage := b.Len() > 0 && b.String() != baggage.FromContext(parent).String()
	if newSpan || newBaggage {
		if newSpan {
			m.sc = sc
		}
		m.ctx = ctx
		return true, nil
	}
	for _, f := range c.prop.Fields() {
		if v := carrier.Get(f); v != "" {
			return false, fmt.Errorf("%w: the propagator extracted nothing from %s %s",
				ErrMalformedContext, f, quoteShort(v))
		}
	}
	return false, nil
}

// envelopeCarrier reads the headers of a parsed envelope as a TextMapCarrier.
// Get allocates the value it returns; Set is a no-op.
type envelopeCarrier struct{ e *envelope }

var _ propagation.TextMapCarrier = envelopeCarrier{}

// Get returns a copy of the value of the first header named key.
func (c envelopeCarrier) Get(key string) string {
	v, _ := c.e.lookup(key)
	return string(v)
}

// Set does nothing: the envelope is read only.
func (c envelopeCarrier) Set(string, string) {}

// Keys returns the header names, in order.
func (c envelopeCarrier) Keys() []string {
	keys := make([]string, 0, c.e.count)
	for off := 0; off < len(c.e.block); {
		k, _, next := c.e.header(off)
		keys = append(keys, string(k))
		off = next
	}
	return keys
}

// ExtractLambda is Extract for a record of a Lambda Kinesis event. It also
// fills in Stream (from the event source ARN), ShardID (from the event ID) and
// SequenceNumber. Lambda does not deaggregate: feed KPL aggregated records to
// the consumer package first and Extract each user record.
func (c *Consumer) ExtractLambda(ctx context.Context, r *events.KinesisEventRecord) Message {
	m := c.Extract(ctx, r.Kinesis.PartitionKey, r.Kinesis.Data, nil)
	m.Stream = streamFromARN(r.EventSourceArn)
	m.ShardID, _, _ = strings.Cut(r.EventID, ":")
	m.SequenceNumber = r.Kinesis.SequenceNumber
	return m
}

// ExtractLambdaEvent extracts every record of a Lambda Kinesis event, in
// order.
func (c *Consumer) ExtractLambdaEvent(ctx context.Context, ev *events.KinesisEvent) []Message {
	msgs := make([]Message, len(ev.Records))
	for i := range ev.Records {
		msgs[i] = c.ExtractLambda(ctx, &ev.Records[i])
	}
	return msgs
}

// ExtractRecord is Extract for a record from GetRecords (or SubscribeToShard),
// read from the given stream and shard.
func (c *Consumer) ExtractRecord(ctx context.Context, stream, shardID string, r *types.Record) Message {
	m := c.Extract(ctx, deref(r.PartitionKey), r.Data, nil)
	m.Stream, m.ShardID, m.SequenceNumber = stream, shardID, deref(r.SequenceNumber)
	return m
}

// StartBatch starts the CONSUMER span "process <stream>" for a batch of
// records, as a child of ctx, linked to the context of every record that
// carried one. The stream is that of the first message naming one.
func (c *Consumer) StartBatch(ctx context.Context, msgs []Message) (context.Context, trace.Span) {
	links := make([]trace.Link, 0, len(msgs))
	stream, shard := "", ""
	for i := range msgs {
		if sc := msgs[i].sc; sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
		if stream == "" {
			stream = msgs[i].Stream
		}
		if shard == "" {
			shard = msgs[i].ShardID
		} else if shard != msgs[i].ShardID {
			shard = "-" // several shards: say none
		}
	}
	attrs := []attribute.KeyValue{
		messagingSystem,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(stream),
		semconv.MessagingBatchMessageCount(len(msgs)),
	}
	if shard != "" && shard != "-" {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(shard))
	}
	return c.tracer.Start(ctx, spanName("process", stream),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(attrs...))
}

// StartRecord starts the CONSUMER span "process <stream>" for one record. Its
// parent is the producer's span the record carried; when ctx holds a span of
// its own (say, StartBatch's), the new span is linked to it. Without a carried
// context the span is a child of ctx. The returned context also holds the
// record's baggage, if the propagator carried any.
func (c *Consumer) StartRecord(ctx context.Context, m *Message) (context.Context, trace.Span) {
	parent := ctx
	var links []trace.Link
	if m.sc.IsValid() {
		if local := trace.SpanContextFromContext(ctx); local.IsValid() && !local.Equal(m.sc) {
			links = []trace.Link{{SpanContext: local}}
		}
		parent = trace.ContextWithRemoteSpanContext(ctx, m.sc)
	}
	if m.ctx != nil {
		if b := baggage.FromContext(m.ctx); b.Len() > 0 {
			parent = baggage.ContextWithBaggage(parent, b)
		}
	}
	attrs := []attribute.KeyValue{
		messagingSystem,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(m.Stream),
		semconv.MessagingMessageBodySize(len(m.Data)),
	}
	if m.ShardID != "" {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(m.ShardID))
	}
	if m.SequenceNumber != "" {
		attrs = append(attrs, semconv.MessagingMessageID(m.SequenceNumber))
	}
	return c.tracer.Start(parent, spanName("process", m.Stream),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(attrs...))
}
