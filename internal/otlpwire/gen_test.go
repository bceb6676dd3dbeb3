package otlpwire

import (
	"math"
	"math/rand/v2"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// gen makes random telemetry for property tests. Every generator draws from
// r only, so a failing seed reproduces.
type gen struct {
	r *rand.Rand
	// invalidUTF8 lets strings contain bytes that are not UTF-8.
	invalidUTF8 bool
	// huge lets strings reach tens of kilobytes.
	huge bool
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var stringPieces = []string{
	"", "a", "http.method", "GET", "ünïcødé", "日本語", "emoji 🚀", "\x00nul", "tab\there",
	"quote\"back\\slash", "line\nbreak", "<html>&amp;", "\u2028\u2029", "\x7f", "k8s.pod.name",
}

func (g *gen) string() string {
	switch g.r.IntN(10) {
	case 0:
		return ""
	case 1:
		if g.huge {
			return strings.Repeat("x", 100+g.r.IntN(20000))
		}
		return strings.Repeat("y", 100+g.r.IntN(200))
	case 2:
		if g.invalidUTF8 {
			b := []byte(stringPieces[g.r.IntN(len(stringPieces))])
			b = append(b, 0xff, 0xc3)
			b = append(b, "ok"...)
			b = append(b, 0xe2, 0x82)
			return string(b)
		}
	}
	var sb strings.Builder
	for n := g.r.IntN(4); n >= 0; n-- {
		sb.WriteString(stringPieces[g.r.IntN(len(stringPieces))])
	}
	return sb.String()
}

func (g *gen) int64() int64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return -1
	case 2:
		return math.MinInt64
	case 3:
		return math.MaxInt64
	case 4:
		return int64(g.r.IntN(300))
	}
	return int64(g.r.Uint64())
}

func (g *gen) float64() float64 {
	switch g.r.IntN(9) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1)
	case 3:
		return math.Inf(-1)
	case 4:
		return math.NaN()
	case 5:
		return 1e21
	case 6:
		return 1e-7
	case 7:
		return math.SmallestNonzeroFloat64
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
}

func (g *gen) value(depth int) attribute.Value {
	n := g.r.IntN(7)
	kinds := 12
	if depth > 2 {
		kinds = 10
	}
	switch g.r.IntN(kinds) {
	case 0:
		return attribute.Value{}
	case 1:
		return attribute.BoolValue(g.r.IntN(2) == 1)
	case 2:
		return attribute.Int64Value(g.int64())
	case 3:
		return attribute.Float64Value(g.float64())
	case 4, 5:
		return attribute.StringValue(g.string())
	case 6:
		s := make([]bool, n)
		for i := range s {
			s[i] = g.r.IntN(2) == 1
		}
		return attribute.BoolSliceValue(s)
	case 7:
		s := make([]int64, n)
		for i := range s {
			s[i] = g.int64()
		}
		if n == 6 {
			s = make([]int64, 40) // a body of 128 bytes or more
			for i := range s {
				s[i] = -1
			}
		}
		return attribute.Int64SliceValue(s)
	case 8:
		s := make([]float64, n)
		for i := range s {
			s[i] = g.float64()
		}
		return attribute.Float64SliceValue(s)
	case 9:
		if g.r.IntN(2) == 0 {
			b := make([]byte, n*7)
			for i := range b {
				b[i] = byte(g.r.Uint32())
			}
			return attribute.ByteSliceValue(b)
		}
		s := make([]string, n)
		for i := range s {
			s[i] = g.string()
		}
		return attribute.StringSliceValue(s)
	case 10:
		s := make([]attribute.Value, n)
		for i := range s {
			s[i] = g.value(depth + 1)
		}
		return attribute.SliceValue(s...)
	default:
		s := make([]attribute.KeyValue, n)
		for i := range s {
			s[i] = attribute.KeyValue{Key: attribute.Key(g.string()), Value: g.value(depth + 1)}
		}
		return attribute.MapValue(s...)
	}
}

func (g *gen) keyValues(maxN int) []attribute.KeyValue {
	n := g.r.IntN(maxN + 1)
	if n == 0 {
		return nil
	}
	kvs := make([]attribute.KeyValue, n)
	for i := range kvs {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(g.string()), Value: g.value(0)}
	}
	return kvs
}

// Reference transform: the documented mapping of attribute values onto
// OTLP messages, built the obvious way, for the encoder to equal. Invalid
// UTF-8 is expected to arrive replaced as string([]rune(s)) does.

func refString(s string) string { return string([]rune(s)) }

func refKeyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = &commonpb.KeyValue{Key: refString(string(kv.Key)), Value: refValue(kv.Value)}
	}
	return out
}

func refValue(v attribute.Value) *commonpb.AnyValue {
	av := &commonpb.AnyValue{}
	arr := func(vals []*commonpb.AnyValue) {
		av.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}
	}
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		av.Value = &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}
	case attribute.INT64:
		av.Value = &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}
	case attribute.FLOAT64:
		av.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}
	case attribute.STRING:
		av.Value = &commonpb.AnyValue_StringValue{StringValue: refString(v.AsString())}
	case attribute.BYTESLICE:
		av.Value = &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		arr(refValues(v.AsBoolSlice(), attribute.BoolValue))
	case attribute.INT64SLICE:
		arr(refValues(v.AsInt64Slice(), attribute.Int64Value))
	case attribute.FLOAT64SLICE:
		arr(refValues(v.AsFloat64Slice(), attribute.Float64Value))
	case attribute.STRINGSLICE:
		arr(refValues(v.AsStringSlice(), attribute.StringValue))
	case attribute.SLICE:
		arr(refValues(v.AsSlice(), func(x attribute.Value) attribute.Value { return x }))
	case attribute.MAP:
		av.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: refKeyValues(v.AsMap())}}
	default:
		av.Value = &commonpb.AnyValue_StringValue{StringValue: "INVALID"}
	}
	return av
}

func refValues[T any](xs []T, wrap func(T) attribute.Value) []*commonpb.AnyValue {
	var vals []*commonpb.AnyValue
	for _, x := range xs {
		vals = append(vals, refValue(wrap(x)))
	}
	return vals
}

// propertyCases is how many random cases a property test draws: n, or a fifth of
// it under the race detector.
func propertyCases(n uint64) uint64 {
	if raceEnabled {
		return max(n/5, 10)
	}
	return n
}
