package aggregation

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"slices"
	"unsafe"
)

// keyTable is one deduplicated string table of an AggregatedRecord
// (partition_key_table or explicit_hash_key_table), with its own
// open-addressing index over the entries.
type keyTable struct {
	enc    []byte   // encoded table entries, each with its field tag
	keys   []string // the entries, by index
	slots  []slot   // index into keys by hash; length a power of two, at most half full
	seed   uint64
	last   uint32 // index of the entry found or added last
	lastAt int    // the slot of the entry added last

	// The last lookup of a missing key that did not add it (SizeWith), for
	// the Add that usually follows with the same key. It holds while the
	// table has memoN-1 keys: a table only grows until reset, unput empties
	// again the one slot a key took, and grow, which moves every key, drops
	// the memo. memoN == 0: none.
	memoKey  string
	memoN    int
	memoAt   int    // the empty slot where memoKey goes
	memoHash uint32 // its hash
}

// slot is one entry of keyTable's index: idx is the index in keys plus one
// (0 = empty), hash the low 32 bits of the key's hash. They place the key
// in a larger index without hashing it again, and skip most string
// compares.
type slot struct{ idx, hash uint32 }

// sameString reports whether a and b are the same string in memory, a
// check that costs no byte comparison.
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// lookup returns k's index in the table and whether k is new there. With
// add, a new k is added, with field tag tag, and unput takes it back;
// without, the table is left as it is (and an empty one allocates nothing).
// Find and insert are one function, and the hash of the usual key lengths
// is inlined, because this runs once per user record and Go spills every
// live register around a call.
func (t *keyTable) lookup(tag byte, k string, add bool) (index uint32, isNew bool) {
	n := len(t.keys)
	if n == 0 {
		if !add {
			return 0, true
		}
		if len(t.slots) == 0 {
			t.seed = rand.Uint64()
			t.slots = make([]slot, 16)
		}
	} else if sameString(t.keys[t.last], k) {
		// Runs of one key are common (one key per batch, or a SizeWith
		// then an Add): no hashing for them.
		return t.last, false
	}
	var at int
	var h uint32
	if t.memoN == n+1 && sameString(t.memoKey, k) {
		at, h = t.memoAt, t.memoHash
	} else {
		if m := len(k); m >= 16 && m <= 32 {
			// keyHash for trace IDs, UUIDs and the like, inlined: the
			// first and the last 16 bytes.
			b := unsafe.Slice(unsafe.StringData(k), m)
			x := mix(binary.LittleEndian.Uint64(b)^hashK0, binary.LittleEndian.Uint64(b[8:])^t.seed)
			h = uint32(mix(binary.LittleEndian.Uint64(b[m-16:])^hashK1^uint64(m), binary.LittleEndian.Uint64(b[m-8:])^x))
		} else {
			h = uint32(keyHash(k, t.seed))
		}
		mask := len(t.slots) - 1
		for at = int(h) & mask; ; at = (at + 1) & mask {
			s := t.slots[at]
			if s.idx == 0 {
				break
			}
			if s.hash == h && t.keys[s.idx-1] == k {
				t.last = s.idx - 1
				return t.last, false
			}
		}
	}
	if !add {
		t.memoKey, t.memoN, t.memoAt, t.memoHash = k, n+1, at, h
		return uint32(n), true
	}
	t.keys = append(t.keys, k)
	t.slots[at] = slot{idx: uint32(n) + 1, hash: h}
	t.lastAt = at
	if 2*len(t.keys) > len(t.slots) {
		t.grow()
	}
	m := len(t.enc)
	size := 1 + sizeBytes(len(k))
	if cap(t.enc)-m < size {
		t.enc = slices.Grow(t.enc, size)
	}
	t.enc = t.enc[:m+size]
	b := t.enc[m:]
	b[0] = tag
	copy(b[1+putVarint(b[1:], uint64(len(k))):], k)
	t.last = uint32(n)
	return uint32(n), true
}

// unput removes the key the last lookup added. No other key can have
// probed past its slot (grow places it last too), so emptying the slot
// leaves every other key findable.
func (t *keyTable) unput() {
	i := len(t.keys) - 1
	k := t.keys[i]
	t.slots[t.lastAt] = slot{}
	t.keys[i] = ""
	t.keys = t.keys[:i]
	t.enc = t.enc[:len(t.enc)-1-sizeBytes(len(k))]
	t.last = 0
}

// grow doubles the index. The key added last is placed last again, so that
// unput can still take it out, and the memo, a slot of the old index, is
// dropped.
func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	last := slot{}
	for _, s := range old {
		if int(s.idx) == len(t.keys) {
			last = s
		} else if s.idx != 0 {
			t.place(s)
		}
	}
	t.lastAt = t.place(last)
	t.memoN = 0
}

// place puts s in the first free slot from its hash on and returns where.
func (t *keyTable) place(s slot) int {
	mask := len(t.slots) - 1
	i := int(s.hash) & mask
	for t.slots[i].idx != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
	return i
}

// reset empties the table, keeping its buffers and dropping its references
// to the caller's strings.
func (t *keyTable) reset() {
	t.enc = t.enc[:0]
	clear(t.keys)
	t.keys = t.keys[:0]
	clear(t.slots)
	t.last = 0
	t.memoKey, t.memoN = "", 0
}

// Multipliers of keyHash (wyhash's).
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
)

// keyHash returns a hash of s for keyTable's index, in the manner of
// wyhash: one 64x64->128-bit multiplication per 16 bytes, much cheaper than
// hash/maphash's call for the short keys partition keys are. lookup hashes
// keys of 16 to 32 bytes (trace IDs, UUIDs) itself, inlined, and calls this
// for the others. Collisions cost probes and string compares, never a wrong
// answer.
func keyHash(s string, seed uint64) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	n := len(b)
	var x, y uint64
	switch {
	case n >= 16:
		for ; len(b) > 16; b = b[16:] {
			seed = mix(binary.LittleEndian.Uint64(b)^hashK0, binary.LittleEndian.Uint64(b[8:])^seed)
		}
		b = unsafe.Slice(unsafe.StringData(s), n)
		x, y = binary.LittleEndian.Uint64(b[n-16:]), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	return mix(x^hashK1^uint64(n), y^seed)
}

// mix folds the 128-bit product of a and b into 64 bits.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
