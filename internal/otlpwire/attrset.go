package otlpwire

import (
	"reflect"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

// attribute.Set offers its attributes only one at a time through Get, which goes through
// reflection for every attribute (Set keeps them as an array of KeyValue of the set's
// length in an interface). The encoders read every attribute of every data point, so they
// view that array in place instead, once its layout has been checked (setViewOK); when the
// check fails (a future version of the attribute package laid Set out differently), they
// fall back to Get.

// setLayout mirrors attribute.Set: a hash, then the array of attributes in an interface.
type setLayout struct {
	hash uint64
	data any
}

// kvType is the type of the array elements.
var kvType = reflect.TypeFor[attribute.KeyValue]()

// setViewOK reports whether attribute.Set is laid out as setLayout and viewSet reads the
// same attributes as Get, in the same order.
var setViewOK = checkSetLayout()

func checkSetLayout() bool {
	t, m := reflect.TypeFor[attribute.Set](), reflect.TypeFor[setLayout]()
	if t.Size() != m.Size() || t.NumField() != m.NumField() {
		return false
	}
	for i := range t.NumField() {
		f, g := t.Field(i), m.Field(i)
		if f.Name != g.Name || f.Type != g.Type || f.Offset != g.Offset {
			return false
		}
	}
	// Sets of every size the attribute package stores differently (fixed arrays up to 10,
	// reflect-made ones above).
	for n := range 13 {
		kvs := make([]attribute.KeyValue, n)
		for i := range kvs {
			kvs[i] = attribute.Int(string(rune('a'+i)), i)
		}
		set := attribute.NewSet(kvs...)
		view, ok := viewSet(&set)
		if !ok || len(view) != set.Len() {
			return false
		}
		for i := range view {
			if kv, _ := set.Get(i); kv != view[i] {
				return false
			}
		}
	}
	return true
}

// viewSet returns the attributes of set in its order, read in place (the slice must not
// be modified), or false when set does not hold them as expected.
func viewSet(set *attribute.Set) ([]attribute.KeyValue, bool) {
	if set == nil {
		return nil, true
	}
	l := (*setLayout)(unsafe.Pointer(set))
	if l.hash == 0 { // the zero Set: Len is 0
		return nil, true
	}
	t := reflect.TypeOf(l.data)
	if t == nil || t.Kind() != reflect.Array || t.Elem() != kvType {
		return nil, false
	}
	n := t.Len()
	if n == 0 {
		return nil, true
	}
	// An array of KeyValue is larger than a pointer, so the interface holds a pointer to
	// it.
	p := (*[2]unsafe.Pointer)(unsafe.Pointer(&l.data))[1]
	return unsafe.Slice((*attribute.KeyValue)(p), n), true
}

// attrsOf returns the attributes of set in its order, read in place (the slice must not be
// modified), or false when the caller has to read them with Get.
func attrsOf(set *attribute.Set) ([]attribute.KeyValue, bool) {
	if !setViewOK {
		return nil, false
	}
	return viewSet(set)
}
