package propagation

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// upstreamSC is the context of some earlier hop, which a look-alike carries:
// a consumer that read it would join the wrong trace.
func upstreamSC(t testing.TB) trace.SpanContext {
	return testSC(t, "").WithSpanID(trace.SpanID{0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb})
}

// lookalike is a record whose key or data a consumer would read as carrying
// context, though it is the business record itself.
type lookalike struct {
	name string
	key  string
	data []byte
}

func lookalikes(t testing.TB) []lookalike {
	upTP := string(appendTraceparent(nil, upstreamSC(t)))
	jsonField := []byte(`{"_otel":{"traceparent":"` + upTP + `"},"a":1}`)
	env, err := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: upTP}}, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	envOfJSON, err := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: upTP}}, jsonField)
	if err != nil {
		t.Fatal(err)
	}
	wrappedKey := "tp~" + upTP + "~group-7"
	return []lookalike{
		{"key", wrappedKey, []byte(`{"a":1}`)},
		{"envelope data", "group-7", env},
		{"JSON field data", "group-7", jsonField},
		{"JSON field with escaped name", "group-7", []byte(` { "\u005fotel" : {"traceparent":"` + upTP + `"} }`)},
		{"JSON field, not an object", "group-7", []byte(`{"_otel":{"traceparent":"` + upTP + `"}} trailing`)},
		{"empty JSON field", "group-7", []byte(`{"_otel":{}}`)},
		{"all three", wrappedKey, envOfJSON},
	}
}

// A producer of any format, given a record that a consumer looking for every
// format would read as carrying context, makes it read back exactly: the
// business key and data as given, on the business key's shard, with the
// context the producer injected or none.
func TestLookalikesReadBackExactly(t *testing.T) {
	props := []struct {
		name string
		prop propagation.TextMapPropagator
	}{
		{"tracecontext", propagation.TraceContext{}},
		{"composite", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
	}
	formats := []Format{FormatKey, FormatEnvelope, FormatJSON, FormatTags}
	for _, pr := range props {
		c := mustConsumer(t, WithPropagator(pr.prop))
		for _, f := range formats {
			p := mustProducer(t, WithPropagator(pr.prop), WithFormat(f))
			for _, la := range lookalikes(t) {
				for _, withCtx := range []bool{false, true} {
					name := pr.name + "/" + f.String() + "/" + la.name + "/no context"
					ctx := context.Background()
					if withCtx {
						name = pr.name + "/" + f.String() + "/" + la.name + "/context"
						ctx = trace.ContextWithSpanContext(ctx, testSC(t, ""))
					}
					t.Run(name, func(t *testing.T) {
						checkLookalike(t, p, c, f, la, ctx, withCtx)
					})
				}
			}
		}
	}
}

func checkLookalike(t *testing.T, p *Producer, c *Consumer, f Format, la lookalike, ctx context.Context, withCtx bool) {
	orig := bytes.Clone(la.data)
	var (
		pk, ehk string
		data    []byte
		tags    []Tag
		used    Format
		err     error
	)
	if f == FormatTags {
		pk, ehk, data, tags, err = p.InjectUserRecord(ctx, la.key, "", la.data, nil)
		if len(tags) > 0 {
			used = FormatTags
		}
	} else {
		pk, ehk, data, used, err = p.Inject(ctx, la.key, "", la.data)
	}
	if !bytes.Equal(la.data, orig) {
		t.Fatal("injection wrote into the caller's data")
	}
	// The JSON format cannot carry context in data that is not a JSON
	// object: it says so, and the record still reads back exactly.
	wantFormat := FormatNone
	if withCtx {
		wantFormat = f
	}
	var wantErr error
	if _, isObject := jsonObjectBounds(la.data); f == FormatJSON && withCtx && !isObject {
		wantFormat, wantErr = FormatNone, ErrNotJSONObject
	}
	if used != wantFormat || !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
		t.Fatalf("injected in %v, err %v; want %v, %v", used, err, wantFormat, wantErr)
	}
	if pk == la.key && bytes.Equal(data, la.data) && len(tags) == 0 {
		t.Fatal("the look-alike was sent as it came")
	}

	// Kinesis routes by the explicit hash key, else by the partition key's.
	routed := ehk
	if routed == "" {
		routed = md5Decimal(pk)
	}
	if want := md5Decimal(la.key); routed != want {
		t.Errorf("routed by hash key %s, the business key's is %s", routed, want)
	}
	m := c.Extract(context.Background(), pk, data, tags)
	if m.PartitionKey != la.key || !bytes.Equal(m.Data, la.data) || m.Err != nil {
		t.Errorf("read back %q %q (err %v); want %q %q", m.PartitionKey, m.Data, m.Err, la.key, la.data)
	}
	if m.Format != wantFormat {
		t.Errorf("context read from %v, want %v", m.Format, wantFormat)
	}
	want := trace.SpanContext{}
	if wantFormat != FormatNone {
		want = testSC(t, "")
	}
	if got := m.SpanContext(); got.TraceID() != want.TraceID() || got.SpanID() != want.SpanID() {
		t.Errorf("context %v, want %v", got, want)
	}
}

// Injection turned off leaves every record alone, look-alikes included.
func TestFormatNoneLeavesLookalikes(t *testing.T) {
	p := mustProducer(t, WithPropagator(propagation.TraceContext{}), WithFormat(FormatNone))
	ctx := trace.ContextWithSpanContext(context.Background(), testSC(t, ""))
	for _, la := range lookalikes(t) {
		pk, ehk, data, f, err := p.Inject(ctx, la.key, "", la.data)
		if pk != la.key || ehk != "" || !bytes.Equal(data, la.data) || f != FormatNone || err != nil {
			t.Errorf("%s: %q %q %q %v %v", la.name, pk, ehk, data, f, err)
		}
	}
}

// Protection that would push a record over the size limit is refused, and
// the record is left as it came.
func TestLookalikeOverTheLimitIsAnError(t *testing.T) {
	for _, la := range lookalikes(t)[1:3] {
		p := mustProducer(t, WithPropagator(propagation.TraceContext{}), WithMaxRecordSize(len(la.data)))
		pk, ehk, data, f, err := p.Inject(context.Background(), la.key, "", la.data)
		if !errors.Is(err, ErrRecordTooLarge) || f != FormatNone || pk != la.key || ehk != "" || !bytes.Equal(data, la.data) {
			t.Errorf("%s: %q %q %q %v %v", la.name, pk, ehk, data, f, err)
		}
	}
}

// FuzzInjectRoundTrip: whatever the key and data, a record a producer
// injected into reads back exactly, with the context injected and routed by
// its business key; or the producer said why not and sent it as it came.
func FuzzInjectRoundTrip(f *testing.F) {
	for _, la := range lookalikes(f) {
		for fm := range byte(4) {
			f.Add(la.key, la.data, fm, byte(0), true, byte(255))
			f.Add(la.key, la.data, fm, fm+1, false, byte(0))
		}
	}
	f.Add("k", []byte(`{"a":1}`), byte(2), byte(1), true, byte(3))
	w3c := propagation.TraceContext{}
	composite := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	consumers := []*Consumer{mustConsumer(f, WithPropagator(w3c)), mustConsumer(f, WithPropagator(composite))}
	sc := testSC(f, "")
	f.Fuzz(func(t *testing.T, key string, data []byte, format, fallback byte, withCtx bool, slack byte) {
		fm := Format(format%4) + FormatKey
		fb := Format(fallback % byte(formatCount))
		ctx := context.Background()
		if withCtx {
			ctx = trace.ContextWithSpanContext(ctx, sc)
		}
		orig := bytes.Clone(data)
		for i, prop := range []propagation.TextMapPropagator{w3c, composite} {
			p := mustProducer(t, WithPropagator(prop), WithFormat(fm), WithFallback(fb), WithMaxRecordSize(len(data)+int(slack)+1))
			var (
				pk, ehk string
				out     []byte
				tags    []Tag
				used    Format
				err     error
			)
			if fm == FormatTags {
				pk, ehk, out, tags, err = p.InjectUserRecord(ctx, key, "", data, nil)
				if len(tags) > 0 {
					used = FormatTags
				}
			} else {
				pk, ehk, out, used, err = p.Inject(ctx, key, "", data)
			}
			if !bytes.Equal(data, orig) {
				t.Fatal("injection wrote into the caller's data")
			}
			if used != FormatNone && err != nil {
				t.Fatalf("context in %v with error %v", used, err)
			}
			routed := ehk
			if routed == "" {
				routed = md5Decimal(pk)
			}
			if routed != md5Decimal(key) {
				t.Fatalf("key %q, hash key %q: routed away from the business key %q", pk, ehk, key)
			}
			m := consumers[i].Extract(context.Background(), pk, out, tags)
			if m.PartitionKey != key || !bytes.Equal(m.Data, data) {
				if err == nil || pk != key || !bytes.Equal(out, data) {
					t.Fatalf("sent %q %q (%v, err %v), read %q %q; want %q %q", pk, out, used, err, m.PartitionKey, m.Data, key, data)
				}
				continue // refused, and sent as it came
			}
			if m.Format != used {
				t.Fatalf("context read from %v, injected in %v (err %v)", m.Format, used, err)
			}
			if got := m.SpanContext(); used != FormatNone && (got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID()) {
				t.Fatalf("context %v, want %v", got, sc)
			}
		}
	})
}
