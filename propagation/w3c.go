package propagation

import (
	"encoding/binary"

	"go.opentelemetry.io/otel/trace"
)

// W3C Trace Context field names, as propagation.TraceContext reads and writes them.
const (
	fieldTraceparent = "traceparent"
	fieldTracestate  = "tracestate"
)

// traceparentLen is the length of a version-00 traceparent:
// 2 hex (version) - 32 hex (trace ID) - 16 hex (span ID) - 2 hex (flags).
const traceparentLen = 55

// zeroTraceparent is the version-00 traceparent with all-zero IDs. It is never
// a valid context; the key carrier writes it to say "no context here" when a
// business key would otherwise be mistaken for a wrapped one.
const zeroTraceparent = "00-00000000000000000000000000000000-0000000000000000-00"

const hexDigits = "0123456789abcdef"

// appendTraceparent appends the version-00 traceparent of sc, exactly as
// propagation.TraceContext writes it: lowercase hex, only the sampled and
// random flags kept.
func appendTraceparent(dst []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	n := len(dst)
	dst = append(dst, zeroTraceparent...)
	tp := dst[n : n+traceparentLen]
	for i := 0; i < 4; i++ {
		binary.BigEndian.PutUint64(tp[3+8*i:], hex8(binary.BigEndian.Uint32(tid[4*i:])))
	}
	for i := 0; i < 2; i++ {
		binary.BigEndian.PutUint64(tp[36+8*i:], hex8(binary.BigEndian.Uint32(sid[4*i:])))
	}
	tp[53], tp[54] = hexDigits[flags>>4], hexDigits[flags&0xf]
	return dst
}

// bytes1 has 1 in each of the eight bytes of a uint64.
const bytes1 = 0x0101010101010101

// hex8 returns the eight lowercase hex digits of x, most significant first,
// as the bytes of a big-endian uint64. It works on all eight at once: the
// nibbles are spread one to a byte, then each becomes its digit.
func hex8(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	letters := (v + 6*bytes1) >> 4 & bytes1 // 1 in each byte holding 10 to 15
	return v + '0'*bytes1 + letters*('a'-'0'-10)
}

// unhex maps a lowercase hex digit to its value and every other byte to 0xff,
// as the W3C specification allows only lowercase.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// decodeHex fills dst from 2*len(dst) lowercase hex digits of s.
func decodeHex[S ~string | ~[]byte](dst []byte, s S) bool {
	bad := byte(0)
	for i := range dst {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		dst[i] = hi<<4 | lo
		bad |= hi | lo
	}
	return bad&0xf0 == 0
}

// traceparentSyntax reports whether s has the shape of a version-00-sized
// traceparent: 55 characters, lowercase hex with dashes at 2, 35 and 52. It
// does not judge the values (a zero ID or version ff passes).
func traceparentSyntax[S ~string | ~[]byte](s S) bool {
	if len(s) != traceparentLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	bad := unhex[s[0]] | unhex[s[1]] | unhex[s[53]] | unhex[s[54]]
	for i := 3; i < 35; i++ {
		bad |= unhex[s[i]]
	}
	for i := 36; i < 52; i++ {
		bad |= unhex[s[i]]
	}
	return bad&0xf0 == 0
}

// parseTraceparent parses a traceparent with the rules of
// propagation.TraceContext (any version but ff; version 00 with flags at most
// 03 and nothing after the 55 characters but a lone dash; a later version may
// continue after a dash)
// and returns the remote span context it names. ok is false when the value is
// malformed or names an invalid (zero) trace or span ID. It does not allocate.
func parseTraceparent[S ~string | ~[]byte](s S) (sc trace.SpanContextConfig, ok bool) {
	if len(s) < traceparentLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return sc, false
	}
	var ver, flags [1]byte
	if !decodeHex(ver[:], s[0:2]) || ver[0] == 0xff {
		return sc, false
	}
	if !decodeHex(sc.TraceID[:], s[3:35]) || !decodeHex(sc.SpanID[:], s[36:52]) ||
		!decodeHex(flags[:], s[53:55]) {
		return sc, false
	}
	// Like TraceContext: more may follow a dash, but for version 00 only the
	// dash itself.
	if len(s) > traceparentLen && (s[traceparentLen] != '-' || (ver[0] == 0 && len(s) > traceparentLen+1)) {
		return sc, false
	}
	if ver[0] == 0 && flags[0] > 3 {
		return sc, false
	}
	if !sc.TraceID.IsValid() || !sc.SpanID.IsValid() {
		return sc, false
	}
	sc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	sc.Remote = true
	return sc, true
}
