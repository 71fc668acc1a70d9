package font

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfc puts text in Unicode Normalization Form C: names typed on a Mac or pasted from a
// certificate often arrive decomposed ("e" + U+0308), and the font has the precomposed
// letters, not the combining marks.
func nfc(text string) string { return norm.NFC.String(text) }

const ellipsis = "…"

// Wrap breaks text into lines no wider than maxWidth points at size. Lines break at spaces
// and after the hyphens, commas and slashes of double names and certificate subjects; a
// word longer than a line is cut between letters. Newlines in text are kept as breaks.
// Lines are in NFC and carry no leading or trailing spaces.
func (f *Face) Wrap(text string, size, maxWidth float64) []string {
	text = strings.ReplaceAll(nfc(text), "\r\n", "\n")
	if text == "" {
		return nil
	}
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		lines = append(lines, f.wrapParagraph(para, size, maxWidth)...)
	}
	return lines
}

func (f *Face) wrapParagraph(para string, size, maxWidth float64) []string {
	para = strings.TrimSpace(para)
	if para == "" {
		return []string{""}
	}
	var lines []string
	line := ""
	for _, piece := range breakPieces(para) {
		if f.Width(strings.TrimRightFunc(line+piece, unicode.IsSpace), size) <= maxWidth {
			line += piece
			continue
		}
		if line != "" {
			lines = append(lines, strings.TrimRightFunc(line, unicode.IsSpace))
		}
		line = strings.TrimLeftFunc(piece, unicode.IsSpace)
		// A piece wider than a whole line is cut where it overflows.
		for f.Width(strings.TrimRightFunc(line, unicode.IsSpace), size) > maxWidth {
			head := f.prefixFitting(line, size, maxWidth)
			lines = append(lines, head)
			line = strings.TrimLeftFunc(line[len(head):], unicode.IsSpace)
		}
	}
	if line = strings.TrimRightFunc(line, unicode.IsSpace); line != "" {
		lines = append(lines, line)
	}
	return lines
}

// breakPieces splits text after each break opportunity, keeping every byte: after a run of
// spaces, and after "-", ",", "/" and ";".
func breakPieces(text string) []string {
	var pieces []string
	start := 0
	for i, r := range text {
		next := i + utf8.RuneLen(r)
		var after rune
		if next < len(text) {
			after, _ = utf8.DecodeRuneInString(text[next:])
		}
		end := strings.ContainsRune("-,/;", r) && !unicode.IsSpace(after)
		end = end || (unicode.IsSpace(r) && next < len(text) && !unicode.IsSpace(after))
		if end {
			pieces = append(pieces, text[start:next])
			start = next
		}
	}
	return append(pieces, text[start:])
}

// prefixFitting returns the longest prefix of text no wider than maxWidth, but at least one
// rune so that wrapping always advances.
func (f *Face) prefixFitting(text string, size, maxWidth float64) string {
	m := f.mustLoad()
	limit := maxWidth * m.upem / size // compare in font units, summing as we go
	var w float64
	for i, r := range text {
		if g, ok := m.glyphFor(r); ok {
			w += float64(m.advance[g])
		}
		if w > limit {
			if i == 0 {
				return text[:utf8.RuneLen(r)]
			}
			return text[:i]
		}
	}
	return text
}

// Fit makes text fit on one line of maxWidth points: at size if it fits, else at the
// largest smaller size down to minSize, else at minSize cut short with "…". It returns the
// text to show (NFC, newlines turned into spaces) and the size to show it at.
func (f *Face) Fit(text string, size, minSize, maxWidth float64) (string, float64) {
	text = strings.Join(strings.Fields(nfc(text)), " ")
	w := f.Width(text, size)
	if w <= maxWidth {
		return text, size
	}
	if minSize > size {
		minSize = size
	}
	// Round down to a tenth of a point so the chosen size fits despite rounding.
	if s := math.Floor(size*maxWidth/w*10) / 10; s >= minSize {
		return text, s
	}
	return f.ellipsize(text, minSize, maxWidth), minSize
}

// ellipsize cuts text so that it plus "…" is no wider than maxWidth; "" if not even the
// ellipsis fits.
func (f *Face) ellipsize(text string, size, maxWidth float64) string {
	room := maxWidth - f.Width(ellipsis, size)
	if room < 0 {
		return ""
	}
	head := strings.TrimRightFunc(f.prefixFitting(text, size, room), unicode.IsSpace)
	if f.Width(head, size) > room { // prefixFitting's one-rune minimum
		head = ""
	}
	return head + ellipsis
}

// FitLines makes text fit in a box of maxLines lines of maxWidth points: wrapped at size if
// that fits, else at the largest size down to minSize (in steps of half a point) that fits,
// else wrapped at minSize with the last line cut short with "…".
func (f *Face) FitLines(text string, size, minSize, maxWidth float64, maxLines int) ([]string, float64) {
	if maxLines < 1 {
		return nil, size
	}
	if minSize > size {
		minSize = size
	}
	for s := size; s >= minSize; s -= 0.5 {
		if lines := f.Wrap(text, s, maxWidth); len(lines) <= maxLines {
			return lines, s
		}
	}
	lines := f.Wrap(text, minSize, maxWidth)
	if len(lines) <= maxLines {
		return lines, minSize
	}
	// The last line shown takes the rest of the text, then loses its end to the ellipsis.
	rest := strings.Join(lines[maxLines-1:], " ")
	last := f.ellipsize(rest, minSize, maxWidth)
	return append(lines[:maxLines-1:maxLines-1], last), minSize
}
