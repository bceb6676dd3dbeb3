package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		noun string
		want string
	}{
		{0, "span", "0 spans"},
		{1, "span", "1 span"},
		{2, "span", "2 spans"},
		{-1, "byte", "-1 byte"},
		{-2, "byte", "-2 bytes"},
		{1, "user record", "1 user record"},
		{3, "telemetry item", "3 telemetry items"},
		{2, "entry", "2 entries"},
		{2, "key", "2 keys"},
		{2, "batch", "2 batches"},
		{2, "pass", "2 passes"},
		{2, "box", "2 boxes"},
		{2, "data point", "2 data points"},
		{1, "attempt", "1 attempt"},
		{10, "attempt", "10 attempts"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
	if got := Count(uint32(1), "retry"); got != "1 retry" {
		t.Errorf("Count(uint32(1), retry) = %q", got)
	}
	if got := Count(uint8(2), "retry"); got != "2 retries" {
		t.Errorf("Count(uint8(2), retry) = %q", got)
	}
	if got := Count(int8(-128), "byte"); got != "-128 bytes" {
		t.Errorf("Count(int8(-128), byte) = %q", got)
	}
}
