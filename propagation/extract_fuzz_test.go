package propagation

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/propagation"
)

// extractConsumers are the consumers the hostile-input tests feed: the direct
// W3C path and the generic one with every common propagator.
func extractConsumers(t testing.TB) []*Consumer {
	return []*Consumer{
		mustConsumer(t, WithPropagator(propagation.TraceContext{})),
		mustConsumer(t, WithPropagator(propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}, xray.Propagator{}))),
	}
}

// checkExtract feeds one record to every consumer and checks what must hold
// for any input.
func checkExtract(t *testing.T, cs []*Consumer, pk string, data []byte, tags []Tag) {
	t.Helper()
	orig := bytes.Clone(data)
	for _, c := range cs {
		m := c.Extract(context.Background(), pk, data, tags)
		if !bytes.Equal(data, orig) {
			t.Fatal("Extract wrote into the record's data")
		}
		if m.PartitionKey != pk {
			if biz, _, ok := UnwrapKey(pk); !ok || biz != m.PartitionKey {
				t.Fatalf("partition key %q became %q", pk, m.PartitionKey)
			}
		}
		if len(m.Data) > len(data) {
			t.Fatalf("data grew from %d to %d bytes", len(data), len(m.Data))
		}
		if m.Format == FormatNone && m.SpanContext().IsValid() {
			t.Fatalf("span context %v without a format", m.SpanContext())
		}
		if m.Format == FormatNone && m.Err == nil && !bytes.Equal(m.Data, data) {
			// Data changes only when an envelope or a JSON field was taken off.
			if !IsEnvelope(data) && !strings.HasPrefix(strings.TrimLeft(string(data), " \t\r\n"), "{") {
				t.Fatalf("data changed with nothing taken off: %q -> %q", data, m.Data)
			}
		}
		if m.Err != nil && !errors.Is(m.Err, ErrMalformedContext) && !errors.Is(m.Err, ErrMalformedEnvelope) &&
			!errors.Is(m.Err, ErrMalformedJSONField) {
			t.Fatalf("unexpected reason %v", m.Err)
		}
		_ = m.Context()
	}
}

func FuzzExtract(f *testing.F) {
	env, _ := AppendEnvelope(nil, []Tag{{Key: "traceparent", Value: testTraceparent}, {Key: "baggage", Value: "a=b"}}, []byte(`{"_otel":{"traceparent":"x"}}`))
	seeds := []struct {
		pk     string
		data   []byte
		tk, tv string
	}{
		{"k", []byte("d"), "", ""},
		{"tp~" + testTraceparent + "~k", nil, "", ""},
		{"tp~" + zeroTraceparent + "~k", env, "traceparent", testTraceparent},
		{"k", []byte(`{"_otel":{"traceparent":"` + testTraceparent + `","X-Amzn-Trace-Id":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}`), "tracestate", "a=b"},
		{"k", []byte{0xFE, 'O', 'T', 'K', 1, 0, 0, 0}, "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
	}
	for _, s := range seeds {
		f.Add(s.pk, s.data, s.tk, s.tv)
	}
	cs := extractConsumers(f)
	f.Fuzz(func(t *testing.T, pk string, data []byte, tagKey, tagValue string) {
		var tags []Tag
		if tagKey != "" {
			tags = []Tag{{Key: tagKey, Value: tagValue}}
		}
		checkExtract(t, cs, pk, data, tags)
	})
}

// Work and allocation do not grow with the data of a hostile record, except
// for the one copy a removed JSON field needs.
func TestExtractBoundedOnLargeRecords(t *testing.T) {
	big := 8 << 20
	withMagic := make([]byte, big)
	copy(withMagic, EnvelopeMagic[:])
	withMagic[4] = EnvelopeVersion
	jsonLike := append([]byte(`{"_otel":{"traceparent":"`+testTraceparent+`"`), bytes.Repeat([]byte(" "), big)...)
	manyMembers := []byte(`{"_otel":{`)
	for len(manyMembers) < big {
		manyMembers = append(manyMembers, `"a":"b",`...)
	}
	cs := extractConsumers(t)
	for name, data := range map[string][]byte{"magic": withMagic, "unterminated JSON field": jsonLike, "many members": manyMembers} {
		for _, c := range cs {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m := c.Extract(context.Background(), "k", data, nil)
			runtime.ReadMemStats(&after)
			if m.Err == nil || len(m.Data) != len(data) {
				t.Errorf("%s: accepted, or data changed (%v)", name, m.Err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Errorf("%s: %d bytes allocated", name, n)
			}
		}
	}
}
