package aggregation_test

import (
	"fmt"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// Filling aggregates up to a byte limit exactly: SizeWith says what Size
// would be after the Add, so the caller stops before crossing the limit.
func ExampleAggregator() {
	const limit = 100 // bytes; the producer uses aggregate_batch_size
	var a aggregation.Aggregator
	flush := func() {
		rec := a.AppendTo(nil)
		fmt.Printf("%d user records, %d bytes (Size said %d), magic %x\n", a.Count(), len(rec), a.Size(), rec[:4])
		a.Reset()
	}
	for _, pk := range []string{"alpha", "beta", "alpha", "gamma", "beta"} {
		data := []byte("payload of " + pk)
		if a.Count() > 0 && a.SizeWith(pk, "", len(data), nil) > limit {
			flush()
		}
		a.Add(pk, "", data, nil)
	}
	flush()
	// Output:
	// 3 user records, 98 bytes (Size said 98), magic f3899ac2
	// 2 user records, 76 bytes (Size said 76), magic f3899ac2
}

func ExampleHashPartitionKey() {
	r, err := aggregation.ParseHashRange("0", "170141183460469231731687303715884105727") // shard 0 of 2
	if err != nil {
		fmt.Println(err)
		return
	}
	h := aggregation.HashPartitionKey("partitionKey")
	fmt.Println(h, r.Contains(h))
	// Output: 193318062818912349798954611745638949166 false
}
