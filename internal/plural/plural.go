// Package plural writes counts with their nouns in correct English, "1 span" and
// "2 spans", for every message of the module that states a count.
package plural

import "strconv"

// Integer is any integer type a count can have.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// Count returns n, a space and noun, in the plural unless n is 1 or -1: Count(1, "span")
// is "1 span", Count(3, "span") "3 spans", Count(0, "entry") "0 entries", Count(2,
// "user record") "2 user records". noun is given in the singular; see [Noun] for how its
// plural is formed.
func Count[N Integer](n N, noun string) string {
	var s string
	if n < 0 {
		s = "-" + strconv.FormatUint(uint64(-int64(n)), 10)
	} else {
		s = strconv.FormatUint(uint64(n), 10)
	}
	return s + " " + Noun(n, noun)
}

// Noun returns noun as it goes with a count of n: as given (singular) for 1 and -1, in
// the plural otherwise, formed by the regular English rules, which every noun of the
// module's messages follows: "-ies" after a consonant and y ("entry", "entries"), "-es"
// after s, x, z, ch and sh ("batch", "batches"), "-s" otherwise. Only the last word of a
// noun phrase changes: "log record", "log records".
func Noun[N Integer](n N, noun string) string {
	if n == 1 || n < 0 && n+1 == 0 || noun == "" {
		return noun
	}
	last := noun[len(noun)-1]
	switch {
	case last == 'y' && len(noun) > 1 && !isVowel(noun[len(noun)-2]):
		return noun[:len(noun)-1] + "ies"
	case last == 's' || last == 'x' || last == 'z' ||
		len(noun) > 1 && (noun[len(noun)-2:] == "ch" || noun[len(noun)-2:] == "sh"):
		return noun + "es"
	}
	return noun + "s"
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}
