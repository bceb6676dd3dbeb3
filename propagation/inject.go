package propagation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// maxHashKeyDigits is the number of decimal digits of 2^128-1.
const maxHashKeyDigits = 39

// outRecord is the part of a record injection may replace. Injection never
// writes through these pointers or into data: it replaces them.
type outRecord struct {
	pk, ehk *string
	data    []byte
	tags    *[]Tag // nil for a plain record, which has no tags
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
// fallback when the format cannot carry it all. On error r is unchanged and
// the error says why; when the key could hold only the traceparent and the
// fallback fails too, the key keeps it and res.dropped names the rest.
func (in *injector) inject(ctx context.Context, r *outRecord) (injected, error) {
	orig := *r
	res, err := in.injectAs(ctx, in.format, r)
	if in.fallback == FormatNone || in.fallback == in.format || (err == nil && len(res.dropped) == 0) {
		return res, err
	}
	fb := orig
	res2, err2 := in.injectAs(ctx, in.fallback, &fb)
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
	return res, errors.Join(err, fmt.Errorf("fallback to the %v format: %w", in.fallback, err2))
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
	biz := *r.pk
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
	hasContext := sc.IsValid() || tp != ""
	if !hasContext && !LooksWrapped(biz) {
		return injected{}, nil
	}
	if err := checkWrap(biz, tp); err != nil {
		return injected{dropped: dropped}, fmt.Errorf("inject into partition key: %w", err)
	}

	keepEHK := r.ehk != nil && *r.ehk != ""
	var ehk [maxHashKeyDigits]byte
	ehkLen := 0
	if !keepEHK {
		ehkLen = len(kpl.HashPartitionKey(biz).AppendDecimal(ehk[:0]))
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
	if !hasContext {
		return injected{}, nil
	}
	return injected{format: FormatKey, dropped: dropped}, nil
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
	if len(headers) == 0 && !IsEnvelope(r.data) {
		return injected{}, nil
	}
	n, err := EnvelopeSize(headers, len(r.data))
	if err != nil {
		return injected{}, fmt.Errorf("inject into envelope: %w", err)
	}
	if err := in.checkSize(n, "envelope"); err != nil {
		return injected{}, err
	}
	r.data, _ = AppendEnvelope(make([]byte, 0, n), headers, r.data)
	if len(headers) == 0 {
		return injected{}, nil
	}
	return injected{format: FormatEnvelope}, nil
}

// injectEnvelopeW3C writes the envelope of the W3C fields of sc straight into
// the new record, in one allocation when the trace state is empty.
func (in *injector) injectEnvelopeW3C(sc trace.SpanContext, r *outRecord) (injected, error) {
	if !sc.IsValid() {
		if !IsEnvelope(r.data) {
			return injected{}, nil
		}
		return in.injectEnvelopeEmpty(r)
	}
	var ts string
	count, block := 1, 1+len(fieldTraceparent)+2+traceparentLen
	if sc.TraceState().Len() > 0 {
		ts = sc.TraceState().String()
		count, block = 2, block+1+len(fieldTracestate)+2+len(ts)
	}
	n := EnvelopeFixedSize + block + len(r.data)
	if block > MaxEnvelopeHeaderBytes {
		return injected{}, fmt.Errorf("inject into envelope: tracestate of %d bytes: %w", len(ts), ErrHeadersTooLarge)
	}
	if err := in.checkSize(n, "envelope"); err != nil {
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
	r.data = finishEnvelope(out, 0, count, r.data)
	return injected{format: FormatEnvelope}, nil
}

// injectEnvelopeEmpty wraps data that is itself an envelope in an envelope
// with no headers, so that the consumer unwraps exactly one level.
func (in *injector) injectEnvelopeEmpty(r *outRecord) (injected, error) {
	n := EnvelopeFixedSize + len(r.data)
	if err := in.checkSize(n, "envelope"); err != nil {
		return injected{}, err
	}
	r.data, _ = AppendEnvelope(make([]byte, 0, n), nil, r.data)
	return injected{}, nil
}

// checkSize refuses a record of n bytes over the stream's limit.
func (in *injector) checkSize(n int, what string) error {
	if n > in.maxRecordSize {
		return fmt.Errorf("inject into %s: %d bytes with the context, the record limit is %d: %w",
			what, n, in.maxRecordSize, ErrRecordTooLarge)
	}
	return nil
}

func (in *injector) injectJSON(ctx context.Context, r *outRecord) (injected, error) {
	if _, ok := jsonObjectBounds(r.data); !ok {
		return injected{}, fmt.Errorf("inject into JSON field %s: %w", quoteShort(in.jsonField), ErrNotJSONObject)
	}
	headers, release := in.headers(ctx)
	defer release()
	if len(headers) == 0 && !firstMemberIs(in.jsonField, r.data) {
		return injected{}, nil
	}
	out, err := InsertJSONField(nil, in.jsonField, headers, r.data)
	if err != nil {
		return injected{}, fmt.Errorf("inject into JSON field: %w", err)
	}
	if err := in.checkSize(len(out), "JSON field"); err != nil {
		return injected{}, err
	}
	r.data = out
	if len(headers) == 0 {
		return injected{}, nil
	}
	return injected{format: FormatJSON}, nil
}

func (in *injector) injectTags(ctx context.Context, r *outRecord) (injected, error) {
	if r.tags == nil {
		return injected{}, fmt.Errorf("inject into tags: %w", ErrTagsNeedAggregation)
	}
	headers, release := in.headers(ctx)
	defer release()
	if len(headers) == 0 {
		return injected{}, nil
	}
	// A new slice: the caller's tags are never written to.
	out := make(TagCarrier, len(*r.tags), len(*r.tags)+len(headers))
	copy(out, *r.tags)
	for _, h := range headers {
		out.Set(h.Key, h.Value)
	}
	*r.tags = out
	return injected{format: FormatTags}, nil
}

// firstMemberIs reports whether data is a JSON object whose first member is
// named field, whatever its value.
func firstMemberIs(field string, data []byte) bool {
	s := &jsonScanner{b: data[:min(len(data), maxJSONFieldBytes)]}
	s.i = skipJSONSpace(s.b, 0)
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i = skipJSONSpace(s.b, s.i+1)
	raw, ok := s.rawString()
	return ok && s.equalsString(raw, field)
}
