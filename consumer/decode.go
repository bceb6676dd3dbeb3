package consumer

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

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

// WithFormat states the format of user records that carry no otelkinesis tags. Default:
// none, and such records fail with ErrNoFormat.
func WithFormat(f Format) DecodeOption {
	return decodeOptionFunc(func(d *Decoder) error {
		desc := recordtag.Description{Signal: string(f.Signal), ContentType: f.ContentType, ContentEncoding: f.ContentEncoding}
		if err := desc.Validate(); err != nil {
			return fmt.Errorf("consumer: WithFormat(%+v): %w", f, err)
		}
		d.fallback = &f
		return nil
	})
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
	desc, ok, err := recordtag.Parse(r.Tags)
	switch {
	case err != nil:
		return Format{}, fmt.Errorf("consumer: %s: %w", describe(r), err)
	case ok:
		return Format{Signal: Signal(desc.Signal), ContentType: desc.ContentType, ContentEncoding: desc.ContentEncoding}, nil
	case d.fallback != nil:
		return *d.fallback, nil
	}
	return Format{}, fmt.Errorf("%w: %s", ErrNoFormat, describe(r))
}

// Payload returns r's format and its data decompressed: the OTLP request bytes, ready to
// forward to an OTLP endpoint with the format's content type. The bytes may share memory
// with r.Data.
func (d *Decoder) Payload(r UserRecord) (Format, []byte, error) {
	f, err := d.Format(r)
	if err != nil {
		return f, nil, err
	}
	var out []byte
	switch f.ContentEncoding {
	case "":
		out = r.Data
	case recordtag.EncodingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(r.Data))
		if err != nil {
			return f, nil, fmt.Errorf("consumer: %s: gzip: %w", describe(r), err)
		}
		out, err = io.ReadAll(io.LimitReader(zr, d.maxDecoded+1))
		if err != nil {
			return f, nil, fmt.Errorf("consumer: %s: gzip: %w", describe(r), err)
		}
	case recordtag.EncodingZstd:
		out, err = d.zstd.DecodeAll(r.Data, nil)
		if err != nil {
			return f, nil, fmt.Errorf("consumer: %s: zstd: %w", describe(r), err)
		}
	}
	if int64(len(out)) > d.maxDecoded {
		return f, nil, fmt.Errorf("%w: %s: over %d bytes", ErrTooLarge, describe(r), d.maxDecoded)
	}
	return f, out, nil
}

// Decode decodes r into the OTLP request its format names.
func (d *Decoder) Decode(r UserRecord) (Telemetry, error) {
	f, data, err := d.Payload(r)
	if err != nil {
		return Telemetry{Format: f}, err
	}
	t := Telemetry{Format: f}
	var msg proto.Message
	switch f.Signal {
	case Traces:
		t.Traces = &coltracepb.ExportTraceServiceRequest{}
		msg = t.Traces
	case Metrics:
		t.Metrics = &colmetricpb.ExportMetricsServiceRequest{}
		msg = t.Metrics
	case Logs:
		t.Logs = &collogspb.ExportLogsServiceRequest{}
		msg = t.Logs
	}
	if f.ContentType == ContentTypeJSON {
		err = unmarshalOTLPJSON(data, msg)
	} else {
		err = proto.Unmarshal(data, msg)
	}
	if err != nil {
		return Telemetry{Format: f}, fmt.Errorf("consumer: %s: %s %s: %w", describe(r), f.Signal, f.ContentType, err)
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
// and span IDs in hex instead of base64.
func unmarshalOTLPJSON(data []byte, msg proto.Message) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if err := hexIDsToBase64(v); err != nil {
		return err
	}
	fixed, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, msg)
}

func hexIDsToBase64(v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if s, ok := child.(string); ok && idFields[k] {
				raw, err := hex.DecodeString(s)
				if err != nil {
					return fmt.Errorf("%s %q: not hex", k, s)
				}
				x[k] = base64.StdEncoding.EncodeToString(raw)
				continue
			}
			if err := hexIDsToBase64(child); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range x {
			if err := hexIDsToBase64(child); err != nil {
				return err
			}
		}
	}
	return nil
}
