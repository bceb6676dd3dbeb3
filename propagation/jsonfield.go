package propagation

import (
	"fmt"

	"github.com/otelkinesis/otelkinesis/internal/jsonstr"
)

// DefaultJSONField is the name of the top-level member that carries context
// in a JSON object payload, unless WithJSONField names another.
const DefaultJSONField = "_otel"

// maxJSONFieldBytes bounds the text of the context field a reader looks at:
// the envelope's header limit with room for JSON quoting and escapes.
const maxJSONFieldBytes = 2 * MaxEnvelopeHeaderBytes

// InsertJSONField appends to dst the JSON object payload with a new first
// member named field whose value is an object of the headers as strings, and
// returns the extended slice:
//
//	{"a":1}  becomes  {"_otel":{"traceparent":"00-…-01"},"a":1}
//
// Everything else in payload is kept byte for byte, so ExtractJSONField gives
// back exactly payload. An existing member of the same name is not touched:
// the new one comes first, and readers of this package only look at the first
// member. With no headers the field is an empty object; a Producer puts one
// in front of a first member that already has the field's name when the
// record's context goes elsewhere or nowhere, so the consumer removes exactly
// one.
//
// The error wraps ErrNotJSONObject when payload, without surrounding
// whitespace, does not begin with '{' and end with '}' (nothing else is
// validated), and ErrHeadersTooLarge when the headers break the envelope's
// limits; dst is then returned unchanged.
func InsertJSONField(dst []byte, field string, headers []Tag, payload []byte) ([]byte, error) {
	open, ok := jsonObjectBounds(payload)
	if !ok {
		return dst, fmt.Errorf("insert JSON field %s: %w", quoteShort(field), ErrNotJSONObject)
	}
	if field == "" {
		return dst, fmt.Errorf("insert JSON field: empty field name: %w", ErrHeadersTooLarge)
	}
	if _, err := EnvelopeSize(headers, 0); err != nil {
		return dst, fmt.Errorf("insert JSON field %s: %w", quoteShort(field), err)
	}
	n := len(payload) + len(field) + 6
	for _, t := range headers {
		n += len(t.Key) + len(t.Value) + 6
	}
	dst = grow(dst, n)
	dst = append(dst, payload[:open+1]...)
	dst = jsonstr.Append(dst, field)
	dst = append(dst, ':', '{')
	for i, t := range headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, t.Key)
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, t.Value)
	}
	dst = append(dst, '}')
	rest := payload[open+1:]
	if payload[skipJSONSpace(payload, open+1)] != '}' {
		dst = append(dst, ',')
	}
	return append(dst, rest...), nil
}

// jsonObjectBounds returns the index of the opening brace of a payload that,
// trimmed of JSON whitespace, starts with '{' and ends with '}'.
func jsonObjectBounds(payload []byte) (open int, ok bool) {
	open = skipJSONSpace(payload, 0)
	end := len(payload)
	for end > open && isJSONSpace(payload[end-1]) {
		end--
	}
	if end-open < 2 || payload[open] != '{' || payload[end-1] != '}' {
		return 0, false
	}
	return open, true
}

// ExtractJSONField looks at the first member of the JSON object in data. If
// its name is field and its value an object whose members are all strings, it
// returns those members as headers and a copy of data without that member
// (and the comma after it): for a payload written by InsertJSONField, exactly
// the original payload.
//
// Otherwise it returns data itself, and an error: one wrapping
// ErrNotJSONObject when data is not an object, ErrMalformedJSONField when the
// first member has the field's name but not a well-formed value, or
// errNoJSONField when the first member has another name. Only the member is
// parsed, never the rest of the object, and only within the first 32 KiB of
// data; the copy of the rest of data it returns when it takes the member off
// is the one cost that grows with data.
func ExtractJSONField(field string, data []byte) (headers TagCarrier, payload []byte, err error) {
	start, end, headers, err := scanJSONField(field, data)
	if err != nil {
		return nil, data, err
	}
	out := make([]byte, 0, len(data)-(end-start))
	out = append(out, data[:start]...)
	return headers, append(out, data[end:]...), nil
}

// errNoJSONField reports a JSON object whose first member is not the context
// field: the usual case, not worth a reason in Message.Err.
var errNoJSONField = fmt.Errorf("%w: first member is not the context field", ErrNotJSONObject)

// scanJSONField finds the context field as the first member of the object in
// data and returns the byte range to cut (from after the opening brace to
// after the comma that follows the member, or to the end of the member when
// it is the only one) and its members.
func scanJSONField(field string, data []byte) (start, end int, headers TagCarrier, err error) {
	open := skipJSONSpace(data, 0)
	if open >= len(data) || data[open] != '{' {
		return 0, 0, nil, fmt.Errorf("JSON field %s: %w", quoteShort(field), ErrNotJSONObject)
	}
	start = open + 1
	limit := min(len(data), start+maxJSONFieldBytes)
	s := &jsonScanner{b: data[:limit]}
	s.i = skipJSONSpace(s.b, start)
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, nil, errNoJSONField
	}
	name, ok := s.rawString()
	if !ok || !s.equalsString(name, field) {
		return 0, 0, nil, errNoJSONField
	}
	if !s.skipSpace() || s.b[s.i] != ':' {
		return 0, 0, nil, s.fail(field, "no colon after the name")
	}
	s.i++
	if !s.skipSpace() || s.b[s.i] != '{' {
		return 0, 0, nil, s.fail(field, "value is not an object")
	}
	s.i++
	for {
		if !s.skipSpace() {
			return 0, 0, nil, s.fail(field, "object not closed within the limit")
		}
		if s.b[s.i] == '}' && len(headers) == 0 {
			break
		}
		if len(headers) == MaxEnvelopeHeaders {
			return 0, 0, nil, s.fail(field, "too many members")
		}
		k, ok := s.string()
		if !ok || k == "" || len(k) > maxEnvelopeKey {
			return 0, 0, nil, s.fail(field, "bad member name")
		}
		if !s.skipSpace() || s.b[s.i] != ':' {
			return 0, 0, nil, s.fail(field, "no colon after a member name")
		}
		s.i++
		if !s.skipSpace() {
			return 0, 0, nil, s.fail(field, "object not closed within the limit")
		}
		v, ok := s.string()
		if !ok || len(v) > MaxEnvelopeHeaderBytes {
			return 0, 0, nil, s.fail(field, "member value is not a string")
		}
		headers = append(headers, Tag{Key: k, Value: v})
		if !s.skipSpace() {
			return 0, 0, nil, s.fail(field, "object not closed within the limit")
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.b[s.i] != '}' {
			return 0, 0, nil, s.fail(field, "expected , or } after a member")
		}
		break
	}
	s.i++ // the field's closing brace
	// After the member: a comma (cut it too), or the object's end (keep it).
	s.b = data
	after := skipJSONSpace(data, s.i)
	switch {
	case after < len(data) && data[after] == ',':
		return start, after + 1, headers, nil
	case after < len(data) && data[after] == '}':
		return start, s.i, headers, nil
	default:
		return 0, 0, nil, s.fail(field, "expected , or } after the field")
	}
}

// jsonScanner reads JSON tokens from b, at most len(b) bytes.
type jsonScanner struct {
	b []byte
	i int
}

// fail reports a malformed context field at the scanner's position.
func (s *jsonScanner) fail(field, why string) error {
	return fmt.Errorf("%w %s: %s at byte %d", ErrMalformedJSONField, quoteShort(field), why, s.i)
}

// skipSpace skips JSON whitespace and reports whether a byte follows.
func (s *jsonScanner) skipSpace() bool {
	s.i = skipJSONSpace(s.b, s.i)
	return s.i < len(s.b)
}

// rawString reads the string token at s.i and returns its bytes between the
// quotes, escapes undecoded.
func (s *jsonScanner) rawString() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			raw := s.b[s.i+1 : j]
			s.i = j + 1
			return raw, true
		case c == '\\':
			j++
		case c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// string reads the string token at s.i and decodes it.
func (s *jsonScanner) string() (string, bool) {
	raw, ok := s.rawString()
	if !ok {
		return "", false
	}
	return jsonstr.Decode(raw)
}

// equalsString reports whether the raw string token decodes to want. It does
// not allocate when raw has no escapes.
func (s *jsonScanner) equalsString(raw []byte, want string) bool {
	for _, c := range raw {
		if c == '\\' {
			got, ok := jsonstr.Decode(raw)
			return ok && got == want
		}
	}
	return string(raw) == want
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipJSONSpace returns the index of the first non-whitespace byte of b at or
// after i, or len(b).
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}
