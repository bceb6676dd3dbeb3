package propagation

import (
	"errors"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

func TestWrapKey(t *testing.T) {
	pk, ehk, err := WrapKey("order-17", testTraceparent)
	if err != nil {
		t.Fatal(err)
	}
	if want := "tp~" + testTraceparent + "~order-17"; pk != want {
		t.Errorf("partition key = %q, want %q", pk, want)
	}
	if want := aggregation.HashPartitionKey("order-17").String(); ehk != want {
		t.Errorf("explicit hash key = %q, want %q", ehk, want)
	}
	// The MD5 of "order-17" as a decimal, computed independently.
	if want := md5Decimal("order-17"); ehk != want {
		t.Errorf("explicit hash key = %q, want %q (big.Int)", ehk, want)
	}
	biz, tp, ok := UnwrapKey(pk)
	if !ok || biz != "order-17" || tp != testTraceparent {
		t.Errorf("UnwrapKey(%q) = %q, %q, %v", pk, biz, tp, ok)
	}
}

func TestWrapKeyEmptyTraceparentCarriesNoContext(t *testing.T) {
	looks := "tp~" + testTraceparent + "~x"
	pk, _, err := WrapKey(looks, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "tp~" + zeroTraceparent + "~" + looks; pk != want {
		t.Errorf("partition key = %q, want %q", pk, want)
	}
	biz, tp, ok := UnwrapKey(pk)
	if !ok || biz != looks || tp != "" {
		t.Errorf("UnwrapKey(%q) = %q, %q, %v; want the business key back and no traceparent", pk, biz, tp, ok)
	}
}

func TestWrapKeyLimits(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		err       error
	}{
		{"empty", "", ErrKeyTooLong},
		{"longest ASCII", strings.Repeat("k", MaxWrappedBusinessKeyLength), nil},
		{"one too long", strings.Repeat("k", MaxWrappedBusinessKeyLength+1), ErrKeyTooLong},
		{"BMP characters count one", strings.Repeat("é", MaxWrappedBusinessKeyLength), nil},
		{"astral characters count two", strings.Repeat("😀", MaxWrappedBusinessKeyLength/2+1), ErrKeyTooLong},
	} {
		pk, _, err := WrapKey(tc.key, testTraceparent)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
		if err == nil && aggregation.PartitionKeyLen(pk) > MaxPartitionKeyLength {
			t.Errorf("%s: wrapped key of %d UTF-16 units", tc.name, aggregation.PartitionKeyLen(pk))
		}
	}
	for _, bad := range []string{"00-xyz", strings.ToUpper(testTraceparent), testTraceparent + "-"} {
		if _, _, err := WrapKey("k", bad); !errors.Is(err, ErrNoTraceparent) {
			t.Errorf("WrapKey with traceparent %q: err = %v, want ErrNoTraceparent", bad, err)
		}
	}
}

func TestUnwrapKeyLeavesOtherKeys(t *testing.T) {
	for _, pk := range []string{
		"order-17",
		"tp~",
		"tp~order-17",
		"tp~" + testTraceparent + "~", // no business key
		"tp~" + testTraceparent + "-x",
		"tp~" + strings.ToUpper(testTraceparent) + "~k",
		"TP~" + testTraceparent + "~k",
		"tp~" + testTraceparent[:54] + "~~k",
	} {
		biz, tp, ok := UnwrapKey(pk)
		if ok || biz != pk || tp != "" {
			t.Errorf("UnwrapKey(%q) = %q, %q, %v; want the key untouched", pk, biz, tp, ok)
		}
	}
}

func TestKeyCarrier(t *testing.T) {
	var c KeyCarrier
	c.Set("Traceparent", testTraceparent)
	c.Set("tracestate", "a=b")
	c.Set("baggage", "k=v")
	c.Set("tracestate", "c=d")
	if got := c.Get("traceparent"); got != testTraceparent {
		t.Errorf("Get = %q", got)
	}
	if got := c.Get("tracestate"); got != "" {
		t.Errorf("Get(tracestate) = %q, want nothing", got)
	}
	if got := strings.Join(c.Dropped(), ","); got != "tracestate,baggage" {
		t.Errorf("Dropped = %q", got)
	}
	if got := c.Keys(); len(got) != 1 || got[0] != "traceparent" {
		t.Errorf("Keys = %q", got)
	}
	pk, _, err := c.PartitionKey("k")
	if err != nil || pk != "tp~"+testTraceparent+"~k" {
		t.Errorf("PartitionKey = %q, %v", pk, err)
	}
	c.Reset()
	if c.Traceparent != "" || len(c.Dropped()) != 0 || c.Keys() != nil {
		t.Errorf("Reset left %+v", c)
	}
}

func FuzzUnwrapKey(f *testing.F) {
	for _, s := range []string{"order-17", "tp~" + testTraceparent + "~k", "tp~" + zeroTraceparent + "~tp~x", "tp~", "~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pk string) {
		biz, tp, ok := UnwrapKey(pk)
		if !ok {
			if biz != pk || tp != "" {
				t.Fatalf("unwrapped key changed: %q -> %q, %q", pk, biz, tp)
			}
			return
		}
		if biz == "" || len(biz) >= len(pk) {
			t.Fatalf("UnwrapKey(%q) business key %q", pk, biz)
		}
		// A wrapped key rewraps to itself.
		again, _, err := WrapKey(biz, tp)
		if err == nil && again != pk {
			t.Fatalf("rewrap of %q gives %q", pk, again)
		}
	})
}
