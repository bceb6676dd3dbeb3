package jsonstr

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppend: whatever the input, the output is one valid JSON string that decodes to the
// input with each invalid UTF-8 byte replaced by U+FFFD.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x01\b\f\n\r\t\x1f", "é日😀", "bad\xff\xfe", "<>&\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Append(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Append(%q) = %s: not a JSON string: %v", s, out, err)
		}
		want := []rune{}
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			want = append(want, r)
			i += w
		}
		if got != string(want) {
			t.Fatalf("Append(%q) decodes to %q, want %q", s, got, string(want))
		}
	})
}

// TestDecode: escapes decode as encoding/json decodes them, surrogate pairs make one
// character and lone surrogates U+FFFD; bad escapes fail.
func TestDecode(t *testing.T) {
	for raw, want := range map[string]string{
		`\ud83d\ude00`:            "😀",
		`\ud83d`:                  "\ufffd",
		`\ud83dx`:                 "\ufffdx",
		`\ude00\ud83d`:            "\ufffd\ufffd",
		`\u00e9\/`:                "é/",
		`a\"b\\c\b\f\n\r\t`:       "a\"b\\c\b\f\n\r\t",
		`plain`:                   "plain",
		`\uD83D\uDE00 upper case`: "😀 upper case",
	} {
		for _, got := range []func() (string, bool){
			func() (string, bool) { return Decode(raw) },
			func() (string, bool) { return Decode([]byte(raw)) },
		} {
			if s, ok := got(); !ok || s != want {
				t.Errorf("Decode(%s) = %q, %v; want %q", raw, s, ok, want)
			}
		}
		var std string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &std); err != nil || std != want {
			t.Errorf("encoding/json decodes %s as %q", raw, std)
		}
	}
	for _, raw := range []string{`\`, `\x`, `\u12`, `\u12g4`, `a\`} {
		if s, ok := Decode(raw); ok {
			t.Errorf("Decode(%s) = %q, want a failure", raw, s)
		}
	}
}

// FuzzDecode: on the text of any JSON string encoding/json reads (valid UTF-8, no quote or
// control character unescaped), Decode reads the same; where Decode fails, so does
// encoding/json.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`plain`, `\ud83d\ude00`, `\ud83d`, `a\"b\\c\/\b\f\n\r\t`, `\u00E9`, `\x`, `\u12`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := Decode(raw)
		var std string
		err := json.Unmarshal([]byte(`"`+raw+`"`), &std)
		if err == nil && utf8.ValidString(raw) && (!ok || got != std) {
			t.Fatalf("Decode(%q) = %q, %v; encoding/json reads %q", raw, got, ok, std)
		}
		if !ok && err == nil {
			t.Fatalf("Decode(%q) fails; encoding/json reads %q", raw, std)
		}
	})
}
