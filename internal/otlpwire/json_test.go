package otlpwire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The OTLP/JSON mapping differs from protojson's in its IDs: hex instead of
// base64. These tests move between the two by rewriting the ID members.
var idMembers = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true}

// decodeJSON parses data into generic values, numbers kept as written.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// rewriteIDs converts every ID member of v with conv.
func rewriteIDs(v any, conv func(string) (string, error)) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && idMembers[k] {
				c, err := conv(s)
				if err != nil {
					return fmt.Errorf("%s %q: %w", k, s, err)
				}
				v[k] = c
				continue
			}
			if err := rewriteIDs(x, conv); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := rewriteIDs(x, conv); err != nil {
				return err
			}
		}
	}
	return nil
}

func hexToBase64(s string) (string, error) {
	if strings.ToLower(s) != s {
		return "", fmt.Errorf("not lowercase hex")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func base64ToHex(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return hex.EncodeToString(b), err
}

// unmarshalOTLPJSON decodes OTLP/JSON into m: IDs from hex to base64, then
// protojson, which refuses unknown members, bad types and invalid UTF-8.
func unmarshalOTLPJSON(data []byte, m proto.Message) error {
	v, err := decodeJSON(data)
	if err != nil {
		return err
	}
	if err := rewriteIDs(v, hexToBase64); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(b, m)
}

// referenceJSON is the OTLP/JSON of m by the reference path: protojson
// with enum numbers, IDs rewritten to hex, parsed into generic values.
func referenceJSON(t *testing.T, m proto.Message) any {
	t.Helper()
	b, err := protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := rewriteIDs(v, base64ToHex); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkJSON asserts that got is the OTLP/JSON of want: member for member and
// number for number what the reference path writes, and decoding back into
// want's type.
func checkJSON(t *testing.T, got []byte, want proto.Message) {
	t.Helper()
	gv, err := decodeJSON(got)
	if err != nil {
		t.Fatalf("our JSON does not parse: %v\n%s", err, got)
	}
	if wv := referenceJSON(t, want); !reflect.DeepEqual(gv, wv) {
		wb, _ := json.Marshal(wv)
		t.Fatalf("JSON differs from the reference\n got %s\nwant %s", got, wb)
	}
	back := want.ProtoReflect().New().Interface()
	if err := unmarshalOTLPJSON(got, back); err != nil {
		t.Fatalf("protojson refuses our JSON: %v\n%s", err, got)
	}
	if !proto.Equal(back, want) {
		t.Fatalf("JSON decodes to a different message\n%s", got)
	}
}

func TestJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quo\"te", `back\slash`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "日本語 🚀", "\u2028<>&", "bad\xffutf8\xe2\x82", "\xef\xbf\xbd"} {
		got := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s does not parse: %v", s, got, err)
		}
		if back != refString(s) {
			t.Fatalf("%q: reads back as %q", s, back)
		}
		want, _ := protojson.Marshal(&commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: refString(s)}})
		wv, _ := decodeJSON(want)
		gv, _ := decodeJSON(append(append([]byte(`{"stringValue":`), got...), '}'))
		if !reflect.DeepEqual(gv, wv) {
			t.Fatalf("%q: %s, protojson writes %s", s, got, want)
		}
	}
}

func TestJSONFloat(t *testing.T) {
	for _, f := range []float64{0, negativeZero(), 1, -1.5, 1e20, 1e21, 123456789e13, 1e-6, 9.99e-7, 1e-7, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 0.1, 1.0 / 3} {
		want, err := protojson.Marshal(&commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}})
		if err != nil {
			t.Fatal(err)
		}
		// Compact protojson's random spacing away, then compare text.
		var buf bytes.Buffer
		_ = json.Compact(&buf, want)
		got := `{"doubleValue":` + string(AppendJSONFloat(nil, f)) + `}`
		if got != buf.String() {
			t.Errorf("%v: got %s, protojson %s", f, got, buf.String())
		}
	}
}

func TestJSONAnyValues(t *testing.T) {
	for seed := range propertyCases(1500) {
		g := newGen(seed)
		g.invalidUTF8 = seed%3 == 0
		g.huge = seed%100 == 0
		kvs := g.keyValues(10)
		got := AppendJSONKeyValues([]byte{'{'}, "values", kvs)
		got = append(got, '}')
		checkJSON(t, got, &commonpb.KeyValueList{Values: refKeyValues(kvs)})
	}
}

func TestJSONResourceAndScope(t *testing.T) {
	for seed := range propertyCases(200) {
		g := newGen(seed)
		g.invalidUTF8 = seed%2 == 0
		r := resource.NewWithAttributes("s", g.keyValues(6)...)
		got := append(AppendJSONResourceMember([]byte{'{'}, r), '}')
		checkJSON(t, got, &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: refKeyValues(r.Attributes())}})
		s := instrumentation.Scope{Name: g.string(), Version: g.string(), Attributes: attribute.NewSet(g.keyValues(4)...)}
		checkJSON(t, appendJSONScope(nil, &s), &commonpb.InstrumentationScope{
			Name: refString(s.Name), Version: refString(s.Version), Attributes: refKeyValues(s.Attributes.ToSlice()),
		})
	}
}

// checkJSONRequest asserts that the JSON AppendRequest writes for spans is the
// OTLP/JSON of otlptrace's transform of them.
func checkJSONRequest(t *testing.T, e *TraceEncoder, spans []sdktrace.ReadOnlySpan, invalidUTF8 bool) {
	t.Helper()
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: oracle(t, spans)}
	if invalidUTF8 {
		sanitizeStrings(want.ProtoReflect())
	}
	checkJSON(t, e.AppendRequest(nil, spans), want)
}

func TestJSONRequestMatchesOtlptrace(t *testing.T) {
	e := newEncoder(t, TraceConfig{Encoding: JSON})
	for seed := range propertyCases(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := newSpanGen(seed)
			g.invalidUTF8 = seed%5 == 0
			g.huge = seed%40 == 0
			checkJSONRequest(t, e, g.spans(1+g.r.IntN(30)), g.invalidUTF8)
		})
	}
	checkJSONRequest(t, e, realisticSpans(16), false)
	if got := e.AppendRequest(nil, nil); string(got) != "{}" {
		t.Fatalf("no spans: %s", got)
	}
}

// FuzzJSONRequest checks the JSON property over fuzzer-chosen seeds.
func FuzzJSONRequest(f *testing.F) {
	f.Add(uint64(5), uint8(7), false)
	f.Add(uint64(11), uint8(2), true)
	e := newEncoder(f, TraceConfig{Encoding: JSON})
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, invalid bool) {
		g := newSpanGen(seed)
		g.invalidUTF8 = invalid
		checkJSONRequest(t, e, g.spans(int(n)%32+1), invalid)
	})
}
