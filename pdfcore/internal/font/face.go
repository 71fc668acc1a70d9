// Package font puts text on veilsign's signature page: the Go fonts (Latin with its
// extensions, Greek, Cyrillic, €), measured for layout and embedded as a subset CIDFontType2
// with a /ToUnicode map so every viewer renders the names and text extraction returns them.
package font

import (
	"fmt"
	"math"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Face is one font program. Everything layout and embedding need is read once, on first use,
// into immutable tables, so a Face is safe for concurrent use.
type Face struct {
	ttf  []byte
	once sync.Once
	m    *metrics
	err  error
}

// metrics is what a Face knows after parsing. Lengths are in font units (1/upem em).
type metrics struct {
	name      string            // PostScript name, e.g. "GoRegular"
	upem      float64           // units per em
	glyph     map[rune]uint16   // the font's cmap
	advance   []int32           // per glyph ID
	tables    map[string][]byte // raw tables, for the subset program
	loca      []uint32          // numGlyphs+1 offsets into the glyf table
	shared    []fontTable       // the tables every subset carries unchanged
	numGlyphs int

	ascent, descent, capHeight, xHeight float64 // descent is negative, as in PDF
	bbox                                [4]float64
	italicAngle                         float64
	stemV                               float64 // in 1/1000 em, as /StemV wants
	fixedPitch                          bool
	bold                                bool
	fallback                            uint16 // glyph shown for runes the font lacks
	space                               uint16
}

var (
	regular = &Face{ttf: goregular.TTF}
	bold    = &Face{ttf: gobold.TTF}
)

// Regular is Go Regular, the face for names, capacities and certificate subjects.
func Regular() *Face { return regular }

// Bold is Go Bold, for headings and the slot letters.
func Bold() *Face { return bold }

// load parses the font once. The embedded fonts are known good, so a failure here is a
// build defect; it is still returned rather than panicking, so a caller can report it.
func (f *Face) load() (*metrics, error) {
	f.once.Do(func() { f.m, f.err = parse(f.ttf) })
	return f.m, f.err
}

// mustLoad is for the measuring functions, which have no error to return: the embedded Go
// fonts parse, and a test proves it.
func (f *Face) mustLoad() *metrics {
	m, err := f.load()
	if err != nil {
		panic(err)
	}
	return m
}

func parse(ttf []byte) (*metrics, error) {
	sf, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("font: parse: %w", err)
	}
	tables, err := readTables(ttf)
	if err != nil {
		return nil, err
	}
	var b sfnt.Buffer
	upem := sf.UnitsPerEm()
	// Asking sfnt for sizes at ppem = upem, unhinted, gives exact font units (in 26.6).
	ppem := fixed.I(int(upem))
	m := &metrics{
		upem:      float64(upem),
		glyph:     make(map[rune]uint16, sf.NumGlyphs()),
		advance:   make([]int32, sf.NumGlyphs()),
		tables:    tables,
		numGlyphs: sf.NumGlyphs(),
	}
	if m.loca, err = readLoca(tables["loca"], int16(be16(tables["head"][50:])), m.numGlyphs, len(tables["glyf"])); err != nil {
		return nil, err
	}
	m.shared = sharedTables(tables)
	if m.name, err = sf.Name(&b, sfnt.NameIDPostScript); err != nil {
		return nil, fmt.Errorf("font: PostScript name: %w", err)
	}
	// The rune → glyph map comes from the font's format 4 cmap, read segment by segment:
	// asking sfnt for each of the 65,504 runes of the Basic Multilingual Plane cost 14 ms on
	// the first signature in a browser (WASM). sfnt stays the fallback for a font without
	// one.
	if !readCmap4(tables["cmap"], m) {
		for r := rune(0x20); r <= 0xFFFF; r++ {
			if g, err := sf.GlyphIndex(&b, r); err == nil {
				m.addRune(r, uint16(g))
			}
		}
	}
	for g := range m.advance {
		adv, err := sf.GlyphAdvance(&b, sfnt.GlyphIndex(g), ppem, font.HintingNone)
		if err != nil {
			return nil, fmt.Errorf("font: advance of glyph %d: %w", g, err)
		}
		m.advance[g] = int32(adv) >> 6
	}
	met, err := sf.Metrics(&b, ppem, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("font: metrics: %w", err)
	}
	m.ascent = units(met.Ascent)
	m.descent = -units(met.Descent)
	m.capHeight = units(met.CapHeight)
	m.xHeight = units(met.XHeight)
	bounds, err := sf.Bounds(&b, ppem, font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("font: bounds: %w", err)
	}
	// sfnt's rectangles have y pointing down; PDF's bbox has y up.
	m.bbox = [4]float64{units(bounds.Min.X), -units(bounds.Max.Y), units(bounds.Max.X), -units(bounds.Min.Y)}
	if pt := sf.PostTable(); pt != nil {
		m.italicAngle = pt.ItalicAngle
		m.fixedPitch = pt.IsFixedPitch
	}
	m.space = m.glyph[' ']
	m.fallback = m.glyph['?']
	m.stemV = stemV(sf, &b, m, ppem)
	return m, nil
}

// addRune records that the font shows r with glyph g. Only the Basic Multilingual Plane from
// U+0020 is kept (the Go fonts cover no more), and control characters are left out: the font
// maps U+0000 and CR to blank glyphs, which would hide bad input instead of showing it.
// Glyph 0 is .notdef, i.e. no glyph.
func (m *metrics) addRune(r rune, g uint16) {
	if r < 0x20 || r > 0xFFFF || g == 0 || int(g) >= m.numGlyphs || unicode.IsControl(r) {
		return
	}
	m.glyph[r] = g
}

// readCmap4 fills m.glyph from the Unicode BMP subtable of cmap (platform 3 encoding 1, or
// platform 0), which must be format 4; it reports false when there is none or it is
// malformed, leaving m.glyph empty.
func readCmap4(cmap []byte, m *metrics) bool {
	if len(cmap) < 4 {
		return false
	}
	var sub []byte
	for i := range int(be16(cmap[2:])) {
		rec := 4 + 8*i
		if rec+8 > len(cmap) {
			return false
		}
		platform, enc, off := be16(cmap[rec:]), be16(cmap[rec+2:]), be32(cmap[rec+4:])
		if (platform == 3 && enc == 1) || platform == 0 {
			if uint64(off)+14 <= uint64(len(cmap)) && be16(cmap[off:]) == 4 {
				sub = cmap[off:]
				break
			}
		}
	}
	if sub == nil {
		return false
	}
	if n := int(be16(sub[2:])); n <= len(sub) {
		sub = sub[:n]
	}
	segs := int(be16(sub[6:])) / 2
	ends, starts := 14, 16+2*segs
	deltas, rangeOffsets := starts+2*segs, starts+4*segs
	if rangeOffsets+2*segs > len(sub) {
		return false
	}
	for i := range segs {
		end, start := int(be16(sub[ends+2*i:])), int(be16(sub[starts+2*i:]))
		delta, ro := be16(sub[deltas+2*i:]), int(be16(sub[rangeOffsets+2*i:]))
		for c := start; c <= end && c < 0xFFFF; c++ {
			var g uint16
			if ro == 0 {
				g = uint16(c) + delta
			} else {
				// idRangeOffset counts bytes from its own position into glyphIdArray.
				at := rangeOffsets + 2*i + ro + 2*(c-start)
				if at+2 > len(sub) {
					m.glyph = make(map[rune]uint16, len(m.glyph))
					return false
				}
				if g = be16(sub[at:]); g != 0 {
					g += delta
				}
			}
			m.addRune(rune(c), g)
		}
	}
	return true
}

// stemV measures the vertical stem of "l", which in a sans-serif is just the stem. Fonts
// carry no stem width of their own, and viewers use /StemV only to pick a substitute
// weight, so an honest measurement beats a guessed constant.
func stemV(sf *sfnt.Font, b *sfnt.Buffer, m *metrics, ppem fixed.Int26_6) float64 {
	g, ok := m.glyph['l']
	if !ok {
		return 80
	}
	bounds, _, err := sf.GlyphBounds(b, sfnt.GlyphIndex(g), ppem, font.HintingNone)
	if err != nil {
		return 80
	}
	return math.Round(units(bounds.Max.X-bounds.Min.X) * 1000 / m.upem)
}

func units(v fixed.Int26_6) float64 { return float64(v) / 64 }

// glyphFor maps a rune to the glyph shown for it: its own, a space for white space the font
// lacks (tabs, line separators), or the visible fallback "?", so that a letter the font
// lacks is seen to be missing rather than silently dropped. Only invisible format
// characters the font lacks (zero-width space and joiners, direction marks, BOM) are
// skipped: ok is false for them.
func (m *metrics) glyphFor(r rune) (g uint16, ok bool) {
	if g, ok := m.glyph[r]; ok {
		return g, true
	}
	if unicode.IsSpace(r) {
		return m.space, true
	}
	if unicode.Is(unicode.Cf, r) {
		return 0, false
	}
	return m.fallback, true
}

// Width returns the advance width of text at size, in points (text space units at a font
// size of size). It measures the NFC form, exactly as Encode will show it.
func (f *Face) Width(text string, size float64) float64 {
	m := f.mustLoad()
	var w int64
	for _, r := range nfc(text) {
		if g, ok := m.glyphFor(r); ok {
			w += int64(m.advance[g])
		}
	}
	return float64(w) * size / m.upem
}

// Ascent is the height above the baseline of the font's tallest letters at size, in points.
func (f *Face) Ascent(size float64) float64 { m := f.mustLoad(); return m.ascent * size / m.upem }

// Descent is the depth below the baseline at size, in points, as a positive number.
func (f *Face) Descent(size float64) float64 { m := f.mustLoad(); return -m.descent * size / m.upem }

// CapHeight is the height of flat capital letters at size, in points — what to centre on when
// a line of text sits in a box.
func (f *Face) CapHeight(size float64) float64 {
	m := f.mustLoad()
	return m.capHeight * size / m.upem
}

// Name is the PostScript name of the face, e.g. "GoRegular".
func (f *Face) Name() string { return f.mustLoad().name }

// Has reports whether the face has a glyph of its own for r (after NFC, a precomposed letter
// such as "ë" is one rune). Runes it lacks are shown as "?".
func (f *Face) Has(r rune) bool { _, ok := f.mustLoad().glyph[r]; return ok }
