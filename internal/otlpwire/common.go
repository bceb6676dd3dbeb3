package otlpwire

import (
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Field numbers of opentelemetry.proto.common.v1 and resource.v1.
const (
	anyString = 1 // AnyValue.string_value
	anyBool   = 2 // AnyValue.bool_value
	anyInt    = 3 // AnyValue.int_value
	anyDouble = 4 // AnyValue.double_value
	anyArray  = 5 // AnyValue.array_value
	anyKvlist = 6 // AnyValue.kvlist_value
	anyBytes  = 7 // AnyValue.bytes_value

	listValues = 1 // ArrayValue.values, KeyValueList.values

	kvKey   = 1 // KeyValue.key
	kvValue = 2 // KeyValue.value

	resourceAttributes = 1 // Resource.attributes

	scopeName       = 1 // InstrumentationScope.name
	scopeVersion    = 2 // InstrumentationScope.version
	scopeAttributes = 3 // InstrumentationScope.attributes
)

// Field numbers shared by the containers of all three signals:
// Export{Trace,Metrics,Logs}ServiceRequest, Resource{Spans,Metrics,Logs} and
// Scope{Spans,Metrics,Logs} all number their fields alike.
const (
	// FieldRequestResources is Export*ServiceRequest.resource_{spans,metrics,logs}.
	FieldRequestResources = 1
	// FieldResource is Resource*.resource.
	FieldResource = 1
	// FieldResourceScopes is Resource*.scope_{spans,metrics,logs}.
	FieldResourceScopes = 2
	// FieldResourceSchemaURL is Resource*.schema_url.
	FieldResourceSchemaURL = 3
	// FieldScope is Scope*.scope.
	FieldScope = 1
	// FieldScopeItems is Scope*.{spans,metrics,log_records}.
	FieldScopeItems = 2
	// FieldScopeSchemaURL is Scope*.schema_url.
	FieldScopeSchemaURL = 3
)

// invalidValue is what otlptrace writes for an attribute.Value of an unknown
// type.
const invalidValue = "INVALID"

// AppendKeyValues appends kvs as the repeated KeyValue field numbered field
// (attributes of a span, event, link, log record, data point, ...), one
// KeyValue message per element, in order. Nothing is written for an empty
// slice.
func AppendKeyValues(b []byte, field int, kvs []attribute.KeyValue) []byte {
	for i := range kvs {
		b = appendKeyValueField(b, field, &kvs[i])
	}
	return b
}

// AppendAttributeSet appends the attributes of set (in the set's order) as
// the repeated KeyValue field numbered field. A nil or empty set writes
// nothing.
func AppendAttributeSet(b []byte, field int, set *attribute.Set) []byte {
	if kvs, ok := attrsOf(set); ok {
		return AppendKeyValues(b, field, kvs)
	}
	n := set.Len()
	for i := 0; i < n; i++ {
		kv, _ := set.Get(i)
		b = appendKeyValueField(b, field, &kv)
	}
	return b
}

// AppendKeyValue appends the body of the KeyValue message for kv: its key
// (omitted when empty, as proto3 does) and its value (always present, even
// when kv.Value is EMPTY, as otlptrace writes it).
func AppendKeyValue(b []byte, kv attribute.KeyValue) []byte {
	return appendKeyValueBody(b, &kv)
}

func appendKeyValueField(b []byte, field int, kv *attribute.KeyValue) []byte {
	key := string(kv.Key)
	kl := len(key)
	// Fast paths: a one-byte tag, a non-empty key and KeyValue, AnyValue and string
	// lengths that all fit one byte, so the whole field is written in one go; then one
	// pass checks that the strings are ASCII (else valid UTF-8).
	if field < 16 && kl > 0 {
		start := len(b)
		switch kv.Value.Type() {
		case attribute.STRING:
			s := kv.Value.AsString()
			sl := len(s)
			if kl+sl > 121 {
				break
			}
			// KeyValue{key: 2+kl, value: 2 + AnyValue{string_value: 2+sl}}
			b = append(b, byte(field)<<3|wireBytes, byte(6+kl+sl), kvKey<<3|wireBytes, byte(kl))
			b = append(b, key...)
			b = append(b, kvValue<<3|wireBytes, byte(2+sl), anyString<<3|wireBytes, byte(sl))
			b = append(b, s...)
			// Every byte written besides the strings is below 0x80.
			if isASCII(b[start:]) || utf8.ValidString(key) && utf8.ValidString(s) {
				return b
			}
			b = b[:start]
		case attribute.INT64, attribute.BOOL, attribute.FLOAT64:
			if kl > 112 {
				break
			}
			// The lengths are filled in once the value (at most 11 bytes) is written.
			b = append(b, byte(field)<<3|wireBytes, 0, kvKey<<3|wireBytes, byte(kl))
			b = append(b, key...)
			b = append(b, kvValue<<3|wireBytes, 0)
			vs := len(b)
			b = appendScalarAnyValue(b, kv.Value)
			av := len(b) - vs
			b[vs-1], b[start+1] = byte(av), byte(4+kl+av)
			if isASCII(b[start+4:start+4+kl]) || utf8.ValidString(key) {
				return b
			}
			b = b[:start]
		}
	}
	b, m := OpenLen(b, field)
	b = appendKeyValueBody(b, kv)
	return CloseLen(b, m)
}

func appendKeyValueBody(b []byte, kv *attribute.KeyValue) []byte {
	b = AppendStringField(b, kvKey, string(kv.Key))
	return appendAnyValueField(b, kvValue, kv.Value)
}

// appendAnyValueField appends v as the AnyValue message field numbered field.
func appendAnyValueField(b []byte, field int, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64:
		b = AppendLenHeader(b, field, sizeScalarAnyValue(v))
		return appendScalarAnyValue(b, v)
	case attribute.STRING:
		return appendStringAnyValueField(b, field, v.AsString())
	case attribute.BYTESLICE:
		b = AppendLenHeader(b, field, SizeLenField(anyBytes, len(v.AsString())))
		return AppendAnyValue(b, v)
	case attribute.EMPTY:
		return AppendLenHeader(b, field, 0)
	}
	b, m := OpenLen(b, field)
	b = AppendAnyValue(b, v)
	return CloseLen(b, m)
}

// appendStringAnyValueField appends AnyValue{string_value: s} as the message field
// numbered field, checking s once, after copying it.
func appendStringAnyValueField(b []byte, field int, s string) []byte {
	start, sl := len(b), len(s)
	b = AppendLenHeader(b, field, 1+SizeVarint(uint64(sl))+sl)
	b = AppendVarint(append(b, anyString<<3|wireBytes), uint64(sl))
	b = append(b, s...)
	if validUTF8(b[len(b)-sl:], s) {
		return b
	}
	b = AppendLenHeader(b[:start], field, SizeLenField(anyString, sanitizedLen(s)))
	return AppendStringFieldAlways(b, anyString, s)
}

// sizeScalarAnyValue is the body size of an AnyValue holding a BOOL, INT64
// or FLOAT64.
func sizeScalarAnyValue(v attribute.Value) int {
	switch v.Type() {
	case attribute.BOOL:
		return 2
	case attribute.INT64:
		return 1 + SizeVarint(uint64(v.AsInt64()))
	default:
		return 9
	}
}

func appendScalarAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		if v.AsBool() {
			return append(b, anyBool<<3|wireVarint, 1)
		}
		return append(b, anyBool<<3|wireVarint, 0)
	case attribute.INT64:
		return AppendVarint(append(b, anyInt<<3|wireVarint), uint64(v.AsInt64()))
	default:
		return AppendFixed64FieldAlways(b, anyDouble, math.Float64bits(v.AsFloat64()))
	}
}

// AppendAnyValue appends the body of the AnyValue message for v, mapping
// attribute types as otlptrace does: BOOL, INT64, FLOAT64, STRING and
// BYTESLICE to the matching scalar member (written even when zero, since
// they are oneof members); the slice kinds and SLICE to array_value; MAP to
// kvlist_value (in the order AsMap returns); EMPTY to an empty AnyValue; any
// other type to the string "INVALID".
//
// Reading a slice-kind attribute.Value copies the slice (the attribute
// package offers no other access), so slice and map values allocate; scalar
// values do not.
func AppendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.EMPTY:
		return b
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64:
		return appendScalarAnyValue(b, v)
	case attribute.STRING:
		return AppendStringFieldAlways(b, anyString, v.AsString())
	case attribute.BYTESLICE:
		// AsString returns the bytes without the copy AsByteSlice makes.
		s := v.AsString()
		b = AppendLenHeader(b, anyBytes, len(s))
		return append(b, s...)
	case attribute.BOOLSLICE:
		s := v.AsBoolSlice()
		b = AppendLenHeader(b, anyArray, 4*len(s))
		for _, x := range s {
			if x {
				b = append(b, listValues<<3|wireBytes, 2, anyBool<<3|wireVarint, 1)
			} else {
				b = append(b, listValues<<3|wireBytes, 2, anyBool<<3|wireVarint, 0)
			}
		}
		return b
	case attribute.INT64SLICE:
		s := v.AsInt64Slice()
		n := 0
		for _, x := range s {
			n += 3 + SizeVarint(uint64(x))
		}
		b = AppendLenHeader(b, anyArray, n)
		for _, x := range s {
			b = append(b, listValues<<3|wireBytes, byte(1+SizeVarint(uint64(x))), anyInt<<3|wireVarint)
			b = AppendVarint(b, uint64(x))
		}
		return b
	case attribute.FLOAT64SLICE:
		s := v.AsFloat64Slice()
		b = AppendLenHeader(b, anyArray, 11*len(s))
		for _, x := range s {
			b = append(b, listValues<<3|wireBytes, 9)
			b = AppendFixed64FieldAlways(b, anyDouble, math.Float64bits(x))
		}
		return b
	case attribute.STRINGSLICE:
		s := v.AsStringSlice()
		b, m := OpenLen(b, anyArray)
		for _, x := range s {
			b = appendStringAnyValueField(b, listValues, x)
		}
		return CloseLen(b, m)
	case attribute.SLICE:
		s := v.AsSlice()
		b, m := OpenLen(b, anyArray)
		for _, x := range s {
			b = appendAnyValueField(b, listValues, x)
		}
		return CloseLen(b, m)
	case attribute.MAP:
		s := v.AsMap()
		b, m := OpenLen(b, anyKvlist)
		b = AppendKeyValues(b, listValues, s)
		return CloseLen(b, m)
	default:
		return AppendStringFieldAlways(b, anyString, invalidValue)
	}
}

// AppendResource appends the body of the Resource message for r: its
// attributes in the resource's (sorted) order. The SDK's resources drop no
// attributes, so dropped_attributes_count is never written. A nil r writes
// nothing; to leave the Resource out of its container entirely for a nil r,
// as otlptrace does, use [AppendResourceField]. The schema URL does not
// belong here: it is the container's field [FieldResourceSchemaURL].
func AppendResource(b []byte, r *resource.Resource) []byte {
	if r == nil {
		return b
	}
	return AppendAttributeSet(b, resourceAttributes, r.Set())
}

// AppendResourceField appends r as the Resource message field numbered
// field (normally [FieldResource]), or nothing when r is nil.
func AppendResourceField(b []byte, field int, r *resource.Resource) []byte {
	if r == nil {
		return b
	}
	b, m := OpenLen(b, field)
	b = AppendResource(b, r)
	return CloseLen(b, m)
}

// ScopePresent reports whether a container writes an InstrumentationScope
// message for s: otlptrace leaves it out only for the zero Scope.
func ScopePresent(s *instrumentation.Scope) bool {
	return *s != (instrumentation.Scope{})
}

// AppendScope appends the body of the InstrumentationScope message for s:
// name, version and attributes. The scope's schema URL does not belong here:
// it is the container's field [FieldScopeSchemaURL].
func AppendScope(b []byte, s *instrumentation.Scope) []byte {
	b = AppendStringField(b, scopeName, s.Name)
	b = AppendStringField(b, scopeVersion, s.Version)
	return AppendAttributeSet(b, scopeAttributes, &s.Attributes)
}

// AppendScopeField appends s as the InstrumentationScope message field
// numbered field (normally [FieldScope]), or nothing when
// [ScopePresent] reports false.
func AppendScopeField(b []byte, field int, s *instrumentation.Scope) []byte {
	if !ScopePresent(s) {
		return b
	}
	b, m := OpenLen(b, field)
	b = AppendScope(b, s)
	return CloseLen(b, m)
}
