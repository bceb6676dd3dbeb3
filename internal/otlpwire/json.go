package otlpwire

import (
	"encoding/base64"
	"math"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/otelkinesis/otelkinesis/internal/jsonstr"
)

// The OTLP/JSON writers below follow the OTLP specification's JSON mapping,
// which is protojson's mapping of the OTLP messages with three changes:
// trace and span IDs are lowercase hex, enums are integers, and field names
// are the lowerCamelCase JSON names (never the proto names). As protojson
// does, they leave out fields holding their default value, write oneof
// members and present messages even when empty, write 64-bit integers as
// decimal strings, doubles as JSON numbers (NaN and the infinities as the
// strings "NaN", "Infinity", "-Infinity"), and bytes as standard base64.
//
// Object members are written with a leading comma unless they are the first
// in their object: every writer here that appends a member checks whether
// the byte before is '{' (see appendJSONName).

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string (see jsonstr.Append): '"', '\' and
// control characters escaped, each byte that is not part of valid UTF-8 written as
// U+FFFD, as the protobuf writers do.
func AppendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s) }

// appendJSONName appends the member name name (plain ASCII, never needing
// escapes) and its colon, preceded by a comma unless it opens its object.
func appendJSONName(b []byte, name string) []byte {
	if len(b) > 0 && b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// AppendJSONStringMember appends `"name":"s"` (escaped as
// [AppendJSONString] does) unless s is empty.
func AppendJSONStringMember(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return AppendJSONString(appendJSONName(b, name), s)
}

// AppendJSONUintMember appends `"name":v` (a JSON number, for uint32 and
// enum fields) unless v is 0.
func AppendJSONUintMember(b []byte, name string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(appendJSONName(b, name), v, 10)
}

// AppendJSONUint64Member appends `"name":"v"` (a decimal string, for
// uint64 and fixed64 fields such as timestamps) unless v is 0.
func AppendJSONUint64Member(b []byte, name string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(appendJSONName(b, name), '"')
	return append(strconv.AppendUint(b, v, 10), '"')
}

// AppendJSONHexMember appends `"name":"<lowercase hex of id>"` unless id is
// empty: the OTLP/JSON form of trace and span IDs.
func AppendJSONHexMember(b []byte, name string, id []byte) []byte {
	if len(id) == 0 {
		return b
	}
	b = append(appendJSONName(b, name), '"')
	for _, c := range id {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, '"')
}

// AppendJSONFloat appends v as protojson writes a double: NaN and the
// infinities as quoted strings, other values as the shortest decimal that
// reads back exactly, in exponent form below 1e-6 and from 1e21.
func AppendJSONFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		n := len(b)
		b = strconv.AppendFloat(b, v, 'e', -1, 64)
		// Go writes e-07 where JSON writers conventionally write e-7.
		if m := len(b); m-n >= 4 && b[m-4] == 'e' && b[m-3] == '-' && b[m-2] == '0' {
			b[m-2] = b[m-1]
			b = b[:m-1]
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// AppendJSONKeyValues appends `"name":[...]`, the KeyValue objects of kvs,
// unless kvs is empty.
func AppendJSONKeyValues(b []byte, name string, kvs []attribute.KeyValue) []byte {
	if len(kvs) == 0 {
		return b
	}
	b = append(appendJSONName(b, name), '[')
	for i := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONKeyValue(b, &kvs[i])
	}
	return append(b, ']')
}

// AppendJSONAttributeSet appends `"name":[...]`, the KeyValue objects of
// set in its order, unless set is nil or empty.
func AppendJSONAttributeSet(b []byte, name string, set *attribute.Set) []byte {
	if kvs, ok := attrsOf(set); ok {
		return AppendJSONKeyValues(b, name, kvs)
	}
	n := set.Len()
	if n == 0 {
		return b
	}
	b = append(appendJSONName(b, name), '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		kv, _ := set.Get(i)
		b = appendJSONKeyValue(b, &kv)
	}
	return append(b, ']')
}

func appendJSONKeyValue(b []byte, kv *attribute.KeyValue) []byte {
	b = append(b, '{')
	b = AppendJSONStringMember(b, "key", string(kv.Key))
	b = appendJSONName(b, "value")
	b = AppendJSONAnyValue(b, kv.Value)
	return append(b, '}')
}

// AppendJSONAnyValue appends the AnyValue object for v, mapping attribute
// types as [AppendAnyValue] does: {"stringValue":...}, {"boolValue":...},
// {"intValue":"<decimal>"}, {"doubleValue":...}, {"bytesValue":"<base64>"},
// {"arrayValue":{"values":[...]}}, {"kvlistValue":{"values":[...]}}, or {}
// for EMPTY.
func AppendJSONAnyValue(b []byte, v attribute.Value) []byte {
	b = append(b, '{')
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		b = append(b, `"boolValue":`...)
		b = strconv.AppendBool(b, v.AsBool())
	case attribute.INT64:
		b = append(b, `"intValue":"`...)
		b = append(strconv.AppendInt(b, v.AsInt64(), 10), '"')
	case attribute.FLOAT64:
		b = append(b, `"doubleValue":`...)
		b = AppendJSONFloat(b, v.AsFloat64())
	case attribute.STRING:
		b = append(b, `"stringValue":`...)
		b = AppendJSONString(b, v.AsString())
	case attribute.BYTESLICE:
		s := v.AsString()
		b = append(b, `"bytesValue":"`...)
		b = base64.StdEncoding.AppendEncode(b, unsafeBytes(s))
		b = append(b, '"')
	case attribute.BOOLSLICE:
		b = appendJSONArray(b, v.AsBoolSlice(), func(b []byte, x bool) []byte {
			return append(strconv.AppendBool(append(b, `{"boolValue":`...), x), '}')
		})
	case attribute.INT64SLICE:
		b = appendJSONArray(b, v.AsInt64Slice(), func(b []byte, x int64) []byte {
			return append(strconv.AppendInt(append(b, `{"intValue":"`...), x, 10), '"', '}')
		})
	case attribute.FLOAT64SLICE:
		b = appendJSONArray(b, v.AsFloat64Slice(), func(b []byte, x float64) []byte {
			return append(AppendJSONFloat(append(b, `{"doubleValue":`...), x), '}')
		})
	case attribute.STRINGSLICE:
		b = appendJSONArray(b, v.AsStringSlice(), func(b []byte, x string) []byte {
			return append(AppendJSONString(append(b, `{"stringValue":`...), x), '}')
		})
	case attribute.SLICE:
		b = appendJSONArray(b, v.AsSlice(), AppendJSONAnyValue)
	case attribute.MAP:
		b = append(b, `"kvlistValue":{`...)
		b = AppendJSONKeyValues(b, "values", v.AsMap())
		b = append(b, '}')
	default:
		b = append(b, `"stringValue":"`+invalidValue+`"`...)
	}
	return append(b, '}')
}

// appendJSONArray appends `"arrayValue":{"values":[...]}` with one AnyValue
// object per element, which elem writes.
func appendJSONArray[T any](b []byte, s []T, elem func([]byte, T) []byte) []byte {
	b = append(b, `"arrayValue":{`...)
	if len(s) > 0 {
		b = append(b, `"values":[`...)
		for i, x := range s {
			if i > 0 {
				b = append(b, ',')
			}
			b = elem(b, x)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSONResource appends the Resource object for r: {"attributes":[...]}
// or {} when it has none.
func appendJSONResource(b []byte, r *resource.Resource) []byte {
	b = append(b, '{')
	b = AppendJSONAttributeSet(b, "attributes", r.Set())
	return append(b, '}')
}

// AppendJSONResourceMember appends `"resource":{...}` for r, or nothing
// when r is nil (as [AppendResourceField] does).
func AppendJSONResourceMember(b []byte, r *resource.Resource) []byte {
	if r == nil {
		return b
	}
	return appendJSONResource(appendJSONName(b, "resource"), r)
}

// appendJSONScope appends the InstrumentationScope object for s.
func appendJSONScope(b []byte, s *instrumentation.Scope) []byte {
	b = append(b, '{')
	b = AppendJSONStringMember(b, "name", s.Name)
	b = AppendJSONStringMember(b, "version", s.Version)
	b = AppendJSONAttributeSet(b, "attributes", &s.Attributes)
	return append(b, '}')
}

// AppendJSONScopeMember appends `"scope":{...}` for s, or nothing when
// [ScopePresent] reports false.
func AppendJSONScopeMember(b []byte, s *instrumentation.Scope) []byte {
	if !ScopePresent(s) {
		return b
	}
	return appendJSONScope(appendJSONName(b, "scope"), s)
}
