package consumer

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/recordtag"
)

// Signal names a telemetry signal.
type Signal string

// Signals, as the otel.signal tag spells them.
const (
	Traces  Signal = recordtag.SignalTraces
	Metrics Signal = recordtag.SignalMetrics
	Logs    Signal = recordtag.SignalLogs
)

// Format says how a user record's data is written: which signal, content type and
// compression. otelkinesis writes it in each user record's tags; records written by other
// producers (the Collector's Kinesis exporter, or otelkinesis with aggregation off) carry
// no tags, and the reader states it with [WithFormat].
type Format struct {
	// Signal is Traces, Metrics or Logs.
	Signal Signal
	// ContentType is "application/x-protobuf" (OTLP protobuf) or "application/json"
	// (OTLP/JSON).
	ContentType string
	// ContentEncoding is "" (none), "gzip" or "zstd".
	ContentEncoding string
}

// Content types of Format.
const (
	ContentTypeProtobuf = recordtag.ContentTypeProtobuf
	ContentTypeJSON     = recordtag.ContentTypeJSON
)

// Telemetry is one decoded user record: exactly one of Traces, Metrics and Logs is set,
// as Format.Signal says.
type Telemetry struct {
	Format  Format
	Traces  *coltracepb.ExportTraceServiceRequest
	Metrics *colmetricpb.ExportMetricsServiceRequest
	Logs    *collogspb.ExportLogsServiceRequest
}

// ErrNoFormat is returned for a user record without otelkinesis tags when the Decoder
// was given no WithFormat.
var ErrNoFormat = errors.New("consumer: user record has no otelkinesis tags and no format was given (WithFormat)")

// ErrTooLarge is returned when a user record decompresses to more than WithMaxDecodedSize.
var ErrTooLarge = errors.New("consumer: decompressed user record too large")

// DefaultMaxDecodedSize is the default of WithMaxDecodedSize: 64 MiB.
const DefaultMaxDecodedSize = 64 << 20

// Decoder turns user records into OTLP requests. It is safe for concurrent use.
type Decoder struct {
	fallback   *Format
	maxDecoded int64
	zstd       *zstd.Decoder
}

// DecodeOption configures a Decoder.
type DecodeOption interface{ applyDecode(*Decoder) error }

type decodeOptionFunc func(*Decoder) error

func (f decodeOptionFunc) applyDecode(d *Decoder) error { return f(d) }

// WithFormat states the format of user records that carry no otelkinesis tags: records
// written by the Collector's Kinesis exporter (encoding otlp_proto or otlp_json, one
// OTLP request per Kinesis record), or by otelkinesis with aggregation off. Besides
// "gzip" and "zstd", ContentEncoding may be "zlib" or "flate", the Collector exporter's
// other compressions ("none" means ""). Tags, where present, still win. Default: none,
// and such records fail with ErrNoFormat.
func WithFormat(f Format) DecodeOption {
	return decodeOptionFunc(func(d *Decoder) error {
		if f.ContentEncoding == "none" {
			f.ContentEncoding = ""
		}
		if err := f.validate(); err != nil {
			return fmt.Errorf("consumer: WithFormat(%+v): %w", f, err)
		}
		d.fallback = &f
		return nil
	})
}

// Content encodings of Format. EncodingZlib and EncodingFlate occur only in records
// without tags, stated with WithFormat: the Collector's Kinesis exporter writes them.
const (
	EncodingGzip  = recordtag.EncodingGzip
	EncodingZstd  = recordtag.EncodingZstd
	EncodingZlib  = "zlib"  // RFC 1950 zlib stream
	EncodingFlate = "flate" // RFC 1951 raw DEFLATE
)

// validate checks f names a known signal, content type and content encoding.
func (f Format) validate() error {
	desc := recordtag.Description{Signal: string(f.Signal), ContentType: f.ContentType}
	if err := desc.Validate(); err != nil {
		return err
	}
	switch f.ContentEncoding {
	case "", EncodingGzip, EncodingZstd, EncodingZlib, EncodingFlate:
		return nil
	}
	return fmt.Errorf("unknown content encoding %q (allowed: none, gzip, zstd, zlib, flate)", f.ContentEncoding)
}

// WithMaxDecodedSize bounds how large a compressed user record may grow when decompressed,
// against decompression bombs. Default 64 MiB; n must be positive.
func WithMaxDecodedSize(n int64) DecodeOption {
	return decodeOptionFunc(func(d *Decoder) error {
		if n <= 0 {
			return fmt.Errorf("consumer: WithMaxDecodedSize(%d): must be positive", n)
		}
		d.maxDecoded = n
		return nil
	})
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts ...DecodeOption) (*Decoder, error) {
	d := &Decoder{maxDecoded: DefaultMaxDecodedSize}
	for _, o := range opts {
		if err := o.applyDecode(d); err != nil {
			return nil, err
		}
	}
	zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(uint64(d.maxDecoded)))
	if err != nil {
		return nil, fmt.Errorf("consumer: zstd decoder: %w", err)
	}
	d.zstd = zd
	return d, nil
}

// Close releases the decoder's resources.
func (d *Decoder) Close() { d.zstd.Close() }

// Format returns the format of r: from its tags, or the WithFormat fallback for a record
// without otelkinesis tags.
func (d *Decoder) Format(r UserRecord) (Format, error) {
	f, err := d.format(r)
	if err != nil {
		return f, d.wrap(r, err)
	}
	return f, nil
}

// format is Format with errors that do not name the record.
func (d *Decoder) format(r UserRecord) (Format, error) {
	desc, ok, err := recordtag.Parse(aggregation.ConvertTags[aggregation.Tag](r.Tags))
	switch {
	case err != nil:
		return Format{}, err
	case ok:
		return Format{Signal: Signal(desc.Signal), ContentType: desc.ContentType, ContentEncoding: desc.ContentEncoding}, nil
	case d.fallback != nil:
		return *d.fallback, nil
	}
	return Format{}, ErrNoFormat
}

// wrap names the record in err. ErrNoFormat and ErrTooLarge keep their own text first.
func (d *Decoder) wrap(r UserRecord, err error) error {
	if errors.Is(err, ErrNoFormat) || errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("%w: %s", err, describe(r))
	}
	return fmt.Errorf("consumer: %s: %w", describe(r), err)
}

// Payload returns r's format and its data decompressed: the OTLP request bytes, ready to
// forward to an OTLP endpoint with the format's content type. The bytes may share memory
// with r.Data.
func (d *Decoder) Payload(r UserRecord) (Format, []byte, error) {
	f, out, err := d.payload(r)
	if err != nil {
		return f, nil, d.wrap(r, err)
	}
	return f, out, nil
}

// payload is Payload with errors that do not name the record.
func (d *Decoder) payload(r UserRecord) (Format, []byte, error) {
	f, err := d.format(r)
	if err != nil {
		return f, nil, err
	}
	var out []byte
	switch f.ContentEncoding {
	case "":
		out = r.Data
	case EncodingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(r.Data))
		if err != nil {
			return f, nil, fmt.Errorf("gzip: %w", err)
		}
		if out, err = d.readAll(zr); err != nil {
			return f, nil, fmt.Errorf("gzip: %w", err)
		}
	case EncodingZlib:
		zr, err := zlib.NewReader(bytes.NewReader(r.Data))
		if err != nil {
			return f, nil, fmt.Errorf("zlib: %w", err)
		}
		if out, err = d.readAll(zr); err != nil {
			return f, nil, fmt.Errorf("zlib: %w", err)
		}
	case EncodingFlate:
		if out, err = d.readAll(flate.NewReader(bytes.NewReader(r.Data))); err != nil {
			return f, nil, fmt.Errorf("flate: %w", err)
		}
	case EncodingZstd:
		out, err = d.zstd.DecodeAll(r.Data, nil)
		if err != nil {
			return f, nil, fmt.Errorf("zstd: %w", err)
		}
	}
	if int64(len(out)) > d.maxDecoded {
		return f, nil, fmt.Errorf("%w: over %s", ErrTooLarge, plural.Count(d.maxDecoded, "byte"))
	}
	return f, out, nil
}

// readAll reads r to its end, but at most one byte past the decoded size limit.
func (d *Decoder) readAll(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, d.maxDecoded+1))
}

// Decode decodes r into the OTLP request its format names. The strings and bytes fields
// of a request decoded from OTLP protobuf share one private copy of the payload, and its
// messages a few chunks allocated together; keeping any part keeps them all.
func (d *Decoder) Decode(r UserRecord) (Telemetry, error) {
	t, _, err := d.decode(r, nil)
	if err != nil {
		return t, d.wrap(r, err)
	}
	return t, nil
}

// decode is Decode that also returns the payload, with errors that do not name the record.
// The fast decoder takes its values from arena a (nil: a pooled one of its own).
func (d *Decoder) decode(r UserRecord, a *otlpArena) (Telemetry, []byte, error) {
	f, data, err := d.payload(r)
	if err != nil {
		return Telemetry{Format: f}, nil, err
	}
	t, err := unmarshalTelemetry(f, data, a)
	return t, data, err
}

// unmarshalTelemetry decodes one OTLP request of format f (its content encoding already
// undone). OTLP protobuf goes through the fast decoder of fastotlp.go, with its values
// from arena a (nil: a pooled one of its own), and what it gives up on through
// proto.Unmarshal.
func unmarshalTelemetry(f Format, data []byte, a *otlpArena) (Telemetry, error) {
	t := Telemetry{Format: f}
	var msg proto.Message
	var err error
	switch f.Signal {
	case Traces:
		if f.ContentType != ContentTypeJSON {
			if t.Traces, err = fastUnmarshalTraces(a, data); err == nil {
				return t, nil
			}
		}
		t.Traces = &coltracepb.ExportTraceServiceRequest{}
		msg = t.Traces
	case Metrics:
		if f.ContentType != ContentTypeJSON {
			if t.Metrics, err = fastUnmarshalMetrics(a, data); err == nil {
				return t, nil
			}
		}
		t.Metrics = &colmetricpb.ExportMetricsServiceRequest{}
		msg = t.Metrics
	case Logs:
		if f.ContentType != ContentTypeJSON {
			if t.Logs, err = fastUnmarshalLogs(a, data); err == nil {
				return t, nil
			}
		}
		t.Logs = &collogspb.ExportLogsServiceRequest{}
		msg = t.Logs
	default:
		return Telemetry{Format: f}, fmt.Errorf("unknown signal %q", f.Signal)
	}
	if f.ContentType == ContentTypeJSON {
		err = unmarshalOTLPJSON(data, msg)
	} else {
		err = proto.Unmarshal(data, msg)
	}
	if err != nil {
		return Telemetry{Format: f}, fmt.Errorf("%s %s: %w", f.Signal, f.ContentType, err)
	}
	return t, nil
}

// describe names a user record in errors: its sequence and sub-sequence numbers when
// known, and its partition key.
func describe(r UserRecord) string {
	if r.SequenceNumber != "" {
		return fmt.Sprintf("user record %s/%d (partition key %q)", r.SequenceNumber, r.SubSequenceNumber, r.PartitionKey)
	}
	return fmt.Sprintf("user record %d (partition key %q)", r.SubSequenceNumber, r.PartitionKey)
}

// idFields are the OTLP/JSON members holding trace and span IDs, which OTLP/JSON writes as
// hex where protojson expects base64.
var idFields = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true}

// unmarshalOTLPJSON reads the OTLP/JSON mapping into msg: protojson's mapping with trace
// and span IDs in hex instead of base64. The IDs are rewritten in one pass over the bytes,
// without building a JSON tree, then protojson reads the result.
func unmarshalOTLPJSON(data []byte, msg proto.Message) error {
	fixed, err := hexIDsToBase64(data)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, msg)
}

// hexIDsToBase64 copies the JSON text data, rewriting the string value of every member
// named in idFields from hex to base64. It tells keys from values by the colon that
// follows a key, and skips escaped quotes inside strings; text it cannot follow is copied
// as it is, for protojson to refuse with its own error.
func hexIDsToBase64(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data)+len(data)/8)
	skipSpace := func(i int) int {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
		return i
	}
	// stringEnd returns the index of the quote closing the string opened at i.
	stringEnd := func(i int) int {
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j
			}
		}
		return len(data)
	}
	for i := 0; i < len(data); {
		if data[i] != '"' {
			out = append(out, data[i])
			i++
			continue
		}
		end := stringEnd(i)
		if end == len(data) {
			return append(out, data[i:]...), nil
		}
		key := data[i+1 : end]
		out = append(out, data[i:end+1]...)
		i = end + 1
		colon := skipSpace(i)
		if colon == len(data) || data[colon] != ':' || !idFields[string(key)] {
			continue
		}
		val := skipSpace(colon + 1)
		out = append(out, data[i:val]...)
		i = val
		if val == len(data) || data[val] != '"' {
			continue
		}
		vend := stringEnd(val)
		if vend == len(data) {
			continue
		}
		hexID := data[val+1 : vend]
		raw := make([]byte, hex.DecodedLen(len(hexID)))
		if _, err := hex.Decode(raw, hexID); err != nil {
			return nil, fmt.Errorf("%s %q: not hex", key, hexID)
		}
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, raw)
		out = append(out, '"')
		i = vend + 1
	}
	return out, nil
}
