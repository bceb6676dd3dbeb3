package propagation

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// testSC is a sampled remote span context used across the tests.
func testSC(t testing.TB, state string) trace.SpanContext {
	t.Helper()
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
}

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestAppendTraceparentMatchesTraceContext(t *testing.T) {
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsRandom, 0xff} {
		sc := testSC(t, "").WithTraceFlags(flags)
		want := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), want)
		if got := string(appendTraceparent(nil, sc)); got != want["traceparent"] {
			t.Errorf("flags %02x: appendTraceparent = %q, TraceContext wrote %q", byte(flags), got, want["traceparent"])
		}
	}
	if got := string(appendTraceparent(nil, testSC(t, ""))); got != testTraceparent {
		t.Errorf("appendTraceparent = %q, want %q", got, testTraceparent)
	}
}

// checkParseTraceparent compares parseTraceparent with TraceContext.Extract on
// the same value.
func checkParseTraceparent(t *testing.T, tp string) {
	t.Helper()
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	want := trace.SpanContextFromContext(ctx)
	cfg, ok := parseTraceparent(tp)
	got := trace.NewSpanContext(cfg)
	if ok != want.IsValid() || (ok && !got.Equal(want)) {
		t.Fatalf("parseTraceparent(%q) = %v, %v; TraceContext extracted %v (valid %v)", tp, got, ok, want, want.IsValid())
	}
	bcfg, bok := parseTraceparent([]byte(tp))
	if bok != ok || !trace.NewSpanContext(bcfg).Equal(got) {
		t.Fatalf("parseTraceparent differs between string and []byte for %q", tp)
	}
}

var traceparentSeeds = []string{
	testTraceparent,
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-04",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	zeroTraceparent,
	"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
	"",
	"00",
}

func TestParseTraceparentMatchesTraceContext(t *testing.T) {
	for _, tp := range traceparentSeeds {
		checkParseTraceparent(t, tp)
	}
}

func FuzzParseTraceparent(f *testing.F) {
	for _, s := range traceparentSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tp string) {
		checkParseTraceparent(t, tp)
		if got, want := traceparentSyntax(tp), traceparentSyntaxRef(tp); got != want {
			t.Fatalf("traceparentSyntax(%q) = %v, want %v", tp, got, want)
		}
	})
}

// traceparentSyntaxRef is traceparentSyntax written plainly.
func traceparentSyntaxRef(tp string) bool {
	if len(tp) != traceparentLen {
		return false
	}
	for i := 0; i < len(tp); i++ {
		dash := i == 2 || i == 35 || i == 52
		hex := '0' <= tp[i] && tp[i] <= '9' || 'a' <= tp[i] && tp[i] <= 'f'
		if dash && tp[i] != '-' || !dash && !hex {
			return false
		}
	}
	return true
}

// hex8 against the standard library.
func TestHex8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := []uint32{0, 1, 9, 10, 15, 16, 0x89abcdef, 0xfedcba98, 0xffffffff}
	for range 10000 {
		xs = append(xs, rng.Uint32())
	}
	for _, x := range xs {
		var got [8]byte
		binary.BigEndian.PutUint64(got[:], hex8(x))
		if want := fmt.Sprintf("%08x", x); string(got[:]) != want {
			t.Fatalf("hex8(%#x) = %q, want %q", x, got, want)
		}
	}
}
