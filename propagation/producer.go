package propagation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/version"
)

// messagingSystem is the messaging.system value for Kinesis, which the
// semantic conventions have not registered yet.
var messagingSystem = semconv.MessagingSystemKey.String("aws.kinesis")

// droppedFieldsKey names, on a producer span, the context fields the key
// format could not carry.
const droppedFieldsKey = attribute.Key("otelkinesis.propagation.dropped_fields")

// formatKey names, on a producer span, the format the context went in.
const formatKey = attribute.Key("otelkinesis.propagation.format")

// Producer puts trace context on the records of PutRecord and PutRecords
// calls, and starts the PRODUCER spans the messaging semantic conventions
// describe. Build it with NewProducer; it is safe for concurrent use.
//
// There are three ways to use it: Inject* write context without spans;
// StartPutRecord/EndPutRecord and StartPutRecords/PutRecordsSpans.End wrap a
// call the caller makes; Middleware does all of it inside an aws-sdk-go-v2
// Kinesis client, with no change to the calling code.
type Producer struct {
	in     injector
	tracer trace.Tracer
	strict bool
}

// NewProducer returns a Producer with the given options. The defaults: the
// key format with no fallback, the global propagator and tracer provider, the
// JSON field "_otel", a 1 MiB record limit. An invalid option is an error.
func NewProducer(opts ...Option) (*Producer, error) {
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	_, w3c := c.propagator.(propagation.TraceContext)
	return &Producer{
		in: injector{
			prop:          c.propagator,
			w3c:           w3c,
			format:        c.format,
			fallback:      c.fallback,
			jsonField:     c.jsonField,
			maxRecordSize: c.maxRecordSize,
		},
		tracer: c.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(version.Version), trace.WithSchemaURL(semconv.SchemaURL)),
		strict: c.strict,
	}, nil
}

// Inject writes the context of ctx onto a record given by its fields, in the
// Producer's format (or its fallback), and returns the record's new partition
// key, explicit hash key and data, and the format used (FormatNone when ctx has
// no context to carry). partitionKey is the business key; explicitHashKey is
// "" unless the caller routes the record by hash key. Nothing is written into
// data: a new slice is returned when the data changes.
//
// Whatever the format, a key or data that a Consumer would take for context
// (a key that looks wrapped, data that is an envelope, a JSON object whose
// first member is the context field) and that the context did not go into is
// wrapped with an empty context, so the consumer gets back exactly the record
// given here. With FormatNone the record is returned as it came.
//
// The error explains why the context could not be carried (it wraps one of
// the injection errors); the record is then returned as it came, apart from
// that protection, except that the key format keeps carrying the traceparent
// when only other fields (say, baggage) did not fit. When a look-alike cannot
// be protected (a key too long to wrap, ErrKeyTooLong; a record at the size
// limit, ErrRecordTooLarge) the record is returned as it came, without
// context, and the error says so.
func (p *Producer) Inject(ctx context.Context, partitionKey, explicitHashKey string, data []byte) (newPartitionKey, newExplicitHashKey string, newData []byte, f Format, err error) {
	r := outRecord{pk: &partitionKey, data: data}
	if explicitHashKey != "" {
		r.ehk = &explicitHashKey
	}
	res, err := p.in.inject(ctx, &r)
	newExplicitHashKey = explicitHashKey
	if r.ehk != nil {
		newExplicitHashKey = *r.ehk
	}
	return *r.pk, newExplicitHashKey, r.data, res.format, err
}

// InjectTags returns tags with the context of ctx added, for a user record of
// a KPL aggregated record (FormatTags, whatever the Producer's format). The
// given slice is not modified. It sees only the tags: to also protect a key
// or data that a Consumer would take for context, use InjectUserRecord.
func (p *Producer) InjectTags(ctx context.Context, tags []Tag) ([]Tag, error) {
	r := outRecord{tags: tags, tagged: true}
	_, err := p.in.injectTags(ctx, &r)
	return r.tags, err
}

// InjectUserRecord is Inject for a user record of a KPL aggregated record,
// such as one given to otelkinesis.Producer.Put: the context goes into its
// tags (FormatTags, whatever the Producer's format, without fallback), and
// its key and data are protected as Inject protects them. The given tags are
// not modified. The error is InjectTags', or says that a look-alike could not
// be protected (the record is then returned as it came, without context).
func (p *Producer) InjectUserRecord(ctx context.Context, partitionKey, explicitHashKey string, data []byte, tags []Tag) (newPartitionKey, newExplicitHashKey string, newData []byte, newTags []Tag, err error) {
	r := outRecord{pk: &partitionKey, data: data, tags: tags, tagged: true}
	if explicitHashKey != "" {
		r.ehk = &explicitHashKey
	}
	_, err = p.in.injectWith(ctx, &r, FormatTags, FormatNone)
	newExplicitHashKey = explicitHashKey
	if r.ehk != nil {
		newExplicitHashKey = *r.ehk
	}
	return *r.pk, newExplicitHashKey, r.data, r.tags, err
}

// InjectPutRecord writes the context of ctx onto in, in the Producer's format
// (or its fallback), and returns the format used. It replaces in's
// PartitionKey, ExplicitHashKey or Data with new values and never writes into
// the old ones. Inject once per input: injecting again wraps again. The error
// is Inject's.
func (p *Producer) InjectPutRecord(ctx context.Context, in *kinesis.PutRecordInput) (Format, error) {
	res, err := p.injectFields(ctx, &in.PartitionKey, &in.ExplicitHashKey, &in.Data)
	return res.format, err
}

// InjectEntry is InjectPutRecord for one entry of a PutRecords call.
func (p *Producer) InjectEntry(ctx context.Context, e *types.PutRecordsRequestEntry) (Format, error) {
	res, err := p.injectFields(ctx, &e.PartitionKey, &e.ExplicitHashKey, &e.Data)
	return res.format, err
}

// injectFields injects into a record given by its fields, replacing them.
func (p *Producer) injectFields(ctx context.Context, pk, ehk **string, data *[]byte) (injected, error) {
	r := outRecord{pk: *pk, ehk: *ehk, data: *data}
	res, err := p.in.inject(ctx, &r)
	*pk, *ehk, *data = r.pk, r.ehk, r.data
	return res, err
}

// StartPutRecord starts the PRODUCER span "send <stream>" of a PutRecord call,
// as a child of ctx, and writes its context onto in (InjectPutRecord). Make the
// call with the returned context and end the span with EndPutRecord. The span
// is started even when the context cannot be carried; the error says why and
// is recorded on the span.
func (p *Producer) StartPutRecord(ctx context.Context, in *kinesis.PutRecordInput) (context.Context, trace.Span, error) {
	stream := streamName(in.StreamName, in.StreamARN)
	ctx, span := p.tracer.Start(ctx, spanName("send", stream),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			messagingSystem,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"),
			semconv.MessagingDestinationName(stream),
			semconv.MessagingMessageBodySize(len(in.Data)),
		))
	res, err := p.injectFields(ctx, &in.PartitionKey, &in.ExplicitHashKey, &in.Data)
	recordInjection(span, res, err)
	return ctx, span, err
}

// EndPutRecord ends a span from StartPutRecord with the call's outcome: the
// shard ID and sequence number of the record (messaging.destination.partition.id,
// messaging.message.id), or the error.
func (p *Producer) EndPutRecord(span trace.Span, out *kinesis.PutRecordOutput, err error) {
	switch {
	case err != nil:
		setError(span, err)
	case out != nil:
		setDelivered(span, out.ShardId, out.SequenceNumber)
	}
	span.End()
}

// PutRecordsSpans are the spans of one PutRecords call: a PRODUCER span
// "create <stream>" per record, whose context the record carries, and the
// CLIENT span "send <stream>" of the call, linked to all of them.
type PutRecordsSpans struct {
	send    trace.Span
	creates []trace.Span
}

// StartPutRecords starts the spans of a PutRecords call (see PutRecordsSpans)
// and writes each create span's context onto its entry of in (InjectEntry).
// Make the call with the returned context, which holds the send span, and end
// the spans with PutRecordsSpans.End. The error joins those of the entries
// whose context could not be carried, each naming its index; every span is
// started regardless.
func (p *Producer) StartPutRecords(ctx context.Context, in *kinesis.PutRecordsInput) (context.Context, *PutRecordsSpans, error) {
	stream := streamName(in.StreamName, in.StreamARN)
	createName := spanName("create", stream)
	dest := semconv.MessagingDestinationName(stream)
	spans := &PutRecordsSpans{creates: make([]trace.Span, len(in.Records))}
	links := make([]trace.Link, 0, len(in.Records))
	var errs []error
	for i := range in.Records {
		e := &in.Records[i]
		cctx, span := p.tracer.Start(ctx, createName,
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				messagingSystem,
				semconv.MessagingOperationTypeCreate,
				semconv.MessagingOperationName("create"),
				dest,
				semconv.MessagingMessageBodySize(len(e.Data)),
			))
		spans.creates[i] = span
		res, err := p.injectFields(cctx, &e.PartitionKey, &e.ExplicitHashKey, &e.Data)
		recordInjection(span, res, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("record %d: %w", i, err))
		}
		if sc := span.SpanContext(); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, spans.send = p.tracer.Start(ctx, spanName("send", stream),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(links...),
		trace.WithAttributes(
			messagingSystem,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"),
			dest,
			semconv.MessagingBatchMessageCount(len(in.Records)),
		))
	return ctx, spans, errors.Join(errs...)
}

// End ends every span with the outcome of the call: each create span gets its
// record's shard ID and sequence number, or its error code; the send span gets
// the call's error, or an error status naming how many records failed.
func (s *PutRecordsSpans) End(out *kinesis.PutRecordsOutput, err error) {
	if s == nil {
		return
	}
	failed := 0
	for i, span := range s.creates {
		switch {
		case err != nil:
			setError(span, err)
		case out == nil || i >= len(out.Records):
			span.SetStatus(codes.Error, "no result for the record")
			failed++
		case out.Records[i].ErrorCode != nil:
			e := &out.Records[i]
			span.SetAttributes(semconv.ErrorTypeKey.String(*e.ErrorCode))
			span.SetStatus(codes.Error, *e.ErrorCode+": "+deref(e.ErrorMessage))
			failed++
		default:
			setDelivered(span, out.Records[i].ShardId, out.Records[i].SequenceNumber)
		}
		span.End()
	}
	switch {
	case err != nil:
		setError(s.send, err)
	case failed > 0:
		s.send.SetStatus(codes.Error, strconv.Itoa(failed)+" of "+plural.Count(len(s.creates), "record")+" failed")
	}
	s.send.End()
}

// Send returns the send span of the call.
func (s *PutRecordsSpans) Send() trace.Span { return s.send }

// Create returns the create span of record i.
func (s *PutRecordsSpans) Create(i int) trace.Span { return s.creates[i] }

// recordInjection notes on span where the context went, what the key format
// dropped and why the context could not be carried.
func recordInjection(span trace.Span, res injected, err error) {
	if !span.IsRecording() {
		return
	}
	if res.format != FormatNone {
		span.SetAttributes(formatKey.String(res.format.String()))
	}
	if len(res.dropped) > 0 {
		span.SetAttributes(droppedFieldsKey.StringSlice(res.dropped))
	}
	if err != nil {
		span.AddEvent("context not carried", trace.WithAttributes(
			attribute.String("exception.message", err.Error())))
	}
}

func setDelivered(span trace.Span, shard, seq *string) {
	if shard != nil {
		span.SetAttributes(semconv.MessagingDestinationPartitionID(*shard))
	}
	if seq != nil {
		span.SetAttributes(semconv.MessagingMessageID(*seq))
	}
}

func setError(span trace.Span, err error) {
	typ := "_OTHER"
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		typ = apiErr.ErrorCode()
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(typ))
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// streamName returns the stream's name, from the name or else the ARN
// (arn:aws:kinesis:region:account:stream/NAME, possibly followed by
// /consumer/... for an enhanced fan-out consumer).
func streamName(name, arn *string) string {
	if name != nil && *name != "" {
		return *name
	}
	if arn != nil {
		return streamFromARN(*arn)
	}
	return ""
}

func streamFromARN(arn string) string {
	_, rest, ok := strings.Cut(arn, ":stream/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

func spanName(op, stream string) string {
	if stream == "" {
		return op
	}
	return op + " " + stream
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
