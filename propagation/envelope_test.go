package propagation

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestEnvelopeLayout(t *testing.T) {
	headers := []Tag{{Key: "traceparent", Value: testTraceparent}, {Key: "k", Value: ""}}
	got, err := AppendEnvelope([]byte("prefix"), headers, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	// Built by hand from the documented layout.
	block := []byte{11}
	block = append(block, "traceparent"...)
	block = append(block, 0, 55)
	block = append(block, testTraceparent...)
	block = append(block, 1, 'k', 0, 0)
	fixed := []byte{0xFE, 'O', 'T', 'K', 1, 2, 0, byte(len(block)), 0, 0, 0, 7}
	sum := crc32.Checksum(append(append([]byte{}, fixed...), block...), crc32.MakeTable(crc32.Castagnoli))
	want := append([]byte("prefix"), fixed...)
	want = binary.BigEndian.AppendUint32(want, sum)
	want = append(want, block...)
	want = append(want, `{"a":1}`...)
	if !bytes.Equal(got, want) {
		t.Fatalf("envelope\n got % x\nwant % x", got, want)
	}
	if n, _ := EnvelopeSize(headers, 7); n != len(want)-len("prefix") {
		t.Errorf("EnvelopeSize = %d, want %d", n, len(want)-len("prefix"))
	}

	h, payload, err := OpenEnvelope(got[len("prefix"):])
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"a":1}` || len(h) != 2 || h[0] != headers[0] || h[1] != headers[1] {
		t.Errorf("OpenEnvelope = %q, %q", h, payload)
	}
}

func TestEnvelopeRoundTripIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		payload := make([]byte, rng.IntN(3000))
		for j := range payload {
			payload[j] = byte(rng.Uint32())
		}
		if i%7 == 0 {
			payload = nil
		}
		headers := []Tag{{Key: "traceparent", Value: testTraceparent}, {Key: "baggage", Value: strings.Repeat("x", rng.IntN(500))}}
		env, err := AppendEnvelope(nil, headers[:rng.IntN(3)], payload)
		if err != nil {
			t.Fatal(err)
		}
		if !IsEnvelope(env) {
			t.Fatalf("IsEnvelope false on %x", env[:16])
		}
		_, got, err := OpenEnvelope(env)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("round trip %d: %v, payload changed", i, err)
		}
	}
}

func TestEnvelopeRejectsAlmostEnvelopes(t *testing.T) {
	good, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: testTraceparent}}, []byte("data"))
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	recrc := func(b []byte) []byte {
		h := int(binary.BigEndian.Uint16(b[6:]))
		sum := crc32.Update(crc32.Checksum(b[:12], castagnoli), castagnoli, b[16:16+h])
		binary.BigEndian.PutUint32(b[12:], sum)
		return b
	}
	for name, b := range map[string][]byte{
		"short":            good[:10],
		"version 2":        mutate(func(b []byte) []byte { b[4] = 2; return recrc(b) }),
		"count too high":   mutate(func(b []byte) []byte { b[5] = 2; return recrc(b) }),
		"count too low":    mutate(func(b []byte) []byte { b[5] = 0; return recrc(b) }),
		"count over limit": mutate(func(b []byte) []byte { b[5] = 65; return recrc(b) }),
		"header len":       mutate(func(b []byte) []byte { b[7]++; return recrc(b) }),
		"payload len":      mutate(func(b []byte) []byte { b[11]++; return recrc(b) }),
		"truncated":        good[:len(good)-1],
		"extended":         append(append([]byte{}, good...), 0),
		"checksum":         mutate(func(b []byte) []byte { b[12] ^= 1; return b }),
		"header byte":      mutate(func(b []byte) []byte { b[20] ^= 1; return b }),
		"empty key":        mutate(func(b []byte) []byte { b[16] = 0; return recrc(b) }),
		"key past block":   mutate(func(b []byte) []byte { b[16] = 200; return recrc(b) }),
		"value past block": mutate(func(b []byte) []byte { b[29] = 200; return recrc(b) }),
	} {
		h, payload, err := OpenEnvelope(b)
		if !errors.Is(err, ErrMalformedEnvelope) {
			t.Errorf("%s: err = %v, want ErrMalformedEnvelope", name, err)
		}
		if h != nil || !bytes.Equal(payload, b) {
			t.Errorf("%s: data not passed through untouched", name)
		}
		if IsEnvelope(b) {
			t.Errorf("%s: IsEnvelope true", name)
		}
	}
}

func TestEnvelopeIsNotConfusedWithOtherFormats(t *testing.T) {
	var agg aggregation.Aggregator
	agg.Add("pk", "", []byte("data"), nil)
	for name, b := range map[string][]byte{
		"KPL aggregate": agg.AppendTo(nil),
		"JSON":          []byte(`{"traceparent":"x"}`),
		"protobuf":      {0x0a, 0x03, 'a', 'b', 'c'},
		"gzip":          {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"UTF-16 BOM":    {0xfe, 0xff, 0, 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e', 0, 'f', 0, 'g', 0, 'h'},
		"empty":         nil,
	} {
		if _, _, err := OpenEnvelope(b); !errors.Is(err, ErrNotEnvelope) {
			t.Errorf("%s: err = %v, want ErrNotEnvelope", name, err)
		}
	}
	// The first byte begins no UTF-8 text and no protobuf field.
	if EnvelopeMagic[0]&7 != 6 || EnvelopeMagic[0] < 0xF5 {
		t.Errorf("magic byte %x", EnvelopeMagic[0])
	}
	// Random data behind a correct magic is still refused.
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		b := make([]byte, 16+rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		copy(b, EnvelopeMagic[:])
		b[4] = EnvelopeVersion
		if IsEnvelope(b) {
			t.Fatalf("random bytes taken for an envelope: % x", b)
		}
	}
}

func TestEnvelopeLimits(t *testing.T) {
	tooMany := make([]Tag, MaxEnvelopeHeaders+1)
	for i := range tooMany {
		tooMany[i] = Tag{Key: "k", Value: "v"}
	}
	for name, h := range map[string][]Tag{
		"too many":   tooMany,
		"empty key":  {{Key: "", Value: "v"}},
		"long key":   {{Key: strings.Repeat("k", 256), Value: "v"}},
		"long value": {{Key: "baggage", Value: strings.Repeat("v", MaxEnvelopeHeaderBytes)}},
	} {
		dst := []byte("keep")
		out, err := AppendEnvelope(dst, h, nil)
		if !errors.Is(err, ErrHeadersTooLarge) || string(out) != "keep" {
			t.Errorf("%s: %q, %v; want dst unchanged and ErrHeadersTooLarge", name, out, err)
		}
	}
	// The largest header block allowed round-trips.
	h := []Tag{{Key: "baggage", Value: strings.Repeat("v", MaxEnvelopeHeaderBytes-1-7-2)}}
	env, err := AppendEnvelope(nil, h, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := OpenEnvelope(env); err != nil || got[0] != h[0] {
		t.Fatalf("largest header block: %v", err)
	}
}

func FuzzOpenEnvelope(f *testing.F) {
	good, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: testTraceparent}, {Key: "tracestate", Value: "a=b"}}, []byte("data"))
	empty, _ := AppendEnvelope(nil, nil, nil)
	for _, s := range [][]byte{good, empty, good[:20], []byte("plain"), {0xFE, 'O', 'T', 'K', 1}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := OpenEnvelope(data)
		if err != nil {
			if !bytes.Equal(payload, data) || h != nil {
				t.Fatal("failed open changed the data")
			}
			return
		}
		// What opens rewrites to the same bytes.
		again, err := AppendEnvelope(nil, h, payload)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v\n got % x\nwant % x", err, again, data)
		}
	})
}

// FuzzEnvelopeRoundTrip builds envelopes from arbitrary headers and payloads:
// whatever AppendEnvelope accepts, OpenEnvelope gives back exactly, and a
// flipped bit anywhere before the payload is caught.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	f.Add("traceparent", testTraceparent, "baggage", "a=b", []byte("data"), uint16(3))
	f.Add("", "", "k", "", []byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, payload []byte, flip uint16) {
		var headers []Tag
		for _, h := range []Tag{{Key: k1, Value: v1}, {Key: k2, Value: v2}} {
			if h.Key != "" {
				headers = append(headers, h)
			}
		}
		env, err := AppendEnvelope(nil, headers, payload)
		if err != nil {
			if !errors.Is(err, ErrHeadersTooLarge) {
				t.Fatalf("AppendEnvelope: %v", err)
			}
			return
		}
		got, p, err := OpenEnvelope(env)
		if err != nil || !bytes.Equal(p, payload) || len(got) != len(headers) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range headers {
			if got[i] != headers[i] {
				t.Fatalf("header %d: %q, want %q", i, got[i], headers[i])
			}
		}
		bit := int(flip) % ((len(env) - len(payload)) * 8)
		env[bit/8] ^= 1 << (bit % 8)
		if IsEnvelope(env) {
			t.Fatalf("bit %d flipped and still an envelope", bit)
		}
	})
}

// traceStateOfLen returns a valid trace state exactly n bytes long (n >= 4),
// of members of at most 200 bytes.
func traceStateOfLen(t *testing.T, n int) trace.TraceState {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		prefix := fmt.Sprintf("k%d=", i)
		if i > 0 {
			prefix = "," + prefix
		}
		room := n - b.Len()
		size := min(room, 200)
		if next := len(fmt.Sprintf(",k%d=v", i+1)); room > size && room-size < next {
			size = room - next // leave the next member room for a value
		}
		b.WriteString(prefix + strings.Repeat("v", size-len(prefix)))
	}
	ts, err := trace.ParseTraceState(b.String())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The producer's direct W3C envelope, in one allocation, is the envelope
// AppendEnvelope writes of the fields TraceContext sets, whatever the size of
// the trace state.
func TestEnvelopeW3CMatchesAppendEnvelope(t *testing.T) {
	w3c := mustProducer(t, WithPropagator(propagation.TraceContext{}), WithFormat(FormatEnvelope))
	payload := []byte(`{"a":1}`)
	for _, n := range []int{0, 4, 157, 158, 159, 512, 2000} {
		sc := testSC(t, "")
		if n > 0 {
			sc = sc.WithTraceState(traceStateOfLen(t, n))
			if got := len(sc.TraceState().String()); got != n {
				t.Fatalf("trace state of %d bytes, want %d", got, n)
			}
		}
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		fields := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, fields)
		headers := []Tag{{Key: "traceparent", Value: fields["traceparent"]}}
		if n > 0 {
			headers = append(headers, Tag{Key: "tracestate", Value: fields["tracestate"]})
		}
		want, err := AppendEnvelope(nil, headers, payload)
		if err != nil {
			t.Fatal(err)
		}
		key := aws.String("k")
		e := types.PutRecordsRequestEntry{PartitionKey: key, Data: payload}
		if f, err := w3c.InjectEntry(ctx, &e); err != nil || f != FormatEnvelope {
			t.Fatalf("trace state of %d bytes: %v, %v", n, f, err)
		}
		if !bytes.Equal(e.Data, want) || cap(e.Data) != len(want) {
			t.Errorf("trace state of %d bytes:\n got % x (cap %d)\nwant % x", n, e.Data, cap(e.Data), want)
		}
		if a := testing.AllocsPerRun(20, func() {
			e := types.PutRecordsRequestEntry{PartitionKey: key, Data: payload}
			_, _ = w3c.InjectEntry(ctx, &e)
		}); a > 1+btoi(n > 0) {
			t.Errorf("trace state of %d bytes: %v allocations", n, a)
		}
	}
}

func btoi(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
