package csc

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// TextError reports a character a provider cannot show, so the relay can tell the signer
// which label to change instead of letting the provider stop the flow half-way.
type TextError struct {
	Text string
	Rune rune
}

func (e *TextError) Error() string {
	return fmt.Sprintf("csc: the description cannot hold %q (U+%04X): only ISO 8859-15 characters, Latin, Greek and Cyrillic letters can be shown", e.Rune, e.Rune)
}

// Latin9 makes s showable by a service that accepts ISO 8859-15 only (itsme®), at most max
// characters long. The decision: transliterate rather than refuse whenever the result
// still reads as the same words — Latin letters lose their diacritics ("Łódź" → "Lodz",
// "ő" → "o"), typographic punctuation becomes ASCII, Greek and Cyrillic are romanised
// letter by letter ("Договор" → "Dogovor") — and refuse with *TextError only scripts with
// no reasonable letter-by-letter Latin form (CJK, Arabic, emoji…), because a description
// of question marks would ask the signer to approve something they cannot read. Line
// breaks and tabs become spaces; a result longer than max is cut and ends with "...".
// The value is returned as a Go (UTF-8) string whose characters all exist in ISO 8859-15:
// it travels percent-encoded in the authorise URL like any other parameter.
func Latin9(s string, max int) (string, error) {
	var b strings.Builder
	// NFC first, so that a letter typed as base + combining mark ("e\u0301") is the one
	// Latin-1 character it stands for and survives unchanged.
	for _, r := range norm.NFC.String(s) {
		out, ok := latin9Rune(r)
		if !ok {
			return "", &TextError{Text: s, Rune: r}
		}
		b.WriteString(out)
	}
	text := strings.Join(strings.Fields(b.String()), " ")
	if max > 3 {
		if runes := []rune(text); len(runes) > max {
			text = strings.TrimRight(string(runes[:max-3]), " ") + "..."
		}
	}
	return text, nil
}

// InLatin9 reports whether r is a printable character of ISO 8859-15: ASCII, and Latin-1's
// upper half except the eight code points 8859-15 reassigned (to €, Š, š, Ž, ž, Œ, œ, Ÿ).
func InLatin9(r rune) bool {
	switch {
	case r >= 0x20 && r < 0x7f:
		return true
	case r >= 0xa0 && r <= 0xff:
		switch r {
		case 0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe:
			return false
		}
		return true
	}
	switch r {
	case '€', 'Š', 'š', 'Ž', 'ž', 'Œ', 'œ', 'Ÿ':
		return true
	}
	return false
}

// latin9Rune returns what r becomes, or false when it has no readable form.
func latin9Rune(r rune) (string, bool) {
	if InLatin9(r) {
		return string(r), true
	}
	if r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r) {
		return " ", true
	}
	if unicode.Is(unicode.Mn, r) || r == '\u200b' || r == '\u200d' || r == '\ufeff' {
		return "", true // stray combining marks and invisible joiners carry no letter
	}
	if s, ok := special[r]; ok {
		return s, true
	}
	// Compatibility decomposition strips diacritics ("ő" = o + double acute) and splits
	// ligatures ("ﬁ" = f i); what is left must be showable, or be Greek or Cyrillic.
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, d):
		case InLatin9(d):
			b.WriteRune(d)
		default:
			s, ok := romanise(d)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
	}
	return b.String(), true // may be empty: the Cyrillic hard and soft signs have no Latin letter
}

// special covers Latin letters that do not decompose (they carry a stroke or are distinct
// letters) and common typography outside ISO 8859-15.
var special = map[rune]string{
	'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d", 'Ħ': "H", 'ħ': "h", 'ı': "i", 'Ŧ': "T", 'ŧ': "t",
	'Ŋ': "N", 'ŋ': "n", 'ĸ': "k", 'Ə': "E", 'ə': "e", 'ƒ': "f", 'Ɨ': "I", 'ɨ': "i",
	'‘': "'", '’': "'", 'ʼ': "'", '‚': ",", '‛': "'", '“': "\"", '”': "\"", '„': "\"", '‟': "\"",
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-",
	'…': "...", '•': "-", '′': "'", '″': "\"", '‹': "<", '›': ">",
	'™': "(TM)", '¤': "", '¦': "|", '¨': "", '´': "'", '¸': ",",
	'¼': "1/4", '½': "1/2", '¾': "3/4",
}

// romanise writes a Greek or Cyrillic letter in Latin (ELOT 743 and a simplified
// scientific transliteration: one table per script, capitals follow the letter's case).
func romanise(r rune) (string, bool) {
	upper := unicode.ToUpper(r)
	s, ok := greek[upper]
	if !ok {
		s, ok = cyrillic[upper]
	}
	if !ok {
		return "", false
	}
	if r == 'ς' {
		return "s", true
	}
	if unicode.IsLower(r) {
		return strings.ToLower(s), true
	}
	return s, true
}

var greek = map[rune]string{
	'Α': "A", 'Β': "V", 'Γ': "G", 'Δ': "D", 'Ε': "E", 'Ζ': "Z", 'Η': "I", 'Θ': "Th",
	'Ι': "I", 'Κ': "K", 'Λ': "L", 'Μ': "M", 'Ν': "N", 'Ξ': "X", 'Ο': "O", 'Π': "P",
	'Ρ': "R", 'Σ': "S", 'Τ': "T", 'Υ': "Y", 'Φ': "F", 'Χ': "Ch", 'Ψ': "Ps", 'Ω': "O",
}

var cyrillic = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ж': "Zh", 'З': "Z",
	'И': "I", 'Й': "Y", 'К': "K", 'Л': "L", 'М': "M", 'Н': "N", 'О': "O", 'П': "P",
	'Р': "R", 'С': "S", 'Т': "T", 'У': "U", 'Ф': "F", 'Х': "Kh", 'Ц': "Ts", 'Ч': "Ch",
	'Ш': "Sh", 'Щ': "Shch", 'Ъ': "", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "Yu", 'Я': "Ya",
	'Є': "Ye", 'І': "I", 'Ґ': "G", 'Ђ': "Dj", 'Ј': "J", 'Љ': "Lj", 'Њ': "Nj", 'Ћ': "C",
	'Џ': "Dz", 'Ѕ': "Dz",
}
