package propagation

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// keyPrefix starts every partition key written by the key carrier. With the
// separator after the traceparent it makes the layout
//
//	tp~<traceparent, 55 characters>~<business key>
const (
	keyPrefix    = "tp~"
	keySeparator = '~'
	// keyOverhead is what wrapping adds to the business key.
	keyOverhead = len(keyPrefix) + traceparentLen + 1
)

// MaxPartitionKeyLength is the longest partition key Kinesis accepts, in
// characters: 256. The key carrier counts characters as UTF-16 code units, as
// the JavaScript emulators do, so a character outside the Basic Multilingual
// Plane counts twice; on AWS that errs on the safe side.
const MaxPartitionKeyLength = aggregation.MaxPartitionKeyLen

// MaxWrappedBusinessKeyLength is the longest business key, in UTF-16 code
// units, that the key carrier can wrap: 256 minus the 59 characters of the
// prefix, the traceparent and the separator.
const MaxWrappedBusinessKeyLength = MaxPartitionKeyLength - keyOverhead

// KeyCarrier is a TextMapCarrier that travels in the partition key. It holds a
// single field, the W3C traceparent: a partition key has room for little more,
// so tracestate, baggage and the fields of non-W3C propagators (such as X-Ray's
// X-Amzn-Trace-Id) are not kept. Set records their names, and Dropped reports
// them.
//
// The wrapped partition key is
//
//	tp~<traceparent>~<business key>
//
// for example tp~00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~order-17.
// Kinesis routes a record by the MD5 of its partition key unless the record has
// an ExplicitHashKey, so a record with a wrapped key is given the business
// key's hash key (ExplicitHashKey) and lands on exactly the shard the business
// key maps to, before and after resharding. Consumers never see the
// ExplicitHashKey; they take the business key back out of the partition key
// (UnwrapKey, or Consumer.Extract).
//
// The zero value is empty and ready to use. A KeyCarrier is not safe for
// concurrent use.
type KeyCarrier struct {
	// Traceparent is the carried traceparent, "" when none.
	Traceparent string
	dropped     []string
}

var _ propagation.TextMapCarrier = (*KeyCarrier)(nil)

// Get returns the traceparent for the key "traceparent" (in any letter case)
// and "" for every other key.
func (c *KeyCarrier) Get(key string) string {
	if equalFold(key, fieldTraceparent) {
		return c.Traceparent
	}
	return ""
}

// Set stores the value of "traceparent" (in any letter case). Any other key
// cannot travel in a partition key: its name is recorded for Dropped and its
// value discarded.
func (c *KeyCarrier) Set(key, value string) {
	if equalFold(key, fieldTraceparent) {
		c.Traceparent = value
		return
	}
	for _, k := range c.dropped {
		if k == key {
			return
		}
	}
	c.dropped = append(c.dropped, key)
}

// Keys returns ["traceparent"] when a traceparent is held, else nil.
func (c *KeyCarrier) Keys() []string {
	if c.Traceparent == "" {
		return nil
	}
	return []string{fieldTraceparent}
}

// Dropped returns the names of the fields Set was given that a partition key
// cannot carry, in the order first seen. The slice is the carrier's own.
func (c *KeyCarrier) Dropped() []string { return c.dropped }

// Reset empties the carrier for reuse.
func (c *KeyCarrier) Reset() {
	c.Traceparent = ""
	c.dropped = c.dropped[:0]
}

// PartitionKey returns the partition key that carries c's traceparent and
// businessKey, and the ExplicitHashKey that routes it where businessKey would
// go: the decimal MD5 hash key of businessKey. It is WrapKey with c's
// traceparent.
func (c *KeyCarrier) PartitionKey(businessKey string) (partitionKey, explicitHashKey string, err error) {
	return WrapKey(businessKey, c.Traceparent)
}

// WrapKey returns the partition key "tp~<traceparent>~<businessKey>" and the
// ExplicitHashKey of businessKey (the decimal form of the MD5 of its UTF-8
// bytes, read as a big-endian 128-bit integer), so the record keeps the shard
// the business key maps to.
//
// The rules:
//   - traceparent must be a version-00-sized W3C traceparent (55 characters,
//     lowercase hex and dashes), else the error wraps ErrNoTraceparent.
//   - An empty traceparent wraps the key with the all-zero traceparent, which
//     carries no context: only worth doing for a business key that would
//     itself be read as a wrapped key (see LooksWrapped).
//   - businessKey must not be empty, and the wrapped key must fit in 256
//     characters (businessKey at most MaxWrappedBusinessKeyLength UTF-16 code
//     units), else the error wraps ErrKeyTooLong.
//
// When the record already has an ExplicitHashKey, keep it and use only the
// partition key: that hash key already decides the shard.
func WrapKey(businessKey, traceparent string) (partitionKey, explicitHashKey string, err error) {
	if err := checkWrap(businessKey, traceparent); err != nil {
		return "", "", err
	}
	if traceparent == "" {
		traceparent = zeroTraceparent
	}
	var buf [maxHashKeyDigits]byte
	ehk := aggregation.HashPartitionKey(businessKey).AppendDecimal(buf[:0])
	return keyPrefix + traceparent + string(keySeparator) + businessKey, string(ehk), nil
}

// checkWrap validates the inputs of WrapKey.
func checkWrap(businessKey, traceparent string) error {
	if traceparent != "" && !traceparentSyntax(traceparent) {
		return fmt.Errorf("wrap partition key: traceparent %s is not a 55-character W3C traceparent: %w",
			quoteShort(traceparent), ErrNoTraceparent)
	}
	if businessKey == "" {
		return fmt.Errorf("wrap partition key: empty business key: %w", ErrKeyTooLong)
	}
	// A key has no more UTF-16 code units than bytes: only long ones need
	// counting.
	if len(businessKey) <= MaxWrappedBusinessKeyLength {
		return nil
	}
	if n := aggregation.PartitionKeyLen(businessKey); n > MaxWrappedBusinessKeyLength {
		return fmt.Errorf("wrap partition key %s: %s, at most %d leave room for the traceparent: %w",
			quoteShort(businessKey), plural.Count(n, "character"), MaxWrappedBusinessKeyLength, ErrKeyTooLong)
	}
	return nil
}

// UnwrapKey takes a partition key apart. For a key written by WrapKey it
// returns the business key and the traceparent ("" when the key carried the
// all-zero traceparent, that is no context), with ok true. For any other key it
// returns the key itself, "" and false.
//
// A key is taken as wrapped when it is "tp~", 55 characters in the syntax of a
// traceparent (lowercase hex with dashes at the W3C positions), "~" and at
// least one more character. Whether the traceparent names a valid context is
// for the propagator to decide (Consumer.Extract reports it). UnwrapKey does
// not allocate.
func UnwrapKey(partitionKey string) (businessKey, traceparent string, ok bool) {
	if !LooksWrapped(partitionKey) {
		return partitionKey, "", false
	}
	tp := partitionKey[len(keyPrefix) : len(keyPrefix)+traceparentLen]
	if tp == zeroTraceparent {
		tp = ""
	}
	return partitionKey[keyOverhead:], tp, true
}

// LooksWrapped reports whether UnwrapKey would take partitionKey apart. A
// producer that does not wrap a business key for which this is true must wrap
// it anyway (with an empty traceparent), or the consumer would cut it short.
func LooksWrapped(partitionKey string) bool {
	return len(partitionKey) > keyOverhead &&
		strings.HasPrefix(partitionKey, keyPrefix) &&
		partitionKey[keyOverhead-1] == keySeparator &&
		traceparentSyntax(partitionKey[len(keyPrefix):keyOverhead-1])
}
