package propagation

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// The envelope frame. All integers are big-endian.
//
//	offset  size  field
//	0       4     magic           FE 4F 54 4B  ("\xFEOTK")
//	4       1     version         01
//	5       1     header count    N, 0 to 64
//	6       2     header bytes    H, 0 to 16384: the length of the header block
//	8       4     payload bytes   P: the length of the payload
//	12      4     checksum        CRC-32C (Castagnoli) of bytes 0 to 11, then of the header block
//	16      H     header block    N headers, each: key length (1 byte, 1 to 255), key,
//	                              value length (2 bytes), value
//	16+H    P     payload         the original record data, byte for byte
//
// A record is an envelope only if it is exactly 16+H+P bytes long, every field
// is in range, the header block holds exactly N well-formed headers and the
// checksum matches.
const (
	// EnvelopeVersion is the version of the envelope frame this package
	// writes and reads.
	EnvelopeVersion = 1
	// EnvelopeFixedSize is the size of the envelope's fixed part, before the
	// header block.
	EnvelopeFixedSize = 16
	// MaxEnvelopeHeaders is the most headers an envelope holds.
	MaxEnvelopeHeaders = 64
	// MaxEnvelopeHeaderBytes is the largest header block of an envelope: room
	// for a W3C baggage at its 8192-byte limit, a full tracestate and a
	// traceparent.
	MaxEnvelopeHeaderBytes = 16384
	maxEnvelopeKey         = 255
)

// EnvelopeMagic starts every envelope. Its first byte, FE, begins no UTF-8
// text, no JSON document and no valid protobuf message (its wire type, 6, does
// not exist), and differs from the first byte of a KPL aggregated record (F3),
// gzip (1F) and zstd (28) data.
var EnvelopeMagic = [4]byte{0xFE, 'O', 'T', 'K'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EnvelopeSize returns the size of the envelope AppendEnvelope would write for
// these headers around a payload of payloadLen bytes, or an error wrapping
// ErrHeadersTooLarge when the headers break a limit of the frame.
func EnvelopeSize(headers []Tag, payloadLen int) (int, error) {
	if len(headers) > MaxEnvelopeHeaders {
		return 0, fmt.Errorf("envelope: %s, at most %d allowed: %w",
			plural.Count(len(headers), "header"), MaxEnvelopeHeaders, ErrHeadersTooLarge)
	}
	h := 0
	for _, t := range headers {
		if len(t.Key) == 0 || len(t.Key) > maxEnvelopeKey {
			return 0, fmt.Errorf("envelope: header key %s is %s, 1 to %d allowed: %w",
				quoteShort(t.Key), plural.Count(len(t.Key), "byte"), maxEnvelopeKey, ErrHeadersTooLarge)
		}
		h += 1 + len(t.Key) + 2 + len(t.Value)
		if h > MaxEnvelopeHeaderBytes {
			return 0, fmt.Errorf("envelope: headers take more than %s: %w",
				plural.Count(MaxEnvelopeHeaderBytes, "byte"), ErrHeadersTooLarge)
		}
	}
	if uint64(payloadLen) > math.MaxUint32 {
		return 0, fmt.Errorf("envelope: payload of %s, at most %d allowed: %w",
			plural.Count(payloadLen, "byte"), uint64(math.MaxUint32), ErrRecordTooLarge)
	}
	return EnvelopeFixedSize + h + payloadLen, nil
}

// AppendEnvelope appends to dst an envelope holding headers (in order) around
// payload, and returns the extended slice. Headers usually come from a
// propagator injecting into a TagCarrier. An envelope with no headers is
// valid: it carries no context, and is what a Producer writes around a
// payload that is itself an envelope (IsEnvelope) when the record's context
// goes elsewhere or nowhere, so the consumer unwraps exactly one level.
//
// The error wraps ErrHeadersTooLarge when a key is empty or over 255 bytes, or
// the header block would exceed MaxEnvelopeHeaderBytes or MaxEnvelopeHeaders;
// dst is then returned unchanged. AppendEnvelope does not check the stream's
// record size limit: compare len of the result (or EnvelopeSize) with it.
func AppendEnvelope(dst []byte, headers []Tag, payload []byte) ([]byte, error) {
	n, err := EnvelopeSize(headers, len(payload))
	if err != nil {
		return dst, err
	}
	dst = grow(dst, n)
	start := len(dst)
	dst = append(dst, make([]byte, EnvelopeFixedSize)...)
	for _, t := range headers {
		dst = appendEnvelopeHeader(dst, t.Key, t.Value)
	}
	return finishEnvelope(dst, start, len(headers), payload), nil
}

// grow makes room for n more bytes in dst.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	out := make([]byte, len(dst), len(dst)+n)
	copy(out, dst)
	return out
}

// appendEnvelopeHeader appends one header to a header block. The caller has
// checked the limits.
func appendEnvelopeHeader[V ~string | ~[]byte](dst []byte, key string, value V) []byte {
	dst = append(dst, byte(len(key)))
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}

// finishEnvelope fills in the fixed part of the envelope that starts at
// dst[start] (16 placeholder bytes followed by count headers), then appends
// payload.
func finishEnvelope(dst []byte, start, count int, payload []byte) []byte {
	fixed := dst[start : start+EnvelopeFixedSize]
	block := dst[start+EnvelopeFixedSize:]
	copy(fixed, EnvelopeMagic[:])
	fixed[4] = EnvelopeVersion
	fixed[5] = byte(count)
	binary.BigEndian.PutUint16(fixed[6:], uint16(len(block)))
	binary.BigEndian.PutUint32(fixed[8:], uint32(len(payload)))
	sum := crc32.Update(crc32.Checksum(fixed[:12], castagnoli), castagnoli, block)
	binary.BigEndian.PutUint32(fixed[12:], sum)
	return append(dst, payload...)
}

// IsEnvelope reports whether data is a well-formed envelope, checking the
// magic, version, lengths, header block and checksum. It does not allocate.
func IsEnvelope(data []byte) bool {
	if len(data) < EnvelopeFixedSize || [4]byte(data[:4]) != EnvelopeMagic {
		return false // most data: the first bytes say no
	}
	_, err := parseEnvelope(data)
	return err == nil
}

// OpenEnvelope takes an envelope apart. It returns its headers and its
// payload; the payload shares data's memory and is byte for byte what was
// wrapped. For data that does not start with EnvelopeMagic the error wraps
// ErrNotEnvelope; for data that starts with it but fails any other check the
// error wraps ErrMalformedEnvelope and says which. In both cases payload is
// data itself: such data is not an envelope and passes through untouched.
//
// Work and allocation are bounded by the header block (at most 16 KiB),
// whatever the size of data.
func OpenEnvelope(data []byte) (headers TagCarrier, payload []byte, err error) {
	env, err := parseEnvelope(data)
	if err != nil {
		return nil, data, err
	}
	if env.count == 0 {
		return nil, env.payload, nil
	}
	text := string(env.block) // one allocation backs every key and value
	headers = make(TagCarrier, 0, env.count)
	for off := 0; off < len(text); {
		k, v, next := env.header(off)
		headers = append(headers, Tag{
			Key:   text[off+1 : off+1+len(k)],
			Value: text[next-len(v) : next],
		})
		off = next
	}
	return headers, env.payload, nil
}

// envelope is a parsed, validated envelope; its slices share the record's
// memory.
type envelope struct {
	count   int
	block   []byte
	payload []byte
}

// header returns the header at offset off of the validated block, and the
// offset of the next one.
func (e *envelope) header(off int) (key, value []byte, next int) {
	kl := int(e.block[off])
	key = e.block[off+1 : off+1+kl]
	vl := int(binary.BigEndian.Uint16(e.block[off+1+kl:]))
	value = e.block[off+3+kl : off+3+kl+vl]
	return key, value, off + 3 + kl + vl
}

// get returns the value of the first header named key, case folded, or nil.
func (e *envelope) get(key string) []byte {
	v, _ := e.lookup(key)
	return v
}

// lookup returns the value of the first header named key, case folded.
func (e *envelope) lookup(key string) (value []byte, ok bool) {
	for off := 0; off < len(e.block); {
		k, v, next := e.header(off)
		if equalFold(k, key) {
			return v, true
		}
		off = next
	}
	return nil, false
}

// parseEnvelope validates data as an envelope. It does not allocate unless it
// fails on data that starts with the magic.
func parseEnvelope(data []byte) (envelope, error) {
	if len(data) < len(EnvelopeMagic) || [4]byte(data[:4]) != EnvelopeMagic {
		return envelope{}, ErrNotEnvelope
	}
	if len(data) < EnvelopeFixedSize {
		return envelope{}, fmt.Errorf("%w: %s, shorter than the %d-byte fixed part",
			ErrMalformedEnvelope, plural.Count(len(data), "byte"), EnvelopeFixedSize)
	}
	if data[4] != EnvelopeVersion {
		return envelope{}, fmt.Errorf("%w: version %d, this reader knows %d",
			ErrMalformedEnvelope, data[4], EnvelopeVersion)
	}
	count := int(data[5])
	h := int(binary.BigEndian.Uint16(data[6:]))
	p := uint64(binary.BigEndian.Uint32(data[8:]))
	switch {
	case count > MaxEnvelopeHeaders:
		return envelope{}, fmt.Errorf("%w: %s, at most %d allowed",
			ErrMalformedEnvelope, plural.Count(count, "header"), MaxEnvelopeHeaders)
	case h > MaxEnvelopeHeaderBytes:
		return envelope{}, fmt.Errorf("%w: header block of %s, at most %d allowed",
			ErrMalformedEnvelope, plural.Count(h, "byte"), MaxEnvelopeHeaderBytes)
	case uint64(EnvelopeFixedSize+h)+p != uint64(len(data)):
		return envelope{}, fmt.Errorf("%w: a header block of %s and a payload of %s do not add up to the record's %s",
			ErrMalformedEnvelope, plural.Count(h, "byte"), plural.Count(p, "byte"), plural.Count(len(data), "byte"))
	}
	block := data[EnvelopeFixedSize : EnvelopeFixedSize+h]
	want := binary.BigEndian.Uint32(data[12:])
	if got := crc32.Update(crc32.Checksum(data[:12], castagnoli), castagnoli, block); got != want {
		return envelope{}, fmt.Errorf("%w: checksum %08x, the frame says %08x", ErrMalformedEnvelope, got, want)
	}
	off, n := 0, 0
	for off < h {
		if n == count {
			return envelope{}, fmt.Errorf("%w: bytes left after the %s announced", ErrMalformedEnvelope, plural.Count(count, "header"))
		}
		kl := int(block[off])
		if kl == 0 {
			return envelope{}, fmt.Errorf("%w: header %d has an empty key", ErrMalformedEnvelope, n)
		}
		if off+1+kl+2 > h {
			return envelope{}, fmt.Errorf("%w: header %d runs past the header block", ErrMalformedEnvelope, n)
		}
		vl := int(binary.BigEndian.Uint16(block[off+1+kl:]))
		off += 1 + kl + 2 + vl
		if off > h {
			return envelope{}, fmt.Errorf("%w: header %d runs past the header block", ErrMalformedEnvelope, n)
		}
		n++
	}
	if n != count {
		return envelope{}, fmt.Errorf("%w: %s announced, %d found", ErrMalformedEnvelope, plural.Count(count, "header"), n)
	}
	return envelope{count: count, block: block, payload: data[EnvelopeFixedSize+h:]}, nil
}
