package otlpwire

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// Protobuf wire types used by OTLP.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// SizeVarint returns how many bytes the base-128 varint encoding of v takes
// (1 to 10).
func SizeVarint(v uint64) int {
	if v < 0x80 {
		return 1
	}
	// 1 byte per started group of 7 bits.
	return int(9*uint32(bits.Len64(v))+64) / 64
}

// AppendVarint appends v as a base-128 varint.
func AppendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	if v < 0x4000 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// SizeTag returns how many bytes the key (tag) of field takes.
func SizeTag(field int) int {
	return SizeVarint(uint64(field) << 3)
}

// appendTag appends the key of field with wire type wt.
func appendTag(b []byte, field int, wt uint8) []byte {
	if field < 16 {
		return append(b, byte(field)<<3|wt)
	}
	return AppendVarint(b, uint64(field)<<3|uint64(wt))
}

// SizeLenField returns the size of a length-delimited field (tag, length,
// body) whose body is n bytes long.
func SizeLenField(field, n int) int {
	return SizeTag(field) + SizeVarint(uint64(n)) + n
}

// AppendLenHeader appends the tag of length-delimited field and the body
// length n. The caller appends exactly n body bytes next. Use it when the
// body size is known; otherwise use [OpenLen] and [CloseLen].
func AppendLenHeader(b []byte, field, n int) []byte {
	if field < 16 && n < 0x80 {
		return append(b, byte(field)<<3|wireBytes, byte(n))
	}
	return AppendVarint(appendTag(b, field, wireBytes), uint64(n))
}

// OpenLen starts a length-delimited field (an embedded message, usually)
// whose size is not known yet: it appends the tag and reserves one byte for
// the length. Append the body, then call [CloseLen] with the returned mark.
// Opens and closes nest like parentheses.
func OpenLen(b []byte, field int) ([]byte, int) {
	b = append(appendTag(b, field, wireBytes), 0)
	return b, len(b)
}

// CloseLen finishes the field started by the [OpenLen] that returned mark:
// it writes the body length in the reserved byte, moving the body right when
// the length needs more than one byte (bodies of 128 bytes or more).
func CloseLen(b []byte, mark int) []byte {
	n := len(b) - mark
	if n < 0x80 {
		b[mark-1] = byte(n)
		return b
	}
	extra := SizeVarint(uint64(n)) - 1
	b = append(b, make([]byte, extra)...) // no allocation when capacity allows
	copy(b[mark+extra:], b[mark:mark+n])
	AppendVarint(b[:mark-1], uint64(n))
	return b
}

// openLenGuess starts a length-delimited field like [OpenLen], reserving n bytes (1 to
// 3) for the length: as many as the body is expected to need, so that closeLenGuess
// moves the body only when the guess was wrong.
func openLenGuess(b []byte, field, n int) ([]byte, int) {
	b = appendTag(b, field, wireBytes)
	b = append(b, 0, 0, 0)[:len(b)+n]
	return b, len(b)
}

// closeLenGuess finishes the field started by the openLenGuess that reserved n bytes
// and returned mark, moving the body when its length takes more or fewer than n bytes.
// It returns how many it took: the guess for a next field like it.
func closeLenGuess(b []byte, mark, n int) ([]byte, int) {
	size := len(b) - mark
	need := SizeVarint(uint64(size))
	switch {
	case need > n:
		b = append(b, make([]byte, need-n)...) // no allocation when capacity allows
		copy(b[mark+need-n:], b[mark:mark+size])
	case need < n:
		copy(b[mark-n+need:], b[mark:mark+size])
		b = b[:len(b)-n+need]
	}
	AppendVarint(b[:mark-n], uint64(size))
	return b, need
}

// AppendVarintField appends a varint field (uint32, uint64, int64 as
// uint64(v), enum, bool as 0/1) unless v is 0, as proto3 does for fields
// without explicit presence.
func AppendVarintField(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	return AppendVarint(appendTag(b, field, wireVarint), v)
}

// AppendVarintFieldAlways appends a varint field even when v is 0 (oneof
// members and optional fields).
func AppendVarintFieldAlways(b []byte, field int, v uint64) []byte {
	return AppendVarint(appendTag(b, field, wireVarint), v)
}

// AppendFixed64Field appends a fixed64 or sfixed64 field unless v is 0.
func AppendFixed64Field(b []byte, field int, v uint64) []byte {
	if v == 0 {
		return b
	}
	return AppendFixed64FieldAlways(b, field, v)
}

// AppendFixed64FieldAlways appends a fixed64 or sfixed64 field even when v
// is 0 (oneof members and optional fields).
func AppendFixed64FieldAlways(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, wireFixed64)
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// AppendDoubleField appends a double field unless v is +0 (proto3 writes
// -0 and NaN).
func AppendDoubleField(b []byte, field int, v float64) []byte {
	return AppendFixed64Field(b, field, math.Float64bits(v))
}

// AppendDoubleFieldAlways appends a double field even when v is 0 (oneof
// members and optional fields such as a histogram's sum, min and max).
func AppendDoubleFieldAlways(b []byte, field int, v float64) []byte {
	return AppendFixed64FieldAlways(b, field, math.Float64bits(v))
}

// AppendFixed32Field appends a fixed32 field unless v is 0.
func AppendFixed32Field(b []byte, field int, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = appendTag(b, field, wireFixed32)
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// AppendBytesField appends a bytes field unless v is empty.
func AppendBytesField(b []byte, field int, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = AppendLenHeader(b, field, len(v))
	return append(b, v...)
}

// AppendStringField appends a string field unless s is empty. Invalid UTF-8
// is replaced, byte by byte, with U+FFFD (see [AppendStringFieldAlways]).
func AppendStringField(b []byte, field int, s string) []byte {
	if s == "" {
		return b
	}
	return AppendStringFieldAlways(b, field, s)
}

// AppendStringFieldAlways appends a string field even when s is empty
// (oneof members). Protobuf requires proto3 strings to be valid UTF-8 and
// decoders refuse a whole message otherwise, so each byte of s that is not
// part of a valid UTF-8 sequence is written as U+FFFD, which is what
// string([]rune(s)) gives.
func AppendStringFieldAlways(b []byte, field int, s string) []byte {
	start := len(b)
	b = AppendLenHeader(b, field, len(s))
	b = append(b, s...)
	if validUTF8(b[len(b)-len(s):], s) {
		return b
	}
	b = AppendLenHeader(b[:start], field, sanitizedLen(s))
	return appendSanitized(b, s)
}

// validUTF8 reports whether s, whose bytes p holds, is valid UTF-8: most strings are
// ASCII, which isASCII tells faster than utf8.ValidString.
func validUTF8(p []byte, s string) bool {
	return isASCII(p) || utf8.ValidString(s)
}

// isASCII reports whether every byte of p is below 0x80, reading 8 bytes at a time.
func isASCII(p []byte) bool {
	n := len(p)
	if n < 8 {
		var acc byte
		for _, c := range p {
			acc |= c
		}
		return acc < utf8.RuneSelf
	}
	acc := binary.LittleEndian.Uint64(p[n-8:]) // the last 8, overlapping the loop's
	for len(p) >= 16 {
		acc |= binary.LittleEndian.Uint64(p) | binary.LittleEndian.Uint64(p[8:])
		p = p[16:]
	}
	if len(p) >= 8 {
		acc |= binary.LittleEndian.Uint64(p)
	}
	return acc&0x8080808080808080 == 0
}

// sanitizedLen is len(string([]rune(s))) without allocating.
func sanitizedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			n += utf8.RuneLen(utf8.RuneError)
		} else {
			n += w
		}
		i += w
	}
	return n
}

// appendSanitized appends s with every invalid byte replaced by U+FFFD.
func appendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+w]...)
		}
		i += w
	}
	return b
}

// grow makes sure b has room for n more bytes without changing its length.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(2*cap(b), len(b)+n))
	copy(nb, b)
	return nb
}

// unsafeBytes views s as a byte slice, for functions that only read it.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
