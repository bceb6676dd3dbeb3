package consumer

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// treeHexToBase64 is the slow, obviously right rewrite the fast one is held to: decode
// the JSON into a tree, convert every ID member, encode again.
func treeHexToBase64(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if err := convertIDs(v, func(s string) (string, error) {
		raw, err := hex.DecodeString(s)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(raw), nil
	}); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// canonical re-encodes JSON text so that two texts of the same value compare equal.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("canonical: %v in %q", err, data)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// FuzzHexIDsToBase64: on any bytes the one-pass rewrite never panics, and on any JSON the
// tree rewrite accepts it gives the same value.
func FuzzHexIDsToBase64(f *testing.F) {
	for _, seed := range []string{
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","parentSpanId":"","name":"x"}]}]}]}`,
		`{"traceId" : "00ff", "attributes":[{"key":"traceId","value":{"stringValue":"\"traceId\":\"zz\""}}]}`,
		`{"spanId":"abc"}`, `{"spanId":12}`, `{"a":"\\"}`, `"traceId":"0a"`, `{"traceId":"0A0b"}`, `[`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ferr := hexIDsToBase64(data)
		slow, serr := treeHexToBase64(data)
		if serr != nil || !json.Valid(data) {
			return // the tree rewrite refuses it; protojson would too
		}
		if ferr != nil {
			t.Fatalf("fast rewrite refused %q (%v), tree rewrite gave %q", data, ferr, slow)
		}
		if got, want := canonical(t, fast), canonical(t, slow); got != want {
			t.Fatalf("rewrite of %q:\n got %s\nwant %s", data, got, want)
		}
	})
}
