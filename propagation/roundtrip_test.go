package propagation

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// producerContext is a context with a span context (with a trace state) and
// baggage, as a producer would have.
func producerContext(t testing.TB) context.Context {
	t.Helper()
	m, _ := baggage.NewMember("user", "alice")
	b, _ := baggage.New(m)
	ctx := baggage.ContextWithBaggage(context.Background(), b)
	return trace.ContextWithSpanContext(ctx, testSC(t, "vendor=abc,other=x"))
}

type propCase struct {
	name string
	prop propagation.TextMapPropagator
	// what survives each format
	state, bag bool
}

var propCases = []propCase{
	{"tracecontext", propagation.TraceContext{}, true, false},
	{"tracecontext+baggage", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), true, true},
	{"xray", xray.Propagator{}, false, false},
}

func mustProducer(t testing.TB, opts ...Option) *Producer {
	t.Helper()
	p, err := NewProducer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustConsumer(t testing.TB, opts ...Option) *Consumer {
	t.Helper()
	c, err := NewConsumer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkExtracted checks that m is the original record with the producer's
// context.
func checkExtracted(t *testing.T, m Message, biz string, data []byte, f Format, pc propCase, full bool) {
	t.Helper()
	if m.Err != nil {
		t.Errorf("Err = %v", m.Err)
	}
	if m.PartitionKey != biz || !bytes.Equal(m.Data, data) {
		t.Errorf("record = %q, %q; want %q, %q", m.PartitionKey, m.Data, biz, data)
	}
	if m.Format != f {
		t.Errorf("Format = %v, want %v", m.Format, f)
	}
	want := testSC(t, "vendor=abc,other=x")
	got := m.SpanContext()
	if got.TraceID() != want.TraceID() || got.SpanID() != want.SpanID() || !got.IsSampled() || !got.IsRemote() {
		t.Errorf("span context = %v, want %v", got, want)
	}
	if sc := trace.SpanContextFromContext(m.Context()); !sc.Equal(got) {
		t.Errorf("Context holds %v, SpanContext says %v", sc, got)
	}
	if wantState := full && pc.state; (got.TraceState().String() == want.TraceState().String()) != wantState {
		t.Errorf("trace state = %q (carried: want %v)", got.TraceState(), wantState)
	}
	if wantBag := full && pc.bag; (baggage.FromContext(m.Context()).Member("user").Value() == "alice") != wantBag {
		t.Errorf("baggage = %q (carried: want %v)", baggage.FromContext(m.Context()), wantBag)
	}
}

func TestRoundTrip(t *testing.T) {
	data := []byte(`{"event":"created","n":1}`)
	for _, pc := range propCases {
		for _, f := range []Format{FormatKey, FormatEnvelope, FormatJSON} {
			t.Run(pc.name+"/"+f.String(), func(t *testing.T) {
				p := mustProducer(t, WithPropagator(pc.prop), WithFormat(f))
				c := mustConsumer(t, WithPropagator(pc.prop))
				pk, ehk, out, used, err := p.Inject(producerContext(t), "group-7", "", data)
				if f == FormatKey && pc.name == "xray" {
					if !errors.Is(err, ErrNoTraceparent) || pk != "group-7" || ehk != "" || !bytes.Equal(out, data) {
						t.Fatalf("X-Ray into the key: %q %q %v; want ErrNoTraceparent, record untouched", pk, ehk, err)
					}
					return
				}
				if err != nil || used != f {
					t.Fatalf("Inject: format %v, %v", used, err)
				}
				if f == FormatKey {
					if ehk != md5Decimal("group-7") || !strings.HasSuffix(pk, "~group-7") {
						t.Errorf("key %q, hash key %q", pk, ehk)
					}
				} else if pk != "group-7" || ehk != "" {
					t.Errorf("key changed to %q, %q", pk, ehk)
				}
				checkExtracted(t, c.Extract(context.Background(), pk, out, nil), "group-7", data, f, pc, f != FormatKey)
			})
		}
		t.Run(pc.name+"/tags", func(t *testing.T) {
			p := mustProducer(t, WithPropagator(pc.prop), WithFormat(FormatTags))
			c := mustConsumer(t, WithPropagator(pc.prop))
			own := []Tag{{Key: "otelkinesis.signal", Value: "traces"}}
			tags, err := p.InjectTags(producerContext(t), own)
			if err != nil {
				t.Fatal(err)
			}
			if len(own) != 1 || own[0].Value != "traces" || tags[0] != own[0] {
				t.Errorf("tags %q, caller's %q", tags, own)
			}
			checkExtracted(t, c.Extract(context.Background(), "group-7", data, tags), "group-7", data, FormatTags, pc, true)
			if _, _, _, _, err := p.Inject(producerContext(t), "group-7", "", data); !errors.Is(err, ErrTagsNeedAggregation) {
				t.Errorf("tags on a plain record: %v", err)
			}
		})
	}
}

func TestKeyFallback(t *testing.T) {
	data := []byte("opaque")
	long := strings.Repeat("k", MaxWrappedBusinessKeyLength+1)
	for _, tc := range []struct {
		name string
		prop propagation.TextMapPropagator
		key  string
		err  error
		full bool
	}{
		{"key too long", propagation.TraceContext{}, long, ErrKeyTooLong, true},
		{"X-Ray", xray.Propagator{}, "group-7", ErrNoTraceparent, true},
		{"tracestate does not fit", propagation.TraceContext{}, "group-7", nil, true},
		{"baggage does not fit", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), "group-7", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without a fallback: the error, and the record untouched.
			p := mustProducer(t, WithPropagator(tc.prop))
			pk, ehk, out, f, err := p.Inject(producerContext(t), tc.key, "", data)
			if !errors.Is(err, tc.err) || (err == nil) != (f == FormatKey) {
				t.Fatalf("no fallback: format %v, err %v; want %v", f, err, tc.err)
			}
			if err != nil && (pk != tc.key || ehk != "" || !bytes.Equal(out, data)) {
				t.Errorf("no fallback: record changed to %q %q %q", pk, ehk, out)
			}
			// With the envelope as fallback: all of the context, key untouched.
			p = mustProducer(t, WithPropagator(tc.prop), WithFallback(FormatEnvelope))
			pk, ehk, out, f, err = p.Inject(producerContext(t), tc.key, "", data)
			if err != nil || f != FormatEnvelope || pk != tc.key || ehk != "" {
				t.Fatalf("fallback: %q %q format %v err %v", pk, ehk, f, err)
			}
			c := mustConsumer(t, WithPropagator(tc.prop))
			pc := propCase{state: tc.name != "X-Ray", bag: strings.Contains(tc.name, "baggage")}
			checkExtracted(t, c.Extract(context.Background(), pk, out, nil), tc.key, data, FormatEnvelope, pc, true)
		})
	}
}

func TestKeyKeepsExplicitHashKey(t *testing.T) {
	p := mustProducer(t, WithPropagator(propagation.TraceContext{}))
	pk, ehk, _, f, err := p.Inject(producerContext(t), "group-7", "12345", nil)
	if err != nil || f != FormatKey || ehk != "12345" || pk != "tp~"+testTraceparent+"~group-7" {
		t.Fatalf("Inject = %q, %q, %v, %v", pk, ehk, f, err)
	}
}

// A record that would be read as carrying context is wrapped even when there
// is none, so the consumer gets it back exactly.
func TestNoContextProtectsLookalikes(t *testing.T) {
	noCtx := context.Background()
	lookKey := "tp~" + testTraceparent + "~group-7"
	lookEnv, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: testTraceparent}}, []byte("inner"))
	lookJSON := []byte(`{"_otel":{"traceparent":"` + testTraceparent + `"},"a":1}`)
	for _, prop := range []propagation.TextMapPropagator{propagation.TraceContext{}, propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})} {
		c := mustConsumer(t, WithPropagator(prop))
		for _, tc := range []struct {
			f    Format
			key  string
			data []byte
		}{
			{FormatKey, lookKey, []byte("x")},
			{FormatEnvelope, "k", lookEnv},
			{FormatJSON, "k", lookJSON},
		} {
			p := mustProducer(t, WithPropagator(prop), WithFormat(tc.f))
			pk, _, out, f, err := p.Inject(noCtx, tc.key, "", tc.data)
			if err != nil || f != FormatNone {
				t.Fatalf("%v: format %v, %v", tc.f, f, err)
			}
			if pk == tc.key && bytes.Equal(out, tc.data) {
				t.Fatalf("%v: lookalike sent unprotected", tc.f)
			}
			m := c.Extract(context.Background(), pk, out, nil)
			if m.PartitionKey != tc.key || !bytes.Equal(m.Data, tc.data) || m.SpanContext().IsValid() || m.Err != nil {
				t.Errorf("%v: got %q %q %v %v; want the lookalike back, no context", tc.f, m.PartitionKey, m.Data, m.SpanContext(), m.Err)
			}
			// And an ordinary record without context is left alone.
			pk, _, out, _, _ = p.Inject(noCtx, "k", "", []byte(`{"a":1}`))
			if pk != "k" || string(out) != `{"a":1}` {
				t.Errorf("%v: ordinary record changed to %q %q", tc.f, pk, out)
			}
		}
	}
}

func TestExtractPassesThroughAndReports(t *testing.T) {
	c := mustConsumer(t, WithPropagator(propagation.TraceContext{}))
	badEnv, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}, []byte("p"))
	corrupt := slices.Clone(badEnv)
	corrupt[13] ^= 0xff
	for _, tc := range []struct {
		name      string
		pk        string
		data      []byte
		wantPK    string
		wantData  []byte
		wantError error
	}{
		{"plain", "k", []byte("d"), "k", []byte("d"), nil},
		{"KPL aggregate", "k", []byte{0xF3, 0x89, 0x9A, 0xC2, 1, 2}, "k", []byte{0xF3, 0x89, 0x9A, 0xC2, 1, 2}, nil},
		{"zero trace ID in an envelope", "k", badEnv, "k", []byte("p"), ErrMalformedContext},
		{"corrupt envelope", "k", corrupt, "k", corrupt, ErrMalformedEnvelope},
		{"zero trace ID in the key", "tp~00-00000000000000000000000000000000-00f067aa0ba902b7-01~k", nil, "k", nil, ErrMalformedContext},
		{"version ff in the key", "tp~ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~k", nil, "k", nil, ErrMalformedContext},
		{"bad JSON field", "k", []byte(`{"_otel":{"traceparent":7}}`), "k", []byte(`{"_otel":{"traceparent":7}}`), ErrMalformedJSONField},
	} {
		m := c.Extract(context.Background(), tc.pk, tc.data, nil)
		if m.PartitionKey != tc.wantPK || !bytes.Equal(m.Data, tc.wantData) {
			t.Errorf("%s: record %q %q, want %q %q", tc.name, m.PartitionKey, m.Data, tc.wantPK, tc.wantData)
		}
		if !errors.Is(m.Err, tc.wantError) || (tc.wantError == nil) != (m.Err == nil) {
			t.Errorf("%s: Err = %v, want %v", tc.name, m.Err, tc.wantError)
		}
		if m.SpanContext().IsValid() || m.Format != FormatNone {
			t.Errorf("%s: context %v from %v", tc.name, m.SpanContext(), m.Format)
		}
		if m.Context() != context.Background() {
			t.Errorf("%s: Context changed", tc.name)
		}
	}
}

func TestExtractPrecedence(t *testing.T) {
	other := testSC(t, "").WithSpanID(trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9})
	otherTP := string(appendTraceparent(nil, other))
	env, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: testTraceparent}}, []byte("d"))
	pk := "tp~" + otherTP + "~k"
	for _, prop := range []propagation.TextMapPropagator{propagation.TraceContext{}, propagation.NewCompositeTextMapPropagator(propagation.TraceContext{})} {
		m := mustConsumer(t, WithPropagator(prop)).Extract(context.Background(), pk, env, nil)
		if m.Format != FormatEnvelope || m.SpanContext().SpanID() != testSC(t, "").SpanID() || m.PartitionKey != "k" || string(m.Data) != "d" {
			t.Errorf("envelope and key: %v %v %q %q", m.Format, m.SpanContext(), m.PartitionKey, m.Data)
		}
		// Formats not asked for are left on the record.
		m = mustConsumer(t, WithPropagator(prop), WithExtractFormats(FormatKey)).Extract(context.Background(), pk, env, nil)
		if m.Format != FormatKey || m.SpanContext().SpanID() != other.SpanID() || !bytes.Equal(m.Data, env) {
			t.Errorf("key only: %v %v %q", m.Format, m.SpanContext(), m.Data)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Option{WithFormat(99), WithFallback(formatCount), WithExtractFormats(FormatNone), WithJSONField(""), WithMaxRecordSize(0)} {
		if _, err := NewProducer(o); err == nil {
			t.Errorf("NewProducer accepted %#v", o)
		}
		if _, err := NewConsumer(o); err == nil {
			t.Errorf("NewConsumer accepted %#v", o)
		}
	}
}

func TestRecordSizeLimit(t *testing.T) {
	p := mustProducer(t, WithPropagator(propagation.TraceContext{}), WithFormat(FormatEnvelope), WithMaxRecordSize(100))
	ctx := trace.ContextWithSpanContext(context.Background(), testSC(t, ""))
	data := make([]byte, 100-EnvelopeFixedSize-(1+11+2+55)-1)
	if _, _, out, f, err := p.Inject(ctx, "k", "", data); err != nil || f != FormatEnvelope || len(out) != 99 {
		t.Fatalf("fits: %d bytes, %v, %v", len(out), f, err)
	}
	data = append(data, 0, 0)
	if _, _, out, _, err := p.Inject(ctx, "k", "", data); !errors.Is(err, ErrRecordTooLarge) || !bytes.Equal(out, data) {
		t.Fatalf("over: %v", err)
	}
}

// A business key that looks wrapped but is too long to protect is refused,
// even with a fallback that has nothing to carry.
func TestUnprotectableLookalikeIsAnError(t *testing.T) {
	long := "tp~" + testTraceparent + "~" + strings.Repeat("k", MaxWrappedBusinessKeyLength)
	for _, fb := range []Format{FormatNone, FormatEnvelope} {
		p := mustProducer(t, WithPropagator(propagation.TraceContext{}), WithFallback(fb))
		pk, ehk, out, f, err := p.Inject(context.Background(), long, "", []byte("x"))
		if !errors.Is(err, ErrKeyTooLong) || f != FormatNone || pk != long || ehk != "" || string(out) != "x" {
			t.Errorf("fallback %v: %v %v %q %q", fb, f, err, ehk, out)
		}
	}
}

// uncomparableCtx is a context type that == would panic on.
type uncomparableCtx struct {
	context.Context
	tags []string
}

func TestExtractWithUncomparableContext(t *testing.T) {
	parent := uncomparableCtx{Context: context.Background(), tags: []string{"x"}}
	for _, pc := range propCases {
		p := mustProducer(t, WithPropagator(pc.prop), WithFormat(FormatEnvelope))
		_, _, data, _, err := p.Inject(producerContext(t), "k", "", []byte("d"))
		if err != nil {
			t.Fatal(err)
		}
		m := mustConsumer(t, WithPropagator(pc.prop)).Extract(parent, "k", data, nil)
		if m.Format != FormatEnvelope || !m.SpanContext().IsValid() {
			t.Errorf("%s: %v %v", pc.name, m.Format, m.SpanContext())
		}
		// Fields the propagator extracts nothing from: still no panic,
		// nothing found.
		other, _ := AppendEnvelope(nil, []Tag{{Key: "foo", Value: "bar"}}, []byte("d"))
		if m := mustConsumer(t, WithPropagator(pc.prop)).Extract(parent, "k", other, nil); m.Format != FormatNone || string(m.Data) != "d" {
			t.Errorf("%s: found %v", pc.name, m.Format)
		}
	}
}
