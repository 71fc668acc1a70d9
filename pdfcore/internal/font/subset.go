package font

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

// Subset collects the glyphs one document update shows, then writes them as a font. Make one
// per update: the embedded program holds exactly the glyphs encoded through it. A Subset is
// not safe for concurrent use.
type Subset struct {
	m *metrics
	// text is what each glyph stands for, for /ToUnicode; its keys are the glyphs used.
	text map[uint16]string
	// own maps the runes shown with their own glyph, for the program's cmap.
	own map[rune]uint16
}

// NewSubset starts an empty subset of f.
func (f *Face) NewSubset() *Subset {
	return &Subset{m: f.mustLoad(), text: map[uint16]string{}, own: map[rune]uint16{}}
}

// Encode returns the operand of a Tj operator showing text — a hex string of 2-byte glyph
// IDs for the Identity-H encoding — and records the glyphs for Objects. The text is put in
// NFC first so that "e" + combining diaeresis is the precomposed "ë" the font has.
func (s *Subset) Encode(text string) []byte {
	text = nfc(text)
	out := make([]byte, 0, 2+4*len(text))
	out = append(out, '<')
	for _, r := range text {
		g, ok := s.m.glyphFor(r)
		if !ok {
			continue
		}
		if _, seen := s.text[g]; !seen {
			// A fallback glyph extracts as what it shows ("?" or a space), which is
			// the honest answer: the rune itself was not drawn.
			if own, has := s.m.glyph[r]; has && own == g {
				s.text[g] = string(r)
				s.own[r] = g
			} else if g == s.m.space {
				s.text[g] = " "
			} else {
				s.text[g] = "?"
			}
		}
		const hex = "0123456789ABCDEF"
		out = append(out, hex[g>>12], hex[g>>8&15], hex[g>>4&15], hex[g&15])
	}
	return append(out, '>')
}

// Glyphs reports how many distinct glyphs the subset has recorded.
func (s *Subset) Glyphs() int { return len(s.text) }

// Objects writes the font: a Type0 font (the object to name in /Resources /Font), its
// CIDFontType2 descendant, the font descriptor, the subset TrueType program and the
// /ToUnicode CMap, numbered by alloc in that order. The bytes depend only on the glyphs
// recorded, so the same text gives the same objects on every run.
func (s *Subset) Objects(alloc func() int) (fontObjNum int, objs []rawobj.Object, err error) {
	m := s.m
	gids := make([]uint16, 0, len(s.text))
	for g := range s.text {
		gids = append(gids, g)
	}
	sort.Slice(gids, func(i, j int) bool { return gids[i] < gids[j] })
	program, err := m.subsetProgram(gids, s.own)
	if err != nil {
		return 0, nil, err
	}
	name := subsetTag(m.name, gids) + "+" + m.name
	k := 1000 / m.upem // font units to PDF glyph space

	type0, cid, desc, file, cmap := alloc(), alloc(), alloc(), alloc(), alloc()
	objs = []rawobj.Object{
		{Num: type0, Body: fmt.Appendf(nil,
			"<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>",
			name, cid, cmap)},
		{Num: cid, Body: fmt.Appendf(nil,
			"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW %s /W %s /CIDToGIDMap /Identity >>",
			name, desc, num(float64(m.advance[0])*k), widths(m, gids))},
		{Num: desc, Body: fmt.Appendf(nil,
			"<< /Type /FontDescriptor /FontName /%s /Flags %d /FontBBox [%s %s %s %s] /ItalicAngle %s /Ascent %s /Descent %s /CapHeight %s /XHeight %s /StemV %s /FontFile2 %d 0 R >>",
			name, flags(m), num(math.Floor(m.bbox[0]*k)), num(math.Floor(m.bbox[1]*k)), num(math.Ceil(m.bbox[2]*k)), num(math.Ceil(m.bbox[3]*k)),
			num(m.italicAngle), num(m.ascent*k), num(m.descent*k), num(m.capHeight*k), num(m.xHeight*k), num(m.stemV), file)},
		{Num: file, Body: rawobj.Stream("/Length1 "+strconv.Itoa(len(program)), program, true)},
		{Num: cmap, Body: rawobj.Stream("", toUnicode(s.text), true)},
	}
	return type0, objs, nil
}

// widths writes the /W array for the glyphs used, runs of consecutive IDs sharing one
// entry: "[3 [277.83 500] 40 [611.33]]".
func widths(m *metrics, gids []uint16) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, g := range gids {
		if i == 0 || gids[i-1]+1 != g {
			if i > 0 {
				b.WriteString("] ")
			}
			fmt.Fprintf(&b, "%d [", g)
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(num(float64(m.advance[g]) * 1000 / m.upem))
	}
	if len(gids) > 0 {
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.String()
}

// flags is the font descriptor's /Flags. The font has glyphs outside the Adobe standard
// Latin set (Greek, Cyrillic), which ISO 32000-1 9.8.2 calls symbolic.
func flags(m *metrics) int {
	f := 1 << 2 // Symbolic
	if m.fixedPitch {
		f |= 1 << 0
	}
	if m.italicAngle != 0 {
		f |= 1 << 6
	}
	return f
}

// subsetTag is the six capital letters ISO 32000-1 9.6.4 puts before a subset's name. It is
// derived from the glyph set, so the same glyphs give the same name and different subsets
// of the face in one file get different names.
func subsetTag(name string, gids []uint16) string {
	h := sha256.New()
	h.Write([]byte(name))
	for _, g := range gids {
		h.Write(binary.BigEndian.AppendUint16(nil, g))
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	return string(tag)
}

// num formats a PDF number with at most three decimals and no exponent.
func num(v float64) string {
	v = math.Round(v*1000) / 1000
	if v == 0 {
		return "0" // also turns -0 into 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
