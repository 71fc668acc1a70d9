package devpki

import (
	"fmt"
	"strconv"
	"time"
)

// NationalNumber returns a checksum-valid Belgian national registry number (11 digits,
// YYMMDD, a 3-digit day counter, a 2-digit check) for someone born on birth. The counter is
// odd for men (001–997) and even for women (002–998); seq picks the seq-th of them (any
// int works: it wraps around the 499 possibilities). The check is 97 − (n mod 97) over the
// first nine digits, with a "2" put in front of them for births from 2000 on.
func NationalNumber(birth time.Time, seq int, male bool) string {
	idx := ((seq-1)%499+499)%499 + 1 // 1..499
	counter := 2 * idx
	if male {
		counter--
	}
	base := fmt.Sprintf("%02d%02d%02d%03d", birth.Year()%100, int(birth.Month()), birth.Day(), counter)
	n, _ := strconv.ParseInt(base, 10, 64) // nine digits, cannot fail
	if birth.Year() >= 2000 {
		n += 2_000_000_000
	}
	return fmt.Sprintf("%s%02d", base, 97-n%97)
}

// ValidNationalNumber reports whether s is 11 digits whose check digits fit the first nine,
// for a birth in either the 1900s or the 2000s (the number alone does not say which).
func ValidNationalNumber(s string) bool {
	if len(s) != 11 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	base, _ := strconv.ParseInt(s[:9], 10, 64)
	check, _ := strconv.ParseInt(s[9:], 10, 64)
	return check == 97-base%97 || check == 97-(2_000_000_000+base)%97
}
