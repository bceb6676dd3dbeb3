package otlpwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// What the trace, metric and log encoders share to split a batch into records:
// the check of their common settings, the whole-batch request, the greedy packing
// into records, emitting one, and the partition keys by key group, resource,
// random and trace ID.

// checkEncoderConfig checks the settings every encoder shares, fills in the
// default encoding and returns the record size limit with its default filled
// in.
func checkEncoderConfig(enc *Encoding, maxRecordSize int, p Partitioning, keyFunc bool) (int, error) {
	if *enc == "" {
		*enc = Protobuf
	}
	if *enc != Protobuf && *enc != JSON {
		return 0, fmt.Errorf("encoding %q: want Protobuf or JSON", *enc)
	}
	if maxRecordSize == 0 {
		maxRecordSize = DefaultMaxRecordSize
	}
	if maxRecordSize < 0 {
		return 0, fmt.Errorf("max record size %d: want 0 (default %d) or more", maxRecordSize, DefaultMaxRecordSize)
	}
	if p > PartitionByKey {
		return 0, fmt.Errorf("partitioning %d: want trace_id, resource, random or key", p)
	}
	if p == PartitionByKey && !keyFunc {
		return 0, errors.New("partitioning by key needs a PartitionKey function")
	}
	return maxRecordSize, nil
}

// appendWhole appends one request holding every item loaded into b, in sort
// order: no bytes in protobuf and {} in JSON when there are none.
func appendWhole(b *builder, dst []byte) []byte {
	if len(b.items) == 0 {
		if b.json {
			return append(dst, "{}"...)
		}
		return dst
	}
	rec := b.rec[:0]
	for i := range b.items {
		rec = append(rec, int32(i))
	}
	b.rec = rec
	return b.write(dst, rec)
}

// packRecords splits the sorted items of b into records of at most limit
// bytes, greedily in sort order and never mixing partitions, as
// TraceEncoder.Encode does. It calls drop for an item too large for a record
// of its own (with the size that record would have), and emit for each
// record (its items then in b.rec) with the index of its partition's first
// item and its exact size. It stops at the first error emit returns and
// returns it.
func packRecords(b *builder, limit int, drop func(it *item, size int), emit func(first, size int) error) error {
	items := b.items
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && samePartition(&items[start], &items[end]) {
			end++
		}
		var st packState
		b.rec = b.rec[:0]
		for i := start; i < end; i++ {
			it := &items[i]
			if next := b.add(st, it); b.total(&next) <= limit {
				st = next
				b.rec = append(b.rec, int32(i))
				continue
			}
			alone := b.add(packState{}, it)
			if n := b.total(&alone); n > limit {
				drop(it, n)
				continue
			}
			if err := emit(start, b.total(&st)); err != nil {
				return err
			}
			st = alone
			b.rec = append(b.rec[:0], int32(i))
		}
		if len(b.rec) > 0 {
			if err := emit(start, b.total(&st)); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// emitRecord writes the packed record b.rec, size bytes, and hands it to fn
// under key. The error names the record by its count of items (what is the
// noun of one) and its size.
func emitRecord(b *builder, size int, key, what string, fn EmitFunc) error {
	b.out = b.write(grow(b.out[:0], size), b.rec)
	if err := fn(key, b.out); err != nil {
		return fmt.Errorf("emitting a record of %s (%s) under partition key %q: %w",
			plural.Count(len(b.rec), what), plural.Count(len(b.out), "byte"), key, err)
	}
	return nil
}

// keyGroups numbers the distinct partition keys of a batch
// (PartitionByKey), reusing its map and list from one batch to the next.
type keyGroups struct {
	index map[string]int32 // key → group
	list  []string         // group → key
}

func (g *keyGroups) reset() {
	if g.index == nil {
		g.index = make(map[string]int32)
	}
	clear(g.index)
	clear(g.list)
	g.list = g.list[:0]
}

// group returns the group of key k, a new one for a key not seen yet.
func (g *keyGroups) group(k string) int32 {
	i, ok := g.index[k]
	if !ok {
		i = int32(len(g.list))
		g.index[k] = i
		g.list = append(g.list, k)
	}
	return i
}

// resourceKeys computes the partition key of a resource group: 16
// lowercase hex digits of the 64-bit FNV-1a hash of the resource's OTLP
// protobuf encoding, as [PartitionByResource] documents (the key a
// [TraceEncoder] gives the same resource). It remembers the last resource's
// key from one batch to the next: the SDK hands the same immutable resource
// to every export, so the key is computed (and allocated) once.
type resourceKeys struct {
	ptr     *resource.Resource
	key     string
	scratch []byte
}

// of returns the key of resource group res of b.
func (k *resourceKeys) of(b *builder, res int32) string {
	c := &b.res[res]
	if c.key != "" {
		return c.key
	}
	if k.key == "" || c.ptr != k.ptr {
		k.scratch = AppendResource(k.scratch[:0], c.ptr)
		h := uint64(14695981039346656037) // FNV-1a offset basis
		for _, x := range k.scratch {
			h = (h ^ uint64(x)) * 1099511628211 // FNV-1a prime
		}
		k.ptr, k.key = c.ptr, hex64(h)
	}
	c.key = k.key
	return c.key
}

// randomPartitionKey returns 32 random lowercase hex digits.
func randomPartitionKey() string {
	return hex64(rand.Uint64()) + hex64(rand.Uint64())
}

// traceIDKey returns the trace ID held in it as 32 lowercase hex digits.
func traceIDKey(it *item) string {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[:8], it.hi)
	binary.BigEndian.PutUint64(id[8:], it.lo)
	return id.String()
}
