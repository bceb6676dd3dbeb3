package aggregation

import (
	"testing"
	"unsafe"
)

// otherTag stands for a public tag type: its own struct of the same fields.
type otherTag struct {
	Key   string
	Value string
}

func TestConvertTags(t *testing.T) {
	if got := ConvertTags[otherTag]([]Tag(nil)); got != nil {
		t.Errorf("nil became %#v", got)
	}
	tags := []Tag{{Key: "a", Value: "1"}, {Key: "b"}}
	got := ConvertTags[otherTag](tags[:2:2])
	if len(got) != 2 || cap(got) != 2 || got[0] != (otherTag{"a", "1"}) || got[1] != (otherTag{Key: "b"}) {
		t.Fatalf("got %#v", got)
	}
	if unsafe.SliceData(got) != (*otherTag)(unsafe.Pointer(unsafe.SliceData(tags))) {
		t.Error("the result does not share the list's memory")
	}
	back := ConvertTags[Tag](got)
	if &back[1] != &tags[1] {
		t.Error("converting back does not give the same list")
	}
	if n := testing.AllocsPerRun(100, func() { _ = ConvertTags[otherTag](tags) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
