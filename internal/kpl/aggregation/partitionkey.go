package aggregation

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxPartitionKeyLen is the longest partition key Kinesis accepts, in
// characters as PartitionKeyLen counts them.
const MaxPartitionKeyLen = 256

// PartitionKeyLen returns the length of pk as Kinesis counts it against the
// 256-character limit: in UTF-16 code units, so a character outside the Basic
// Multilingual Plane (an emoji) counts twice. Both emulators count so, and
// refuse a key of 256 runes that is longer in UTF-16 with a
// ValidationException that fails the whole PutRecords request.
func PartitionKeyLen(pk string) int {
	n := 0
	for i := 0; i < len(pk); {
		if pk[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(pk[i:])
		i += size
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// CheckPartitionKey checks what Kinesis requires of a partition key: 1 to
// MaxPartitionKeyLen characters as PartitionKeyLen counts them. Invalid UTF-8
// is refused too: the JSON protocol would replace it, and Kinesis would hash
// another key than the producer did. The error says which rule pk breaks.
func CheckPartitionKey(pk string) error {
	switch {
	case pk == "":
		return errors.New("partition key is empty")
	case !utf8.ValidString(pk):
		return errors.New("partition key is not valid UTF-8")
	case len(pk) > MaxPartitionKeyLen && PartitionKeyLen(pk) > MaxPartitionKeyLen:
		// A key has no more UTF-16 code units than bytes: only long ones need
		// counting.
		return fmt.Errorf("partition key has %d characters (UTF-16 code units), at most %d allowed",
			PartitionKeyLen(pk), MaxPartitionKeyLen)
	}
	return nil
}
