package aggregation

import (
	"crypto/md5"
	"errors"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// hashKeyPattern is the ExplicitHashKey pattern from the Kinesis API reference.
var hashKeyPattern = regexp.MustCompile(`^(0|([1-9]\d{0,38}))$`)

var two128 = new(big.Int).Lsh(big.NewInt(1), 128)

func bigOf(h HashKey) *big.Int {
	b := new(big.Int).SetUint64(h.Hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(h.Lo))
}

func TestHashPartitionKeyKnownValues(t *testing.T) {
	// MD5 digests computed outside Go, read as big-endian integers.
	cases := []struct{ pk, want string }{
		{"", "281949768489412648962353822266799178366"},             // d41d8cd98f00b204e9800998ecf8427e
		{"a", "16955237001963240173058271559858726497"},             // 0cc175b9c0f1b6a831c399e269772661
		{"partitionKey", "193318062818912349798954611745638949166"}, // 916fb4607e9099fa19225279d711a12e
		{"日本語", "88491575051939950596574576699976684"},              // 00110af8b4393ef3f72c50be5b332bec
	}
	for _, c := range cases {
		got := HashPartitionKey(c.pk)
		if got.String() != c.want {
			t.Errorf("HashPartitionKey(%q) = %s, want %s", c.pk, got, c.want)
		}
		sum := md5.Sum([]byte(c.pk))
		if bigOf(got).Cmp(new(big.Int).SetBytes(sum[:])) != 0 {
			t.Errorf("HashPartitionKey(%q) = %s disagrees with math/big", c.pk, got)
		}
	}
}

func TestHashPartitionKeyNoAllocs(t *testing.T) {
	pk := strings.Repeat("é", 128) // 256 bytes, beyond any small-string stack buffer
	var sink HashKey
	if n := testing.AllocsPerRun(100, func() { sink = HashPartitionKey(pk) }); n != 0 {
		t.Errorf("HashPartitionKey allocates %v times per call, want 0", n)
	}
	_ = sink
}

func TestHashKeyDecimalRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := []HashKey{
		{}, {Lo: 1}, {Lo: 9}, {Lo: 10}, {Lo: ^uint64(0)}, {Hi: 1}, {Hi: 1, Lo: 0},
		{Lo: 9_999_999_999_999_999_999}, {Lo: 10_000_000_000_000_000_000},
		MaxHashKey, {Hi: ^uint64(0)}, {Hi: 0x8000000000000000},
	}
	// 10^k - 1, 10^k and 10^k + 1 for every k: the digit-group boundaries.
	for k := 0; k <= 38; k++ {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
		for _, d := range []int64{-1, 0, 1} {
			v := new(big.Int).Add(p, big.NewInt(d))
			if v.Sign() < 0 || v.Cmp(two128) >= 0 {
				continue
			}
			keys = append(keys, fromBig(v))
		}
	}
	for range 10000 {
		keys = append(keys, HashKey{Hi: r.Uint64() >> r.UintN(65), Lo: r.Uint64() >> r.UintN(65)})
	}
	for _, h := range keys {
		s := h.String()
		if want := bigOf(h).String(); s != want {
			t.Fatalf("String(%#v) = %s, want %s", h, s, want)
		}
		if !hashKeyPattern.MatchString(s) {
			t.Fatalf("String(%#v) = %s does not match the API pattern", h, s)
		}
		got, err := ParseHashKey(s)
		if err != nil || got != h {
			t.Fatalf("ParseHashKey(%s) = %#v, %v; want %#v", s, got, err, h)
		}
		if b := h.AppendDecimal([]byte("x=")); string(b) != "x="+s {
			t.Fatalf("AppendDecimal = %q, want %q", b, "x="+s)
		}
	}
}

func fromBig(v *big.Int) HashKey {
	var b [16]byte
	v.FillBytes(b[:])
	return hashKeyFromDigest(b)
}

func TestParseHashKeyErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrHashKeySyntax},
		{"-1", ErrHashKeySyntax},
		{"+1", ErrHashKeySyntax},
		{"01", ErrHashKeySyntax},
		{"00", ErrHashKeySyntax},
		{" 1", ErrHashKeySyntax},
		{"1 ", ErrHashKeySyntax},
		{"1e3", ErrHashKeySyntax},
		{"0x10", ErrHashKeySyntax},
		{"١", ErrHashKeySyntax},                                        // Arabic-Indic digit one
		{"340282366920938463463374607431768211456", ErrHashKeyRange},   // 2^128
		{"999999999999999999999999999999999999999", ErrHashKeyRange},   // 39 nines
		{"1000000000000000000000000000000000000000", ErrHashKeySyntax}, // 40 digits
		{strings.Repeat("9", 1000), ErrHashKeySyntax},
	}
	for _, c := range cases {
		_, err := ParseHashKey(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("ParseHashKey(%q) error = %v, want %v", c.in, err, c.want)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("ParseHashKey error for %d-byte input is %d bytes long", len(c.in), len(err.Error()))
		}
	}
	h, err := ParseHashKey("340282366920938463463374607431768211455")
	if err != nil || h != MaxHashKey {
		t.Errorf("ParseHashKey(2^128-1) = %#v, %v", h, err)
	}
}

func TestParseHashKeyNoAllocs(t *testing.T) {
	var sink HashKey
	n := testing.AllocsPerRun(100, func() {
		sink, _ = ParseHashKey("340282366920938463463374607431768211455")
	})
	if n != 0 {
		t.Errorf("ParseHashKey allocates %v times, want 0", n)
	}
	_ = sink
}

func TestAppendDecimalNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() { buf = MaxHashKey.AppendDecimal(buf[:0]) })
	if n != 0 {
		t.Errorf("AppendDecimal allocates %v times, want 0", n)
	}
}

func TestHashKeyCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		a := HashKey{Hi: r.Uint64() % 4, Lo: r.Uint64() % 4}
		b := HashKey{Hi: r.Uint64() % 4, Lo: r.Uint64() % 4}
		if got, want := a.Compare(b), bigOf(a).Cmp(bigOf(b)); got != want {
			t.Fatalf("%v.Compare(%v) = %d, want %d", a, b, got, want)
		}
	}
}

func TestHashRange(t *testing.T) {
	// The two-shard split of a fresh stream, as ListShards reports it.
	r0, err := ParseHashRange("0", "170141183460469231731687303715884105727")
	if err != nil {
		t.Fatal(err)
	}
	r1, err := ParseHashRange("170141183460469231731687303715884105728", "340282366920938463463374607431768211455")
	if err != nil {
		t.Fatal(err)
	}
	mid := HashKey{Hi: 1 << 63}
	below := HashKey{Hi: 1<<63 - 1, Lo: ^uint64(0)}
	checks := []struct {
		r    HashRange
		h    HashKey
		want bool
	}{
		{r0, HashKey{}, true}, {r0, below, true}, {r0, mid, false}, {r0, MaxHashKey, false},
		{r1, HashKey{}, false}, {r1, below, false}, {r1, mid, true}, {r1, MaxHashKey, true},
	}
	for _, c := range checks {
		if got := c.r.Contains(c.h); got != c.want {
			t.Errorf("%v.Contains(%v) = %v, want %v", c.r, c.h, got, c.want)
		}
	}
	// Every partition key lands in exactly one of the two.
	for i := range 1000 {
		h := HashPartitionKey(strings.Repeat("k", i))
		if r0.Contains(h) == r1.Contains(h) {
			t.Fatalf("key %d in both or neither range", i)
		}
	}
	if got := r0.String(); got != "0-170141183460469231731687303715884105727" {
		t.Errorf("String() = %s", got)
	}
	if _, err := ParseHashRange("5", "4"); err == nil {
		t.Error("ParseHashRange(5, 4) succeeded")
	}
	if _, err := ParseHashRange("x", "4"); !errors.Is(err, ErrHashKeySyntax) {
		t.Errorf("ParseHashRange(x, 4) error = %v", err)
	}
	if _, err := ParseHashRange("4", "340282366920938463463374607431768211456"); !errors.Is(err, ErrHashKeyRange) {
		t.Errorf("ParseHashRange(4, 2^128) error = %v", err)
	}
	if r, err := ParseHashRange("7", "7"); err != nil || !r.Contains(HashKey{Lo: 7}) {
		t.Errorf("single-key range: %v, %v", r, err)
	}
}

// FuzzParseHashKey checks the parser against math/big and the API's pattern:
// it accepts exactly the canonical decimals up to 2^128-1, returns their
// value, and formats them back unchanged.
func FuzzParseHashKey(f *testing.F) {
	for _, s := range []string{
		"0", "1", "01", "", "-0", "18446744073709551615", "18446744073709551616",
		"340282366920938463463374607431768211455", "340282366920938463463374607431768211456",
		"9999999999999999999999999999999999999999", " 42", "4\x002",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHashKey(s)
		v, isInt := new(big.Int).SetString(s, 10)
		valid := hashKeyPattern.MatchString(s) && isInt && v.Cmp(two128) < 0
		if valid != (err == nil) {
			t.Fatalf("ParseHashKey(%q) error = %v, but valid = %v", s, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrHashKeySyntax) && !errors.Is(err, ErrHashKeyRange) {
				t.Fatalf("ParseHashKey(%q) error %v wraps neither sentinel", s, err)
			}
			return
		}
		if bigOf(h).Cmp(v) != 0 {
			t.Fatalf("ParseHashKey(%q) = %s, want %s", s, bigOf(h), v)
		}
		if h.String() != s {
			t.Fatalf("ParseHashKey(%q).String() = %q", s, h.String())
		}
	})
}
