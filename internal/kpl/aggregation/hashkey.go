package aggregation

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// HashKey is an unsigned 128-bit Kinesis hash key: Hi holds the most
// significant 64 bits and Lo the least significant, so the pair reads as the
// big-endian integer Kinesis routes records by.
type HashKey struct{ Hi, Lo uint64 }

// MaxHashKey is the largest hash key, 2^128-1, the end of the last shard's
// range on a stream that covers the whole key space.
var MaxHashKey = HashKey{Hi: ^uint64(0), Lo: ^uint64(0)}

// MaxHashKeyDigits is the number of decimal digits of 2^128-1, the most a
// hash key in decimal (String, AppendDecimal) takes.
const MaxHashKeyDigits = 39

// HashPartitionKey returns the hash key Kinesis derives from a partition key:
// the MD5 digest of its UTF-8 bytes read as a big-endian unsigned integer.
// It does not allocate.
func HashPartitionKey(pk string) HashKey {
	// md5.Sum only reads its input, so the string's bytes are passed as they
	// are: a []byte(pk) conversion would allocate for keys over 32 bytes.
	return hashKeyFromDigest(md5.Sum(unsafe.Slice(unsafe.StringData(pk), len(pk))))
}

// hashKeyFromDigest reads a 16-byte digest as a big-endian hash key.
func hashKeyFromDigest(d [md5.Size]byte) HashKey {
	return HashKey{
		Hi: binary.BigEndian.Uint64(d[:8]),
		Lo: binary.BigEndian.Uint64(d[8:]),
	}
}

// Errors wrapped by ParseHashKey, for errors.Is.
var (
	// ErrHashKeySyntax reports a hash key that is not a canonical decimal
	// number (matching 0|([1-9]\d{0,38})).
	ErrHashKeySyntax = errors.New("hash key is not a canonical decimal number")
	// ErrHashKeyRange reports a hash key above 2^128-1.
	ErrHashKeyRange = errors.New("hash key is above 2^128-1")
)

// ParseHashKey parses the decimal form Kinesis uses for ExplicitHashKey and
// for shard hash key ranges: 0 to 2^128-1 with no sign, no leading zeros, and
// no other characters (the API's pattern 0|([1-9]\d{0,38})). Errors wrap
// ErrHashKeySyntax or ErrHashKeyRange and quote the input (cut short if long).
// It does not allocate unless it fails.
func ParseHashKey(s string) (HashKey, error) {
	if len(s) == 0 {
		return HashKey{}, fmt.Errorf("parse hash key %q: empty: %w", s, ErrHashKeySyntax)
	}
	if len(s) > MaxHashKeyDigits {
		return HashKey{}, fmt.Errorf("parse hash key %s: %s, at most %d allowed: %w",
			quoteShort(s), plural.Count(len(s), "character"), MaxHashKeyDigits, ErrHashKeySyntax)
	}
	if s[0] == '0' && len(s) > 1 {
		return HashKey{}, fmt.Errorf("parse hash key %s: leading zero: %w", quoteShort(s), ErrHashKeySyntax)
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return HashKey{}, fmt.Errorf("parse hash key %s: byte %d is %q, not a decimal digit: %w",
				quoteShort(s), i, c, ErrHashKeySyntax)
		}
		// (hi, lo) = (hi, lo)*10 + digit, watching for overflow of 128 bits.
		h1, h0 := bits.Mul64(hi, 10)
		l1, l0 := bits.Mul64(lo, 10)
		var carry uint64
		lo, carry = bits.Add64(l0, uint64(c-'0'), 0)
		hi, carry = bits.Add64(h0, l1, carry)
		if h1 != 0 || carry != 0 {
			return HashKey{}, fmt.Errorf("parse hash key %s: %w", quoteShort(s), ErrHashKeyRange)
		}
	}
	return HashKey{Hi: hi, Lo: lo}, nil
}

// quoteShort quotes s for an error message, cutting long input short so that
// hostile input cannot blow up logs.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// Compare returns -1 if h < o, 0 if h == o and +1 if h > o.
func (h HashKey) Compare(o HashKey) int {
	switch {
	case h.Hi < o.Hi:
		return -1
	case h.Hi > o.Hi:
		return 1
	case h.Lo < o.Lo:
		return -1
	case h.Lo > o.Lo:
		return 1
	}
	return 0
}

// String returns the decimal form, as used for ExplicitHashKey.
func (h HashKey) String() string {
	var buf [MaxHashKeyDigits]byte
	return string(h.AppendDecimal(buf[:0]))
}

// AppendDecimal appends the decimal form of h to dst and returns the extended
// slice. It allocates only if dst lacks the capacity (at most 39 bytes). It
// writes two digits at a time: it is on the path of every aggregate and of
// every record the propagation key format wraps.
func (h HashKey) AppendDecimal(dst []byte) []byte {
	const pow19 = 10_000_000_000_000_000_000 // 10^19, the largest power of ten in a uint64
	// Split h into base-10^19 digits: h = top*10^38 + mid*10^19 + low.
	// Hi = q1*10^19 + r1 with q1 in {0, 1}; (r1:Lo) / 10^19 fits 64 bits
	// because r1 < 10^19, and the whole quotient (q1:midLo) is below 2^65,
	// so top is at most 3.
	q1, r1 := bits.Div64(0, h.Hi, pow19)
	midLo, low := bits.Div64(r1, h.Lo, pow19)
	top, mid := bits.Div64(q1, midLo, pow19)
	var buf [2 + 19 + 19]byte
	buf[0], buf[1] = digitPairs[2*top], digitPairs[2*top+1]
	put19Digits((*[19]byte)(buf[2:21]), mid)
	put19Digits((*[19]byte)(buf[21:]), low)
	i := 0
	for i < len(buf)-1 && buf[i] == '0' {
		i++
	}
	return append(dst, buf[i:]...)
}

// digitPairs holds the two decimal digits of 0 to 99, in order.
const digitPairs = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// put19Digits writes v, below 10^19, as 19 decimal digits. Its two halves
// are written by independent chains of divisions by 100, which the processor
// runs side by side.
func put19Digits(b *[19]byte, v uint64) {
	hi, lo := v/1e10, v%1e10
	for i := 18; i > 9; i -= 2 {
		q := lo / 100
		r := lo - 100*q
		b[i-1], b[i] = digitPairs[2*r], digitPairs[2*r+1]
		lo = q
	}
	for i := 8; i > 0; i -= 2 {
		q := hi / 100
		r := hi - 100*q
		b[i-1], b[i] = digitPairs[2*r], digitPairs[2*r+1]
		hi = q
	}
	b[0] = byte('0' + hi)
}

// HashRange is an inclusive range of hash keys, as ListShards reports a
// shard's HashKeyRange (StartingHashKey to EndingHashKey, both included).
type HashRange struct{ Start, End HashKey }

// ParseHashRange parses a shard's StartingHashKey and EndingHashKey. It fails
// if either is not a valid hash key or if start is above end.
func ParseHashRange(start, end string) (HashRange, error) {
	s, err := ParseHashKey(start)
	if err != nil {
		return HashRange{}, fmt.Errorf("starting hash key: %w", err)
	}
	e, err := ParseHashKey(end)
	if err != nil {
		return HashRange{}, fmt.Errorf("ending hash key: %w", err)
	}
	if s.Compare(e) > 0 {
		return HashRange{}, fmt.Errorf("hash key range: start %s is above end %s", start, end)
	}
	return HashRange{Start: s, End: e}, nil
}

// Contains reports whether h lies in the range, both ends included.
func (r HashRange) Contains(h HashKey) bool {
	return r.Start.Compare(h) <= 0 && h.Compare(r.End) <= 0
}

// String returns the range as "start-end" in decimal.
func (r HashRange) String() string {
	b := make([]byte, 0, 2*MaxHashKeyDigits+1)
	b = r.Start.AppendDecimal(b)
	b = append(b, '-')
	return string(r.End.AppendDecimal(b))
}
