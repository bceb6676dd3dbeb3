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
