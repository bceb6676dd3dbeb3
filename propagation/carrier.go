package propagation

import (
	"strconv"

	"go.opentelemetry.io/otel/propagation"
)

// Tag is one key/value pair: a tag of a KPL user record, a header of an
// envelope, a member of a JSON context field. It is the one tag type of the
// module: otelkinesis.Tag, the tags Producer.Put sends, and consumer.Tag, the
// tags a UserRecord comes with, are this type, so tags read from a stream can
// be put again, or handed to Extract, as they are.
//
// A KPL tag travels inside its aggregated record only: standard
// deaggregators ignore tags, and a record sent without aggregation carries
// none.
type Tag struct {
	// Key is the tag's key: the name of a KPL tag, a header or a JSON
	// member.
	Key string
	// Value is the tag's value. An empty value is written as a tag without
	// one, and reads back as "".
	Value string
}

// TagCarrier is a TextMapCarrier over an ordered list of key/value pairs. It
// is the carrier of three formats: the tags of a KPL user record (FormatTags),
// the headers of an envelope (FormatEnvelope, see AppendEnvelope) and the
// members of a JSON context field (FormatJSON, see InsertJSONField). Unlike the
// key carrier it holds every field a propagator sets: traceparent, tracestate,
// baggage, X-Ray's X-Amzn-Trace-Id.
//
// Keys match without regard to ASCII letter case. Set replaces the value of a
// key already present and appends a new key at the end; tags that are not
// propagation fields (say, those telling which signal a record holds) are kept
// as they are.
type TagCarrier []Tag

var _ propagation.TextMapCarrier = (*TagCarrier)(nil)

// Get returns the value of the first tag named key, or "".
func (c TagCarrier) Get(key string) string {
	for i := range c {
		if equalFold(c[i].Key, key) {
			return c[i].Value
		}
	}
	return ""
}

// Set replaces the value of the first tag named key, or appends the tag.
func (c *TagCarrier) Set(key, value string) {
	for i := range *c {
		if equalFold((*c)[i].Key, key) {
			(*c)[i].Value = value
			return
		}
	}
	*c = append(*c, Tag{Key: key, Value: value})
}

// Keys returns the keys of every tag, in order.
func (c TagCarrier) Keys() []string {
	if len(c) == 0 {
		return nil
	}
	keys := make([]string, len(c))
	for i := range c {
		keys[i] = c[i].Key
	}
	return keys
}

// equalFold reports whether a and b are equal under ASCII case folding.
func equalFold[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort[S ~string | ~[]byte](s S) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(string(s[:limit])) + "..."
	}
	return strconv.Quote(string(s))
}
