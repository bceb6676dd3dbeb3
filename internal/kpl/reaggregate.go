package kpl

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// This file holds the little of the reading side the producer needs: when a
// shard splits or merges under an aggregated record that waits for a retry,
// the producer takes its user records back out and aggregates them again for
// the new shards. The bytes are the producer's own, so this walk checks only
// what it needs not to misbehave; package consumer is the full, defensive
// reader (and imports this package, so this one cannot import it).

// errWalk wraps every reason walkAggregate gives up.
var errWalk = errors.New("malformed aggregated record")

// walkAggregate calls fn with each user record of the aggregated record b, in
// order. data aliases b and tags is reused between calls: fn copies what it
// keeps. The strings are fresh and may be kept.
func walkAggregate(b []byte, fn func(partitionKey, explicitHashKey string, data []byte, tags []aggregation.Tag)) error {
	if len(b) < len(aggregation.Magic)+aggregation.DigestSize || !bytes.Equal(b[:len(aggregation.Magic)], aggregation.Magic[:]) {
		return fmt.Errorf("%w: no magic", errWalk)
	}
	msg := b[len(aggregation.Magic) : len(b)-aggregation.DigestSize]

	// The tables may come after the records in a message someone else wrote;
	// read them first.
	var pks, ehks []string
	err := eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			pks = append(pks, string(v))
		case 2:
			ehks = append(ehks, string(v))
		}
		return nil
	})
	if err != nil {
		return err
	}

	var tags []aggregation.Tag
	return eachField(msg, func(num protowire.Number, typ protowire.Type, rec []byte, _ uint64) error {
		if num != 3 || typ != protowire.BytesType {
			return nil
		}
		var (
			pki, ehki     uint64
			hasPK, hasEHK bool
			data          []byte
		)
		tags = tags[:0]
		err := eachField(rec, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			switch {
			case num == 1 && typ == protowire.VarintType:
				pki, hasPK = x, true
			case num == 2 && typ == protowire.VarintType:
				ehki, hasEHK = x, true
			case num == 3 && typ == protowire.BytesType:
				data = v
			case num == 4 && typ == protowire.BytesType:
				var t aggregation.Tag
				err := eachField(v, func(num protowire.Number, typ protowire.Type, s []byte, _ uint64) error {
					if typ == protowire.BytesType && num == 1 {
						t.Key = string(s)
					} else if typ == protowire.BytesType && num == 2 {
						t.Value = string(s)
					}
					return nil
				})
				if err != nil {
					return err
				}
				tags = append(tags, t)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !hasPK || pki >= uint64(len(pks)) {
			return fmt.Errorf("%w: partition key index %d of %d", errWalk, pki, len(pks))
		}
		ehk := ""
		if hasEHK {
			if ehki >= uint64(len(ehks)) {
				return fmt.Errorf("%w: explicit hash key index %d of %d", errWalk, ehki, len(ehks))
			}
			ehk = ehks[ehki]
		}
		if data == nil {
			data = []byte{}
		}
		fn(pks[pki], ehk, data, tags)
		return nil
	})
}

// eachField calls fn with every field of the protobuf message b: bytes
// fields with their value in v, varint fields with theirs in x. Other wire
// types are skipped.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errWalk, protowire.ParseError(n))
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", errWalk, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
