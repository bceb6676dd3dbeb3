package otlpwire

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBuilderSort: whatever the partitions, resources and scopes, and however they
// interleave, builder.sort orders items exactly as sorting them with compareItems does.
func TestBuilderSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b builder
	for iter := range 2000 {
		n := rng.IntN(300)
		parts, resources, scopes := 1+rng.IntN(40), 1+rng.IntN(3), 1+rng.IntN(3)
		tids := make([][2]uint64, parts)
		for i := range tids {
			if rng.IntN(4) > 0 { // some partitions carry no trace ID, only a group
				tids[i] = [2]uint64{rng.Uint64() >> rng.IntN(64), rng.Uint64()}
			}
		}
		b.items = b.items[:0]
		for i := range n {
			p := rng.IntN(parts)
			b.items = append(b.items, item{hi: tids[p][0], lo: tids[p][1], group: int32(p % 5),
				res: int32(rng.IntN(resources)), scope: int32(rng.IntN(scopes)), idx: int32(i), off: i})
		}
		if iter%7 == 0 { // input order need not be idx order
			rng.Shuffle(len(b.items), func(i, j int) { b.items[i], b.items[j] = b.items[j], b.items[i] })
		}
		want := slices.Clone(b.items)
		slices.SortFunc(want, compareItems)
		b.sort()
		if !slices.Equal(b.items, want) {
			t.Fatalf("iteration %d (%d items, %d partitions): sort order differs from compareItems", iter, n, parts)
		}
	}
}
