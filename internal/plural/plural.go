// Package plural writes counts with their nouns in messages: "1 attempt", "2 attempts".
package plural

import "strconv"

// Count returns n and the noun, singular for 1 and plural otherwise: Count(1, "attempt",
// "attempts") is "1 attempt", Count(0, "attempt", "attempts") is "0 attempts".
func Count[N ~int | ~int32 | ~int64](n N, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.FormatInt(int64(n), 10) + " " + plural
}
