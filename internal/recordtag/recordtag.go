// Package recordtag defines the KPL user-record tags that make an otelkinesis stream
// self-describing: which signal a user record holds, in which content type,
// under which compression. The exporters write them and the consumer reads them; this
// package is the one place that spells them.
//
//	key                value
//	otel.signal        traces | metrics | logs
//	content-type       application/x-protobuf | application/json
//	content-encoding   gzip | zstd (absent: not compressed)
//
// Tags exist only on aggregated records; standard deaggregators ignore them.
package recordtag

import (
	"fmt"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// Tag keys.
const (
	KeySignal          = "otel.signal"
	KeyContentType     = "content-type"
	KeyContentEncoding = "content-encoding"
)

// Signal values.
const (
	SignalTraces  = "traces"
	SignalMetrics = "metrics"
	SignalLogs    = "logs"
)

// Content types.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Content encodings; an absent content-encoding tag means none.
const (
	EncodingGzip = "gzip"
	EncodingZstd = "zstd"
)

// Description is what the tags of one user record say.
type Description struct {
	// Signal is SignalTraces, SignalMetrics or SignalLogs.
	Signal string
	// ContentType is ContentTypeProtobuf or ContentTypeJSON.
	ContentType string
	// ContentEncoding is "", EncodingGzip or EncodingZstd.
	ContentEncoding string
}

// Tags returns the tags for d, in a fixed order, leaving out an empty content encoding.
func (d Description) Tags() []aggregation.Tag {
	tags := []aggregation.Tag{{Key: KeySignal, Value: d.Signal}, {Key: KeyContentType, Value: d.ContentType}}
	if d.ContentEncoding != "" {
		tags = append(tags, aggregation.Tag{Key: KeyContentEncoding, Value: d.ContentEncoding})
	}
	return tags
}

// Parse reads the description from a user record's tags. ok is false when the record
// carries no otel.signal tag (it was not written by otelkinesis); an error means the tags
// are there but name something unknown.
func Parse(tags []aggregation.Tag) (d Description, ok bool, err error) {
	for _, t := range tags {
		switch t.Key {
		case KeySignal:
			d.Signal, ok = t.Value, true
		case KeyContentType:
			d.ContentType = t.Value
		case KeyContentEncoding:
			d.ContentEncoding = t.Value
		}
	}
	if !ok {
		return d, false, nil
	}
	return d, true, d.Validate()
}

// Validate reports a description naming an unknown signal, content type or encoding.
func (d Description) Validate() error {
	switch d.Signal {
	case SignalTraces, SignalMetrics, SignalLogs:
	default:
		return fmt.Errorf("recordtag: unknown %s %q", KeySignal, d.Signal)
	}
	switch d.ContentType {
	case ContentTypeProtobuf, ContentTypeJSON:
	default:
		return fmt.Errorf("recordtag: unknown %s %q", KeyContentType, d.ContentType)
	}
	switch d.ContentEncoding {
	case "", EncodingGzip, EncodingZstd:
	default:
		return fmt.Errorf("recordtag: unknown %s %q", KeyContentEncoding, d.ContentEncoding)
	}
	return nil
}
