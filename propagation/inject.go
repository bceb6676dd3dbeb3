package propagation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/jsonstr"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// maxHashKeyDigits is the number of decimal digits of 2^128-1.
const maxHashKeyDigits = 39

// outRecord is the part of a record injection may replace. Injection never
// writes through these pointers or into data or tags: it replaces them.
type outRecord struct {
	pk, ehk *string
	data    []byte
	tags    []Tag
	tagged  bool // a user record of an aggregated record: it has tags
}

// injected is the outcome of injecting into one record.
type injected struct {
	format  Format   // where context went, FormatNone if nowhere
	dropped []string // fields the key format could not hold
}

// injector writes context onto records; Producer wraps it with spans.
type injector struct {
	prop          propagation.TextMapPropagator
	w3c           bool // prop is propagation.TraceContext: write the fields directly
	format        Format
	fallback      Format
	jsonField     string
	maxRecordSize int
}

var (
	keyCarriers = sync.Pool{New: func() any { return new(KeyCarrier) }}
	tagCarriers = sync.Pool{New: func() any { return new(TagCarrier) }}
)

// inject writes ctx's context onto r in the injector's format, or in its
// fallback when the format cannot carry it all, then protects what the
// consumer would otherwise take for context (see protect). On error the
// record is left as it came, or with only its look-alikes protected, and the
// error says why; when the key could hold only the traceparent and the
// fallback fails too, the key keeps it and res.dropped names the rest.
func (in *injector) inject(ctx context.Context, r *outRecord) (injected, error) {
	return in.injectWith(ctx, r, in.format, in.fallback)
}

// injectWith is inject with the given format and fallback.
func (in *injector) injectWith(ctx context.Context, r *outRecord, format, fallback Format) (injected, error) {
	if format == FormatNone {
		return injected{}, nil // injection off: records go as they are
	}
	orig := *r
	res, err := in.carry(ctx, r, format, fallback)
	if perr := in.protect(r, res.format); perr != nil {
		// Sent as it is, the record reads back wrong; say so, and leave it
		// as it came rather than half changed.
		*r = orig
		return injected{}, errors.Join(err, perr)
	}
	return res, err
}

// carry writes the context in format, or in fallback when format cannot
// carry it all. On error r is unchanged, except that the key keeps the
// traceparent when only other fields did not fit and the fallback failed
// too.
func (in *injector) carry(ctx context.Context, r *outRecord, format, fallback Format) (injected, error) {
	orig := *r
	res, err := in.injectAs(ctx, format, r)
	if fallback == FormatNone || fallback == format || (err == nil && len(res.dropped) == 0) {
		return res, err
	}
	fb := orig
	res2, err2 := in.injectAs(ctx, fallback, &fb)
	if err2 == nil && res2.format != FormatNone {
		*r = fb
		return res2, nil
	}
	if err == nil {
		return res, nil
	}
	if err2 == nil {
		return res, err // the fallback had no context to carry either
	}
	return res, errors.Join(err, fmt.Errorf("fallback to the %v format: %w", fallback, err2))
}

// protect makes the record read back exactly, whichever formats the consumer
// looks for, once the context went in format used (FormatNone: nowhere). A
// consumer takes apart a wrapped partition key, an envelope, and a JSON
// context field as the first member of the data (of the envelope's payload,
// if there is one), so what looks like one of them and was not written by
// this record's format gets wrapped with an empty context:
//   - a business key that looks wrapped (LooksWrapped), unless the key format
//     carried the context: wrapped with the all-zero traceparent, and routed
//     by its hash key;
//   - data whose first member is the JSON field, unless the JSON format
//     carried the context: an empty field goes first (the envelope format
//     does this inside the envelope, in injectEnvelope);
//   - data that is an envelope, unless the context went in an envelope or a
//     JSON field (the data then is not one): wrapped in an envelope without
//     headers.
//
// Checking an ordinary record costs a look at the first bytes of its key and
// data. On error r may be partly changed; the caller restores it.
func (in *injector) protect(r *outRecord, used Format) error {
	if used != FormatKey && r.pk != nil && LooksWrapped(*r.pk) {
		if err := in.writeKey(r, *r.pk, trace.SpanContext{}, ""); err != nil {
			return fmt.Errorf("protect a partition key that looks wrapped: %w", err)
		}
	}
	if used == FormatJSON || used == FormatEnvelope {
		return nil
	}
	data, err := in.protectJSON(r.data)
	if err != nil {
		return err
	}
	if IsEnvelope(data) {
		n := EnvelopeFixedSize + len(data)
		if err := in.checkSize(n, "protect data that is an envelope with an empty one"); err != nil {
			return err
		}
		data, _ = AppendEnvelope(make([]byte, 0, n), nil, data)
	}
	r.data = data
	return nil
}

// protectJSON returns data with an empty context field put first when its
// first member already has the field's name, so the consumer removes exactly
// one; other data is returned as it is.
func (in *injector) protectJSON(data []byte) ([]byte, error) {
	open, ok := firstMemberIs(in.jsonField, data)
	if !ok {
		return data, nil
	}
	// The first member follows, so the empty field takes a comma after it.
	out := make([]byte, 0, len(data)+len(in.jsonField)+6) // more if the name needs escapes
	out = append(out, data[:open+1]...)
	out = jsonstr.Append(out, in.jsonField)
	out = append(out, ':', '{', '}', ',')
	out = append(out, data[open+1:]...)
	if err := in.checkSize(len(out), "protect data whose first member is the JSON field with an empty one"); err != nil {
		return nil, err
	}
	return out, nil
}

// injectAs writes the context in format f.
func (in *injector) injectAs(ctx context.Context, f Format, r *outRecord) (injected, error) {
	switch f {
	case FormatKey:
		return in.injectKey(ctx, r)
	case FormatEnvelope:
		return in.injectEnvelope(ctx, r)
	case FormatJSON:
		return in.injectJSON(ctx, r)
	case FormatTags:
		return in.injectTags(ctx, r)
	}
	return injected{}, nil
}

// droppedTracestate is what the key format drops of a W3C context with a
// trace state. Shared and never modified.
var droppedTracestate = []string{fieldTracestate}

// keyBox holds a wrapped partition key and its ExplicitHashKey in one
// allocation: the strings point into buf when they fit (a business key of up
// to about 90 bytes), into a separate buffer otherwise. The bytes are never
// written again once the strings exist.
type keyBox struct {
	pk, ehk string
	buf     [192]byte
}

func (in *injector) injectKey(ctx context.Context, r *outRecord) (injected, error) {
	if r.pk == nil || *r.pk == "" {
		return injected{}, fmt.Errorf("inject into partition key: no partition key: %w", ErrKeyTooLong)
	}
	var (
		sc      trace.SpanContext
		tp      string
		dropped []string
	)
	if in.w3c {
		sc = trace.SpanContextFromContext(ctx)
		if sc.IsValid() && sc.TraceState().Len() > 0 {
			dropped = droppedTracestate
		}
	} else {
		kc := keyCarriers.Get().(*KeyCarrier)
		kc.Reset()
		in.prop.Inject(ctx, kc)
		tp = kc.Traceparent
		if len(kc.dropped) > 0 {
			dropped = append([]string(nil), kc.dropped...)
		}
		keyCarriers.Put(kc)
		if tp == "" && len(dropped) > 0 {
			return injected{dropped: dropped}, fmt.Errorf("inject into partition key: the propagator set %q but no traceparent: %w",
				dropped, ErrNoTraceparent)
		}
	}
	if !sc.IsValid() && tp == "" {
		return injected{}, nil // no context; protect wraps a key that looks wrapped
	}
	if err := in.writeKey(r, *r.pk, sc, tp); err != nil {
		return injected{dropped: dropped}, fmt.Errorf("inject into partition key: %w", err)
	}
	return injected{format: FormatKey, dropped: dropped}, nil
}

// writeKey replaces r's partition key with biz wrapped around the
// traceparent of sc, or else tp, or else the all-zero one, and, unless r has
// one, its ExplicitHashKey with biz's hash key.
func (in *injector) writeKey(r *outRecord, biz string, sc trace.SpanContext, tp string) error {
	if err := checkWrap(biz, tp); err != nil {
		return err
	}
	keepEHK := r.ehk != nil && *r.ehk != ""
	var ehk [maxHashKeyDigits]byte
	ehkLen := 0
	if !keepEHK {
		ehkLen = len(aggregation.HashPartitionKey(biz).AppendDecimal(ehk[:0]))
	}
	pkLen := keyOverhead + len(biz)
	box := new(keyBox)
	buf := box.buf[:0]
	if pkLen+ehkLen > len(box.buf) {
		buf = make([]byte, 0, pkLen+ehkLen)
	}
	buf = append(buf, keyPrefix...)
	switch {
	case sc.IsValid():
		buf = appendTraceparent(buf, sc)
	case tp != "":
		buf = append(buf, tp...)
	default:
		buf = append(buf, zeroTraceparent...)
	}
	buf = append(buf, keySeparator)
	buf = append(buf, biz...)
	buf = append(buf, ehk[:ehkLen]...)
	box.pk = unsafe.String(&buf[0], pkLen)
	r.pk = &box.pk
	if !keepEHK {
		box.ehk = unsafe.String(&buf[pkLen], ehkLen)
		r.ehk = &box.ehk
	}
	return nil
}

// headers collects the context fields for the envelope, JSON and tag formats
// as tags. release must be called once they are no longer needed.
func (in *injector) headers(ctx context.Context) (headers []Tag, release func()) {
	if in.w3c {
		return w3cTags(trace.SpanContextFromContext(ctx)), func() {}
	}
	tc := tagCarriers.Get().(*TagCarrier)
	*tc = (*tc)[:0]
	in.prop.Inject(ctx, tc)
	return *tc, func() {
		clear(*tc)
		tagCarriers.Put(tc)
	}
}

// w3cTags returns the W3C fields of sc, as propagation.TraceContext would set
// them.
func w3cTags(sc trace.SpanContext) []Tag {
	if !sc.IsValid() {
		return nil
	}
	tags := []Tag{{Key: fieldTraceparent, Value: string(appendTraceparent(make([]byte, 0, traceparentLen), sc))}}
	if sc.TraceState().Len() > 0 {
		tags = append(tags, Tag{Key: fieldTracestate, Value: sc.TraceState().String()})
	}
	return tags
}

func (in *injector) injectEnvelope(ctx context.Context, r *outRecord) (injected, error) {
	if in.w3c {
		return in.injectEnvelopeW3C(trace.SpanContextFromContext(ctx), r)
	}
	headers, release := in.headers(ctx)
	defer release()
	if len(headers) == 0 {
		return injected{}, nil // no context; protect wraps data that is an envelope
	}
	payload, err := in.protectJSON(r.data)
	if err != nil {
		return injected{}, err
	}
	n, err := EnvelopeSize(headers, len(payload))
	if err != nil {
		return injected{}, fmt.Errorf("inject into envelope: %w", err)
	}
	if err := in.checkSize(n, "inject into envelope"); err != nil {
		return injected{}, err
	}
	r.data, _ = AppendEnvelope(make([]byte, 0, n), headers, payload)
	return injected{format: FormatEnvelope}, nil
}

// injectEnvelopeW3C writes the envelope of the W3C fields of sc straight into
// the new record, in one allocation when the trace state is empty.
func (in *injector) injectEnvelopeW3C(sc trace.SpanContext, r *outRecord) (injected, error) {
	if !sc.IsValid() {
		return injected{}, nil // no context; protect wraps data that is an envelope
	}
	payload, err := in.protectJSON(r.data)
	if err != nil {
		return injected{}, err
	}
	var ts string
	count, block := 1, 1+len(fieldTraceparent)+2+traceparentLen
	if sc.TraceState().Len() > 0 {
		ts = sc.TraceState().String()
		count, block = 2, block+1+len(fieldTracestate)+2+len(ts)
	}
	n := EnvelopeFixedSize + block + len(payload)
	if block > MaxEnvelopeHeaderBytes {
		return injected{}, fmt.Errorf("inject into envelope: tracestate of %s: %w", plural.Count(len(ts), "byte"), ErrHeadersTooLarge)
	}
	if err := in.checkSize(n, "inject into envelope"); err != nil {
		return injected{}, err
	}
	out := make([]byte, EnvelopeFixedSize, n)
	out = append(out, byte(len(fieldTraceparent)))
	out = append(out, fieldTraceparent...)
	out = append(out, 0, traceparentLen)
	out = appendTraceparent(out, sc)
	if ts != "" {
		out = appendEnvelopeHeader(out, fieldTracestate, ts)
	}
	r.data = finishEnvelope(out, 0, count, payload)
	return injected{format: FormatEnvelope}, nil
}

// checkSize refuses a record of n bytes over the stream's limit; what says
// what the bytes are for.
func (in *injector) checkSize(n int, what string) error {
	if n > in.maxRecordSize {
		return fmt.Errorf("%s: %s, the record limit is %d: %w", what, plural.Count(n, "byte"), in.maxRecordSize, ErrRecordTooLarge)
	}
	return nil
}

func (in *injector) injectJSON(ctx context.Context, r *outRecord) (injected, error) {
	headers, release := in.headers(ctx)
	defer release()
	if len(headers) == 0 {
		return injected{}, nil // no context; protect handles a first member of the field's name
	}
	if _, ok := jsonObjectBounds(r.data); !ok {
		return injected{}, fmt.Errorf("inject into JSON field %s: %w", quoteShort(in.jsonField), ErrNotJSONObject)
	}
	out, err := InsertJSONField(nil, in.jsonField, headers, r.data)
	if err != nil {
		return injected{}, fmt.Errorf("inject into JSON field: %w", err)
	}
	if err := in.checkSize(len(out), "inject into JSON field"); err != nil {
		return injected{}, err
	}
	r.data = out
	return injected{format: FormatJSON}, nil
}

func (in *injector) injectTags(ctx context.Context, r *outRecord) (injected, error) {
	if !r.tagged {
		return injected{}, fmt.Errorf("inject into tags: %w", ErrTagsNeedAggregation)
	}
	headers, release := in.headers(ctx)
	defer release()
	if len(headers) == 0 {
		return injected{}, nil
	}
	// A new slice: the caller's tags are never written to.
	out := make(TagCarrier, len(r.tags), len(r.tags)+len(headers))
	copy(out, r.tags)
	for _, h := range headers {
		out.Set(h.Key, h.Value)
	}
	r.tags = out
	return injected{format: FormatTags}, nil
}

// firstMemberIs reports whether data starts like a JSON object whose first
// member is named field (whatever follows the name), and returns the index of
// its opening brace. It answers yes whenever Consumer.Extract could take a
// context field off data, and looks only at the first bytes of ordinary data:
// the name is compared as it stands, and decoded only when it has an escape
// within the length of field.
func firstMemberIs(field string, data []byte) (open int, ok bool) {
	open = skipJSONSpace(data, 0)
	if open >= len(data) || data[open] != '{' {
		return 0, false
	}
	i := skipJSONSpace(data, open+1)
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	name := data[i+1:]
	for j := 0; j < len(field); j++ {
		if j == len(name) || name[j] == '"' {
			return 0, false // the name is shorter, or unterminated
		}
		if name[j] == '\\' {
			// Decode it, within the bytes a consumer reads.
			s := &jsonScanner{b: data[:min(len(data), open+1+maxJSONFieldBytes)], i: i}
			raw, ok := s.rawString()
			return open, ok && s.equalsString(raw, field)
		}
		if name[j] != field[j] {
			return 0, false
		}
	}
	// An escape after the field's bytes would make the name longer still.
	return open, len(name) > len(field) && name[len(field)] == '"'
}
