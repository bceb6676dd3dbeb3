package propagation

import "errors"

// Errors of injection: a record the chosen format cannot carry context on.
// Producer falls back to its fallback format on any of them (WithFallback); the
// errors it returns wrap them, for errors.Is.
var (
	// ErrKeyTooLong reports a business key too long (or empty) to share the
	// partition key with a traceparent.
	ErrKeyTooLong = errors.New("business key cannot be wrapped in a partition key")
	// ErrNoTraceparent reports that the propagator gave the key carrier no
	// version-00 W3C traceparent to carry, for instance because it is the X-Ray
	// propagator.
	ErrNoTraceparent = errors.New("no W3C traceparent to carry in the partition key")
	// ErrHeadersTooLarge reports propagation fields over the limits of the
	// envelope or the JSON field.
	ErrHeadersTooLarge = errors.New("propagation fields too large")
	// ErrRecordTooLarge reports a record that carrying context would push
	// over the stream's record size limit.
	ErrRecordTooLarge = errors.New("record too large to carry context")
	// ErrNotJSONObject reports a payload that is not a JSON object, so the JSON
	// field format cannot be used.
	ErrNotJSONObject = errors.New("payload is not a JSON object")
	// ErrTagsNeedAggregation reports the tags format used on a plain Kinesis
	// record: only the user records of a KPL aggregated record have tags.
	ErrTagsNeedAggregation = errors.New("tags exist only on aggregated user records")
)

// Errors of extraction: the reason a record's context was ignored, reported
// in Message.Err. The record itself passes through untouched as far as the
// malformed part goes.
var (
	// ErrNotEnvelope reports data that does not start with EnvelopeMagic.
	// Consumer.Extract does not report it: most data is not an envelope.
	ErrNotEnvelope = errors.New("not an envelope")
	// ErrMalformedEnvelope reports data that starts with EnvelopeMagic but
	// fails a check of the frame; the data is left as it is.
	ErrMalformedEnvelope = errors.New("malformed envelope")
	// ErrMalformedJSONField reports a JSON object whose first member has the
	// context field's name but is not an object of strings within the limits;
	// the data is left as it is.
	ErrMalformedJSONField = errors.New("malformed JSON context field")
	// ErrMalformedContext reports propagation fields that were found but from
	// which the propagator extracted no valid span context, such as a
	// traceparent with a zero trace ID.
	ErrMalformedContext = errors.New("malformed trace context")
)
