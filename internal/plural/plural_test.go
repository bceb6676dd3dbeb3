package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0 items"}, {1, "1 item"}, {2, "2 items"}, {-1, "-1 items"}, {1 << 40, "1099511627776 items"}} {
		if got := Count(c.n, "item", "items"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Count(int32(1), "user record", "user records"); got != "1 user record" {
		t.Errorf("int32: %q", got)
	}
}
