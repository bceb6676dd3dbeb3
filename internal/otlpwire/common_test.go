package otlpwire

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

// checkEncoding asserts that got decodes into a message equal to want and
// that it is byte for byte what proto.Marshal writes for want.
func checkEncoding(t *testing.T, got []byte, want, empty proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(got, empty); err != nil {
		t.Fatalf("our bytes do not decode: %v\n%x", err, got[:min(len(got), 256)])
	}
	if !proto.Equal(empty, want) {
		t.Fatalf("decoded message differs:\nwant %s\n got %s", prototext.Format(want), prototext.Format(empty))
	}
	wantBytes, err := deterministic.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		i := 0
		for i < min(len(got), len(wantBytes)) && got[i] == wantBytes[i] {
			i++
		}
		t.Fatalf("bytes differ from proto.Marshal from offset %d of %d/%d:\n got %x\nwant %x", i, len(got), len(wantBytes),
			got[i:min(len(got), i+64)], wantBytes[i:min(len(wantBytes), i+64)])
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		got := AppendVarint(nil, v)
		want := protowire.AppendVarint(nil, v)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendVarint(%d) = %x, want %x", v, got, want)
		}
		if SizeVarint(v) != len(want) {
			t.Errorf("SizeVarint(%d) = %d, want %d", v, SizeVarint(v), len(want))
		}
	}
	for _, f := range []int{1, 15, 16, 2047, 2048, 1<<29 - 1} {
		got := appendTag(nil, f, wireBytes)
		want := protowire.AppendTag(nil, protowire.Number(f), protowire.BytesType)
		if !bytes.Equal(got, want) || SizeTag(f) != len(want) {
			t.Errorf("tag %d = %x (size %d), want %x", f, got, SizeTag(f), want)
		}
	}
}

func TestOpenCloseLen(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 129, 16383, 16384, 1<<21 - 1, 1 << 21} {
		for _, c := range []int{0, n + 3, n + 10} { // with and without spare capacity
			body := bytes.Repeat([]byte{0xab}, n)
			want := protowire.AppendBytes(protowire.AppendTag([]byte{0x11, 0x22}, 7, protowire.BytesType), body)
			b := make([]byte, 2, c+2)
			b[0], b[1] = 0x11, 0x22
			b, m := OpenLen(b, 7)
			b = append(b, body...)
			b = CloseLen(b, m)
			if !bytes.Equal(b, want) {
				t.Fatalf("n=%d cap=%d: got %d bytes, want %d", n, c, len(b), len(want))
			}
			if SizeLenField(7, n) != len(want)-2 {
				t.Fatalf("SizeLenField(7, %d) = %d, want %d", n, SizeLenField(7, n), len(want)-2)
			}
			for guess := 1; guess <= 3; guess++ { // too few, right, too many length bytes
				b := make([]byte, 2, c+2)
				b[0], b[1] = 0x11, 0x22
				b, m := openLenGuess(b, 7, guess)
				b = append(b, body...)
				b, took := closeLenGuess(b, m, guess)
				if !bytes.Equal(b, want) || took != SizeVarint(uint64(n)) {
					t.Fatalf("n=%d cap=%d guess=%d: got %d bytes (length in %d), want %d", n, c, guess, len(b), took, len(want))
				}
			}
		}
	}
	// Nested: an inner body that grows the outer one past one length byte.
	b, outer := OpenLen(nil, 1)
	b, inner := OpenLen(b, 2)
	b = append(b, bytes.Repeat([]byte{1}, 200)...)
	b = CloseLen(b, inner)
	b = CloseLen(b, outer)
	in := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), bytes.Repeat([]byte{1}, 200))
	want := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), in)
	if !bytes.Equal(b, want) {
		t.Fatalf("nested: got %x, want %x", b, want)
	}
}

func TestScalarFields(t *testing.T) {
	type tc struct {
		got, want []byte
	}
	cases := []tc{
		{AppendVarintField(nil, 3, 0), nil},
		{AppendVarintField(nil, 3, 5), []byte{0x18, 5}},
		{AppendVarintFieldAlways(nil, 3, 0), []byte{0x18, 0}},
		{AppendFixed64Field(nil, 7, 0), nil},
		{AppendFixed64Field(nil, 7, 1), []byte{0x39, 1, 0, 0, 0, 0, 0, 0, 0}},
		{AppendFixed64FieldAlways(nil, 7, 0), []byte{0x39, 0, 0, 0, 0, 0, 0, 0, 0}},
		{AppendDoubleField(nil, 1, 0), nil},
		{AppendDoubleField(nil, 1, -0.0*-1), nil},
		{AppendDoubleFieldAlways(nil, 1, 0), []byte{0x09, 0, 0, 0, 0, 0, 0, 0, 0}},
		{AppendFixed32Field(nil, 16, 0), nil},
		{AppendFixed32Field(nil, 16, 0x100), []byte{0x85, 0x01, 0, 1, 0, 0}},
		{AppendBytesField(nil, 1, nil), nil},
		{AppendBytesField(nil, 1, []byte{9}), []byte{0x0a, 1, 9}},
		{AppendStringField(nil, 2, ""), nil},
		{AppendStringFieldAlways(nil, 2, ""), []byte{0x12, 0}},
		{AppendStringField(nil, 2, "hé"), []byte{0x12, 3, 'h', 0xc3, 0xa9}},
		{AppendStringField(nil, 2, "a\xffb"), []byte{0x12, 5, 'a', 0xef, 0xbf, 0xbd, 'b'}},
		{AppendStringField(nil, 2, "\xe2\x82"), []byte{0x12, 6, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd}},
	}
	for i, c := range cases {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("case %d: got %x, want %x", i, c.got, c.want)
		}
	}
	// -0 is not the default: proto3 writes it.
	negZero := AppendDoubleField(nil, 1, negativeZero())
	if len(negZero) != 9 {
		t.Errorf("-0 not written: %x", negZero)
	}
}

func negativeZero() float64 {
	var z float64
	return -z
}

func TestSanitizedLen(t *testing.T) {
	for _, s := range []string{"", "abc", "\xff", "a\xffb\xc3", "\xe2\x82\xac\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", strings.Repeat("é\xff", 50)} {
		want := string([]rune(s))
		if got := string(appendSanitized(nil, s)); got != want {
			t.Errorf("appendSanitized(%q) = %q, want %q", s, got, want)
		}
		if sanitizedLen(s) != len(want) {
			t.Errorf("sanitizedLen(%q) = %d, want %d", s, sanitizedLen(s), len(want))
		}
	}
}

func TestKeyValuesEveryKind(t *testing.T) {
	kvs := []attribute.KeyValue{
		attribute.Bool("b.false", false),
		attribute.Bool("b.true", true),
		attribute.Int64("i.zero", 0),
		attribute.Int64("i.neg", -42),
		attribute.Int("i.big", 1<<40),
		attribute.Float64("f.zero", 0),
		attribute.Float64("f.pi", 3.14159),
		attribute.String("s.empty", ""),
		attribute.String("s", "value"),
		attribute.String("", "empty key"),
		attribute.String("s.long", strings.Repeat("z", 300)),
		attribute.BoolSlice("bs", []bool{true, false, true}),
		attribute.BoolSlice("bs.empty", nil),
		attribute.Int64Slice("is", []int64{0, -1, 1 << 62}),
		attribute.IntSlice("is.int", []int{1, 2, 3, 4, 5}),
		attribute.Float64Slice("fs", []float64{0, 1.5, -2.25}),
		attribute.StringSlice("ss", []string{"", "a", "日本"}),
		attribute.StringSlice("ss.empty", []string{}),
		attribute.ByteSlice("bytes", []byte{0, 1, 2, 0xff}),
		attribute.ByteSlice("bytes.empty", nil),
		attribute.Slice("slice", attribute.IntValue(1), attribute.StringValue("two"), attribute.SliceValue(attribute.BoolValue(true))),
		attribute.Map("map", attribute.String("z", "last"), attribute.Int("a", 1), attribute.Map("inner", attribute.Float64("x", 1))),
		{Key: "empty.value"},
	}
	got := AppendKeyValues(nil, listValues, kvs)
	checkEncoding(t, got, &commonpb.KeyValueList{Values: refKeyValues(kvs)}, &commonpb.KeyValueList{})

	// One at a time, through AppendKeyValue and AppendAnyValue.
	for _, kv := range kvs {
		checkEncoding(t, AppendKeyValue(nil, kv), refKeyValues([]attribute.KeyValue{kv})[0], &commonpb.KeyValue{})
		checkEncoding(t, AppendAnyValue(nil, kv.Value), refValue(kv.Value), &commonpb.AnyValue{})
	}
}

func TestKeyValuesRandom(t *testing.T) {
	for seed := range propertyCases(2000) {
		g := newGen(seed)
		g.invalidUTF8 = seed%3 == 0
		g.huge = seed%50 == 0
		kvs := g.keyValues(12)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			prefix := []byte("prefix")
			got := AppendKeyValues(prefix, listValues, kvs)
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatal("prefix clobbered")
			}
			checkEncoding(t, got[len("prefix"):], &commonpb.KeyValueList{Values: refKeyValues(kvs)}, &commonpb.KeyValueList{})
		})
	}
}

// FuzzKeyValues drives the random attribute generator from fuzz input: any
// seed must produce bytes equal to proto.Marshal of the reference transform.
func FuzzKeyValues(f *testing.F) {
	f.Add(uint64(1), true, false)
	f.Add(uint64(77), false, true)
	f.Fuzz(func(t *testing.T, seed uint64, invalid, huge bool) {
		g := newGen(seed)
		g.invalidUTF8, g.huge = invalid, huge
		kvs := g.keyValues(20)
		got := AppendKeyValues(nil, listValues, kvs)
		checkEncoding(t, got, &commonpb.KeyValueList{Values: refKeyValues(kvs)}, &commonpb.KeyValueList{})
	})
}

func TestAttributeSet(t *testing.T) {
	for seed := range propertyCases(300) {
		g := newGen(seed)
		g.invalidUTF8 = seed%2 == 0
		set := attribute.NewSet(g.keyValues(10)...)
		got := AppendAttributeSet(nil, listValues, &set)
		checkEncoding(t, got, &commonpb.KeyValueList{Values: refKeyValues(set.ToSlice())}, &commonpb.KeyValueList{})
	}
	if got := AppendAttributeSet(nil, 1, nil); len(got) != 0 {
		t.Fatalf("nil set wrote %x", got)
	}
}

func TestResource(t *testing.T) {
	for seed := range propertyCases(200) {
		g := newGen(seed)
		r := resource.NewWithAttributes("https://example.com/"+g.string(), g.keyValues(15)...)
		want := &resourcepb.Resource{Attributes: refKeyValues(r.Attributes())}
		checkEncoding(t, AppendResource(nil, r), want, &resourcepb.Resource{})

		// As a field: a container holding only the resource.
		field := AppendResourceField(nil, FieldResource, r)
		inner, n := protowire.ConsumeBytes(field[1:])
		if field[0] != 0x0a || n != len(field)-1 {
			t.Fatalf("bad field framing %x", field)
		}
		checkEncoding(t, inner, want, &resourcepb.Resource{})
	}
	if got := AppendResourceField([]byte{}, FieldResource, nil); len(got) != 0 {
		t.Fatalf("nil resource wrote %x", got)
	}
	if got := AppendResourceField(nil, FieldResource, resource.Empty()); !bytes.Equal(got, []byte{0x0a, 0}) {
		t.Fatalf("empty resource wrote %x, want an empty message", got)
	}
}

func TestScope(t *testing.T) {
	cases := []instrumentation.Scope{
		{},
		{Name: "n"},
		{Version: "v"},
		{SchemaURL: "only-schema"},
		{Attributes: attribute.NewSet()},
		{Name: "github.com/x/y", Version: "1.2.3", SchemaURL: "https://opentelemetry.io/schemas/1.26.0",
			Attributes: attribute.NewSet(attribute.String("a", "b"), attribute.Int("c", 1))},
	}
	for seed := range propertyCases(100) {
		g := newGen(seed)
		g.invalidUTF8 = seed%2 == 1
		cases = append(cases, instrumentation.Scope{Name: g.string(), Version: g.string(), Attributes: attribute.NewSet(g.keyValues(5)...)})
	}
	for i, s := range cases {
		present := s != (instrumentation.Scope{})
		if ScopePresent(&s) != present {
			t.Fatalf("case %d: ScopePresent = %v, want %v", i, !present, present)
		}
		want := &commonpb.InstrumentationScope{Name: refString(s.Name), Version: refString(s.Version), Attributes: refKeyValues(s.Attributes.ToSlice())}
		checkEncoding(t, AppendScope(nil, &s), want, &commonpb.InstrumentationScope{})
		field := AppendScopeField(nil, FieldScope, &s)
		if !present {
			if len(field) != 0 {
				t.Fatalf("case %d: zero scope wrote %x", i, field)
			}
			continue
		}
		inner, n := protowire.ConsumeBytes(field[1:])
		if n != len(field)-1 {
			t.Fatalf("case %d: bad framing %x", i, field)
		}
		checkEncoding(t, inner, want, &commonpb.InstrumentationScope{})
	}
}

func TestKeyValuesAllocations(t *testing.T) {
	kvs := []attribute.KeyValue{
		attribute.String("http.method", "GET"), attribute.Int("http.status_code", 200),
		attribute.Bool("ok", true), attribute.Float64("ratio", 0.5),
		attribute.String("bad", "\xff\xfe"), attribute.ByteSlice("raw", []byte("xyz")), {Key: "none"},
	}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendKeyValues(buf[:0], 9, kvs)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call for scalar attributes, want 0", allocs)
	}
}

// TestKeyValueLengthBoundaries walks key and value lengths across the
// one-byte length limits the fast paths rely on, with ASCII, other valid
// UTF-8 and invalid bytes at either end of the strings (the fast paths check
// for ASCII after writing, 8 bytes at a time).
func TestKeyValueLengthBoundaries(t *testing.T) {
	values := []attribute.Value{
		attribute.BoolValue(true), attribute.BoolValue(false), attribute.Int64Value(0), attribute.Int64Value(-1),
		attribute.Int64Value(1 << 40), attribute.Int64Value(math.MinInt64), attribute.Float64Value(2.5), attribute.Value{},
	}
	// s of n bytes: ASCII, or ending (or starting) with a 2-byte character or an invalid byte.
	texts := func(c string, n int) []string {
		out := []string{strings.Repeat(c, n)}
		if n >= 1 {
			out = append(out, strings.Repeat(c, n-1)+"\xff", "\x80"+strings.Repeat(c, n-1))
		}
		if n >= 2 {
			out = append(out, strings.Repeat(c, n-2)+"é", "é"+strings.Repeat(c, n-2))
		}
		return out
	}
	for _, sl := range []int{0, 1, 7, 8, 9, 60, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 200} {
		for _, s := range texts("v", sl) {
			values = append(values, attribute.StringValue(s))
		}
	}
	for kl := 0; kl <= 130; kl++ {
		for _, key := range texts("k", kl) {
			for _, v := range values {
				kvs := []attribute.KeyValue{{Key: attribute.Key(key), Value: v}}
				for _, field := range []int{1, 15, 16, 300} {
					got := AppendKeyValues(nil, field, kvs)
					want := protowire.AppendBytes(protowire.AppendTag(nil, protowire.Number(field), protowire.BytesType),
						mustMarshal(t, refKeyValues(kvs)[0]))
					if !bytes.Equal(got, want) {
						t.Fatalf("key %q, value %q, field %d:\n got %x\nwant %x", key, v.Emit(), field, got, want)
					}
				}
			}
		}
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := deterministic.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStringAnyValueField: a string AnyValue (a log body, an element of a string slice)
// is written as proto.Marshal writes it, invalid bytes repaired, across the lengths
// whose varints change size.
func TestStringAnyValueField(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 16, 124, 125, 126, 127, 128, 129, 16380, 16381, 16382, 16383, 16384} {
		for _, s := range []string{strings.Repeat("a", n), strings.Repeat("é", n/2), strings.Repeat("x", max(n-1, 0)) + "\xff",
			"\xc3" + strings.Repeat("y", max(n-1, 0))} {
			want := protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType),
				mustMarshal(t, refValue(attribute.StringValue(s))))
			if got := appendStringAnyValueField(nil, 5, s); !bytes.Equal(got, want) {
				t.Fatalf("%d bytes starting %q: got %x..., want %x...", len(s), s[:min(len(s), 4)], got[:min(len(got), 12)], want[:min(len(want), 12)])
			}
		}
	}
}
