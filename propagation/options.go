package propagation

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "github.com/otelkinesis/otelkinesis/propagation"

// DefaultMaxRecordSize is the record size limit assumed unless
// WithMaxRecordSize gives the stream's own: 1 MiB, the Kinesis default.
const DefaultMaxRecordSize = 1 << 20

// Format names a way of carrying context on a Kinesis record. Each costs something
// different (bytes, a changed partition key, a payload consumers must unwrap): the
// package documentation says what, format by format.
type Format uint8

// The formats.
const (
	// FormatNone means no context: the record carries none, or none was
	// injected.
	FormatNone Format = iota
	// FormatKey carries the traceparent in the partition key and keeps the
	// business key's shard with an ExplicitHashKey (see KeyCarrier).
	FormatKey
	// FormatEnvelope wraps the data in a small binary frame with headers (see
	// AppendEnvelope).
	FormatEnvelope
	// FormatJSON adds a first member to a JSON object payload (see
	// InsertJSONField).
	FormatJSON
	// FormatTags puts the fields in the tags of a KPL user record (see
	// TagCarrier).
	FormatTags
	formatCount
)

// String returns the format's name: "none", "key", "envelope", "json", "tags".
func (f Format) String() string {
	switch f {
	case FormatNone:
		return "none"
	case FormatKey:
		return "key"
	case FormatEnvelope:
		return "envelope"
	case FormatJSON:
		return "json"
	case FormatTags:
		return "tags"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// config holds the settings of a Producer or Consumer.
type config struct {
	tracerProvider trace.TracerProvider
	propagator     propagation.TextMapPropagator
	format         Format
	fallback       Format
	extract        [formatCount]bool
	jsonField      string
	maxRecordSize  int
	strict         bool
	err            error
}

func newConfig(opts []Option) config {
	c := config{
		format:        FormatKey,
		jsonField:     DefaultJSONField,
		maxRecordSize: DefaultMaxRecordSize,
	}
	for f := FormatKey; f < formatCount; f++ {
		c.extract[f] = true
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.propagator == nil {
		c.propagator = otel.GetTextMapPropagator()
	}
	return c
}

// Option configures a Producer or a Consumer.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the provider of the tracer that starts producer and
// consumer spans. Default: the global provider, otel.GetTracerProvider(), read
// when the Producer or Consumer is built.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithPropagator sets the propagator that writes and reads the context
// fields. Default: the global propagator, otel.GetTextMapPropagator(), read
// when the Producer or Consumer is built. With propagation.TraceContext{} the
// W3C fields are written and read directly, without building intermediate
// strings; any other propagator (a composite with baggage, X-Ray) goes through
// the carriers' TextMapCarrier methods.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.propagator = p })
}

// WithFormat sets the format a Producer writes context in. Default: FormatKey.
// FormatNone turns injection off (spans are still started).
func WithFormat(f Format) Option {
	return optionFunc(func(c *config) {
		if f >= formatCount {
			c.err = fmt.Errorf("propagation: WithFormat(%v): unknown format", f)
			return
		}
		c.format = f
	})
}

// WithFallback sets the format a Producer uses for a record the main format
// cannot carry context on: a business key too long to wrap, a propagator with
// no traceparent or with fields the key cannot hold (tracestate, baggage), a
// payload that is not a JSON object, tags on a plain record, a record the
// context would push over the size limit. Default: FormatNone, no fallback:
// such a record is sent without context (or only with the traceparent, for
// the key) and the Producer reports why.
func WithFallback(f Format) Option {
	return optionFunc(func(c *config) {
		if f >= formatCount {
			c.err = fmt.Errorf("propagation: WithFallback(%v): unknown format", f)
			return
		}
		c.fallback = f
	})
}

// WithExtractFormats sets the formats a Consumer looks for, and takes apart.
// Default: all four. A Consumer that does not list FormatJSON, say, leaves a
// JSON context field in the data: both the fields that carry context and the
// empty ones a Producer adds to data whose first member has the field's name
// (see the package documentation on look-alikes).
func WithExtractFormats(fs ...Format) Option {
	return optionFunc(func(c *config) {
		c.extract = [formatCount]bool{}
		for _, f := range fs {
			if f == FormatNone || f >= formatCount {
				c.err = fmt.Errorf("propagation: WithExtractFormats: unknown format %v", f)
				continue
			}
			c.extract[f] = true
		}
	})
}

// WithJSONField sets the name of the top-level member that carries context in
// JSON object payloads. Default: DefaultJSONField, "_otel". An empty name is
// refused.
func WithJSONField(name string) Option {
	return optionFunc(func(c *config) {
		if name == "" {
			c.err = fmt.Errorf("propagation: WithJSONField(%q): empty name", name)
			return
		}
		c.jsonField = name
	})
}

// WithMaxRecordSize sets the stream's record size limit in bytes, which a
// Producer keeps records within when it adds an envelope or a JSON field.
// Default: DefaultMaxRecordSize (1 MiB); a stream can allow up to 10 MiB
// (DescribeStreamSummary reports MaxRecordSizeInKiB). Values below 1 are
// refused.
func WithMaxRecordSize(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.err = fmt.Errorf("propagation: WithMaxRecordSize(%d): must be at least 1", n)
			return
		}
		c.maxRecordSize = n
	})
}

// WithStrict makes the Producer's middleware fail a PutRecord or PutRecords
// call, before sending it, when a record cannot carry context (after the
// fallback). Default: off: the call goes ahead, the records that could not
// carry context are sent as they are, and the reason is recorded on the
// record's span and passed to otel.Handle.
func WithStrict() Option {
	return optionFunc(func(c *config) { c.strict = true })
}
