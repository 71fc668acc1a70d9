package itsmesim

import (
	"fmt"
	"unicode/utf8"
)

// maxDescription is itsme's limit on the text shown in the app.
const maxDescription = 255

// checkDescription refuses what the real app refuses: anything outside ISO 8859-15's
// printable characters, or more than 255 characters. Query parameters arrive as UTF-8, so
// the check is on the characters, not on bytes.
func checkDescription(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("description is not valid text")
	}
	n := 0
	for _, r := range s {
		n++
		if !latin9(r) {
			return fmt.Errorf("description: %q is not an ISO 8859-15 character", r)
		}
	}
	if n > maxDescription {
		return fmt.Errorf("description has %d characters, at most %d are allowed", n, maxDescription)
	}
	return nil
}

// latin9 reports whether r is printable in ISO 8859-15 (which replaced eight Latin-1
// symbols, e.g. ¤ by €).
func latin9(r rune) bool {
	switch r {
	case '€', 'Š', 'š', 'Ž', 'ž', 'Œ', 'œ', 'Ÿ':
		return true
	case '¤', '¦', '¨', '´', '¸', '¼', '½', '¾':
		return false
	}
	return (r >= ' ' && r <= '~') || (r >= 0xa0 && r <= 0xff)
}
