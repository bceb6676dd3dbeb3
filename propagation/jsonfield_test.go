package propagation

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestInsertJSONField(t *testing.T) {
	h := []Tag{{Key: "traceparent", Value: testTraceparent}, {Key: "baggage", Value: "k=\"v\"\n\x01é\xff"}}
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"_otel":{"traceparent":"` + testTraceparent + `","baggage":"k=\"v\"\n\u0001é` + "\ufffd" + `"},"a":1}`},
		{`{}`, `{"_otel":{"traceparent":"` + testTraceparent + `","baggage":"k=\"v\"\n\u0001é` + "\ufffd" + `"}}`},
		{" \n{ } ", " \n{\"_otel\":{\"traceparent\":\"" + testTraceparent + `","baggage":"k=\"v\"\n\u0001é` + "\ufffd" + "\"} } "},
		{`{ "a" : [1,{"b":2}] }`, `{"_otel":{"traceparent":"` + testTraceparent + `","baggage":"k=\"v\"\n\u0001é` + "\ufffd" + `"}, "a" : [1,{"b":2}] }`},
	} {
		got, err := InsertJSONField(nil, DefaultJSONField, h, []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("InsertJSONField(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("not valid JSON: %s", got)
		}
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil || v["_otel"].(map[string]any)["traceparent"] != testTraceparent {
			t.Errorf("encoding/json reads %v, %v", v, err)
		}
		gh, payload, err := ExtractJSONField(DefaultJSONField, got)
		if err != nil || string(payload) != tc.in {
			t.Errorf("ExtractJSONField(%s) = %q, %v; want %q", got, payload, err, tc.in)
		}
		if len(gh) != 2 || gh[0] != h[0] || gh[1].Value != "k=\"v\"\n\x01é\ufffd" {
			t.Errorf("headers = %q", gh)
		}
	}
}

func TestInsertJSONFieldRefusesNonObjects(t *testing.T) {
	for _, in := range []string{"", "[]", `"x"`, "{", "}", "{]", "12", "\xFEOTK"} {
		dst := []byte("keep")
		out, err := InsertJSONField(dst, "_otel", nil, []byte(in))
		if !errors.Is(err, ErrNotJSONObject) || string(out) != "keep" {
			t.Errorf("InsertJSONField(%q) = %q, %v", in, out, err)
		}
	}
}

func TestExtractJSONFieldForeignWriters(t *testing.T) {
	for _, tc := range []struct{ in, payload, tp string }{
		{`{ "_otel" : { "traceparent" : "` + testTraceparent + `" } , "a":1}`, `{ "a":1}`, testTraceparent},
		{`{"\u005fotel":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\u0031"}}`, `{}`, testTraceparent},
		{`{"_otel":{}, "a":1}`, `{ "a":1}`, ""},
	} {
		h, payload, err := ExtractJSONField("_otel", []byte(tc.in))
		if err != nil || string(payload) != tc.payload || h.Get("traceparent") != tc.tp {
			t.Errorf("ExtractJSONField(%s) = %q, %q, %v", tc.in, h, payload, err)
		}
	}
}

func TestExtractJSONFieldMalformed(t *testing.T) {
	for _, in := range []string{
		`{"_otel":1}`,
		`{"_otel":{"traceparent":1}}`,
		`{"_otel":{"traceparent":"x",}}`,
		`{"_otel":{"traceparent" "x"}}`,
		`{"_otel":{"":"x"}}`,
		`{"_otel":{"a":"\x"}}`,
		`{"_otel":{"a":"\u12"}}`,
		"{\"_otel\":{\"a\":\"\x01\"}}",
		`{"_otel":{"a":"b"}`,
		`{"_otel":{"a":"b"} "x":1}`,
		`{"_otel"`,
		`{"_otel":{"a":"b"` + strings.Repeat(" ", maxJSONFieldBytes) + `}}`,
	} {
		h, payload, err := ExtractJSONField("_otel", []byte(in))
		if !errors.Is(err, ErrMalformedJSONField) || h != nil || string(payload) != in {
			t.Errorf("ExtractJSONField(%.60q) = %q, %v; want malformed, untouched", in, h, err)
		}
	}
	for _, in := range []string{`{"a":1,"_otel":{}}`, `{}`, `[{"_otel":{}}]`, `x`, ``} {
		_, payload, err := ExtractJSONField("_otel", []byte(in))
		if !errors.Is(err, ErrNotJSONObject) || string(payload) != in {
			t.Errorf("ExtractJSONField(%q) = %v; want not found, untouched", in, err)
		}
	}
}

func FuzzExtractJSONField(f *testing.F) {
	good, _ := InsertJSONField(nil, "_otel", []Tag{{Key: "traceparent", Value: testTraceparent}}, []byte(`{"a":1}`))
	for _, s := range [][]byte{good, []byte(`{"_otel":{}}`), []byte(`{"_otel":{"a":"\ud83d"}, "b":2}`), []byte(`{"a":1}`), []byte("x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := ExtractJSONField("_otel", data)
		if err != nil {
			if h != nil || !bytes.Equal(payload, data) {
				t.Fatal("failed extraction changed the data")
			}
			return
		}
		if len(payload) >= len(data) {
			t.Fatalf("nothing removed from %q", data)
		}
		// Valid JSON stays valid JSON once the field is removed.
		if json.Valid(data) && !json.Valid(payload) {
			t.Fatalf("removing the field from %s left %s", data, payload)
		}
		// Putting the headers back gives a payload that extracts the same.
		if json.Valid(payload) {
			again, err := InsertJSONField(nil, "_otel", h, payload)
			if err != nil {
				t.Fatalf("reinsert into %q: %v", payload, err)
			}
			h2, p2, err := ExtractJSONField("_otel", again)
			if err != nil || !bytes.Equal(p2, payload) || len(h2) != len(h) {
				t.Fatalf("reinsert round trip of %q: %q %v", payload, p2, err)
			}
		}
	})
}
