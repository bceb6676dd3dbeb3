package otlpwire

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestAttrsOf: the in-place view of a Set holds what Get returns, for the zero Set, nil
// and every way the attribute package stores a set; and the view is in use (a newer
// attribute package that lays Set out differently turns it off, which this reports).
func TestAttrsOf(t *testing.T) {
	if !setViewOK {
		t.Fatal("attribute.Set is not laid out as expected: AppendAttributeSet falls back to Set.Get")
	}
	for _, set := range []*attribute.Set{nil, {}, attribute.EmptySet()} {
		if kvs, ok := attrsOf(set); !ok || len(kvs) != 0 {
			t.Fatalf("attrsOf(%v) = %v, %v; want empty, true", set, kvs, ok)
		}
	}
	for n := range 40 {
		kvs := make([]attribute.KeyValue, 0, n+1)
		for i := range n {
			kvs = append(kvs, attribute.String(fmt.Sprintf("k%02d", n-i), fmt.Sprint(i)))
		}
		kvs = append(kvs, attribute.Int("k00", 1), attribute.Int("k00", 2)) // a duplicate: the last wins
		set := attribute.NewSet(kvs...)
		view, ok := attrsOf(&set)
		if !ok || len(view) != set.Len() {
			t.Fatalf("%d attributes: view of %d, %v", set.Len(), len(view), ok)
		}
		for i := range view {
			if kv, _ := set.Get(i); kv != view[i] {
				t.Fatalf("%d attributes: attribute %d is %v, Get says %v", set.Len(), i, view[i], kv)
			}
		}
	}
}

// TestAttributeSetFallback: with the view turned off, the encoders read sets through
// Get and write the same bytes.
func TestAttributeSetFallback(t *testing.T) {
	set := attribute.NewSet(attribute.String("a", "x"), attribute.Int("b", -3), attribute.Bool("c", true),
		attribute.Float64("d", 0.5), attribute.StringSlice("e", []string{"1", "2"}))
	fast := AppendAttributeSet(nil, 7, &set)
	fastJSON := AppendJSONAttributeSet(nil, "attributes", &set)
	defer func(ok bool) { setViewOK = ok }(setViewOK)
	setViewOK = false
	if slow := AppendAttributeSet(nil, 7, &set); string(slow) != string(fast) {
		t.Fatalf("protobuf: through Get %x, in place %x", slow, fast)
	}
	if slow := AppendJSONAttributeSet(nil, "attributes", &set); string(slow) != string(fastJSON) {
		t.Fatalf("JSON: through Get %s, in place %s", slow, fastJSON)
	}
}
