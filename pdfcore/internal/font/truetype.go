package font

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Tables the subset keeps. ISO 32000-1 9.9 asks for glyf, head, hhea, hmtx, loca and maxp,
// plus cvt, fpgm and prep when the glyphs' hinting instructions use them — the Go fonts are
// hinted, and a hinting rasterizer (FreeType in poppler and mupdf) runs those programs, so
// they stay (about 4 KB). gasp and OS/2 are tiny and keep Windows' and macOS' font loaders
// content; cmap, post and name are rebuilt small. Kerning and layout tables are not needed:
// positions come from the PDF's /W array and the content stream.
var keptAsIs = []string{"OS/2", "cvt ", "fpgm", "prep", "gasp", "hhea", "maxp"}

// subsetProgram builds a TrueType program in which only the given glyphs (plus .notdef and
// the components of composite glyphs) keep their outlines. Glyph IDs stay what they were —
// unused glyf entries are emptied and loca rebuilt — so the PDF can use /CIDToGIDMap
// /Identity and no glyph reference inside the font needs rewriting. cmap maps the runes
// used to their glyphs, for tools that extract the font from the PDF.
func (m *metrics) subsetProgram(used []uint16, cmap map[rune]uint16) ([]byte, error) {
	head, glyf, loca := m.tables["head"], m.tables["glyf"], m.loca
	keep := make([]bool, m.numGlyphs)
	keep[0] = true // .notdef: viewers draw it for codes the font cannot show
	work := append([]uint16{0}, used...)
	for len(work) > 0 {
		g := work[len(work)-1]
		work = work[:len(work)-1]
		if int(g) >= m.numGlyphs {
			return nil, fmt.Errorf("font: glyph %d out of range", g)
		}
		keep[g] = true
		parts, err := components(glyf[loca[g]:loca[g+1]])
		if err != nil {
			return nil, fmt.Errorf("font: glyph %d: %w", g, err)
		}
		for _, p := range parts {
			if int(p) >= m.numGlyphs {
				return nil, fmt.Errorf("font: glyph %d uses missing component %d", g, p)
			}
			if !keep[p] {
				work = append(work, p)
			}
		}
	}

	var newGlyf []byte
	offsets := make([]uint32, m.numGlyphs+1)
	for g := range m.numGlyphs {
		offsets[g] = uint32(len(newGlyf))
		if keep[g] {
			newGlyf = append(newGlyf, glyf[loca[g]:loca[g+1]]...)
			// 4-byte alignment is what the spec recommends; it also keeps the short
			// loca format (offsets/2) exact.
			for len(newGlyf)%4 != 0 {
				newGlyf = append(newGlyf, 0)
			}
		}
	}
	offsets[m.numGlyphs] = uint32(len(newGlyf))
	newHead := append([]byte(nil), head...)
	var newLoca []byte
	if len(newGlyf) <= 0x1FFFE {
		binary.BigEndian.PutUint16(newHead[50:], 0)
		newLoca = make([]byte, 2*len(offsets))
		for i, o := range offsets {
			binary.BigEndian.PutUint16(newLoca[2*i:], uint16(o/2))
		}
	} else {
		binary.BigEndian.PutUint16(newHead[50:], 1)
		newLoca = make([]byte, 4*len(offsets))
		for i, o := range offsets {
			binary.BigEndian.PutUint32(newLoca[4*i:], o)
		}
	}

	tables := make([]fontTable, 0, 5+len(m.shared))
	tables = append(tables,
		fontTable{tag: "head", data: newHead},
		fontTable{tag: "loca", data: newLoca},
		fontTable{tag: "glyf", data: newGlyf},
		fontTable{tag: "hmtx", data: subsetHmtx(m.tables["hmtx"], int(be16(m.tables["hhea"][34:])), keep)},
		fontTable{tag: "cmap", data: buildCmap(cmap)})
	return writeFont(append(tables, m.shared...)), nil
}

// sharedTables returns the tables every subset of the face carries unchanged — those kept
// as they are, post without glyph names and the names the licence asks for — with their
// checksums, made once when the face is parsed.
func sharedTables(tables map[string][]byte) []fontTable {
	shared := []fontTable{summedTable("post", postV3(tables["post"]))}
	for _, tag := range keptAsIs {
		if t, ok := tables[tag]; ok {
			shared = append(shared, summedTable(tag, t))
		}
	}
	if name := subsetName(tables["name"]); name != nil {
		shared = append(shared, summedTable("name", name))
	}
	return shared
}

// readLoca returns numGlyphs+1 byte offsets into glyf, checked to be in order and in range.
func readLoca(loca []byte, format int16, numGlyphs, glyfLen int) ([]uint32, error) {
	width := 2
	if format == 1 {
		width = 4
	}
	if len(loca) < width*(numGlyphs+1) {
		return nil, fmt.Errorf("font: loca truncated")
	}
	out := make([]uint32, numGlyphs+1)
	for i := range out {
		if width == 2 {
			out[i] = uint32(be16(loca[2*i:])) * 2
		} else {
			out[i] = be32(loca[4*i:])
		}
		if (i > 0 && out[i] < out[i-1]) || out[i] > uint32(glyfLen) {
			return nil, fmt.Errorf("font: loca entry %d out of order or range", i)
		}
	}
	return out, nil
}

// Composite glyph flags (TrueType 'glyf' table).
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// components lists the glyphs a composite glyph is built from; simple and empty glyphs have
// none. Accented letters in the Go fonts are composites of base letter and accent.
func components(g []byte) ([]uint16, error) {
	if len(g) < 10 || int16(be16(g)) >= 0 {
		return nil, nil
	}
	var parts []uint16
	p := g[10:]
	for {
		if len(p) < 4 {
			return nil, fmt.Errorf("composite glyph truncated")
		}
		flags := be16(p)
		parts = append(parts, be16(p[2:]))
		n := 4 + 2
		if flags&argsAreWords != 0 {
			n = 4 + 4
		}
		switch {
		case flags&haveScale != 0:
			n += 2
		case flags&haveXYScale != 0:
			n += 4
		case flags&haveTwoByTwo != 0:
			n += 8
		}
		if len(p) < n {
			return nil, fmt.Errorf("composite glyph truncated")
		}
		p = p[n:]
		if flags&moreComponents == 0 {
			return parts, nil
		}
	}
}

// subsetHmtx zeroes the metrics of glyphs the subset dropped. The table keeps its size so
// glyph IDs stay valid; the runs of zeros cost almost nothing once deflated.
func subsetHmtx(hmtx []byte, numHMetrics int, keep []bool) []byte {
	out := make([]byte, len(hmtx))
	for g, k := range keep {
		if !k {
			continue
		}
		if g < numHMetrics {
			if 4*g+4 <= len(hmtx) {
				copy(out[4*g:4*g+4], hmtx[4*g:])
			}
		} else if at := 4*numHMetrics + 2*(g-numHMetrics); at+2 <= len(hmtx) {
			copy(out[at:at+2], hmtx[at:])
		}
	}
	// Glyphs past numHMetrics share the last advance width, so it must survive.
	if numHMetrics > 0 && 4*numHMetrics <= len(hmtx) {
		copy(out[4*numHMetrics-4:4*numHMetrics-2], hmtx[4*numHMetrics-4:])
	}
	return out
}

// postV3 keeps the post header (italic angle, underline, fixed pitch) and drops the glyph
// names: PDF viewers address glyphs by ID here, and the names are 5 KB.
func postV3(post []byte) []byte {
	out := make([]byte, 32)
	copy(out, post)
	binary.BigEndian.PutUint32(out, 0x00030000)
	return out
}

// subsetName keeps the Windows English names a font loader looks for (family, style, full
// and PostScript name) together with the copyright notice and the licence text (IDs 0 and
// 13): the Go fonts' BSD licence asks that binary redistributions carry them.
func subsetName(name []byte) []byte {
	if len(name) < 6 {
		return nil
	}
	count, storage := int(be16(name[2:])), int(be16(name[4:]))
	type rec struct {
		id  uint16
		str []byte
	}
	var recs []rec
	for i := range count {
		r := name[6+12*i:]
		if 6+12*i+12 > len(name) {
			break
		}
		platform, enc, lang, id := be16(r), be16(r[2:]), be16(r[4:]), be16(r[6:])
		length, off := int(be16(r[8:])), int(be16(r[10:]))
		if platform != 3 || enc != 1 || lang != 0x409 || (id > 6 && id != 13) {
			continue
		}
		if storage+off+length > len(name) {
			continue
		}
		recs = append(recs, rec{id, name[storage+off : storage+off+length]})
	}
	if len(recs) == 0 {
		return nil
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].id < recs[j].id })
	head := 6 + 12*len(recs)
	out := make([]byte, head)
	binary.BigEndian.PutUint16(out[2:], uint16(len(recs)))
	binary.BigEndian.PutUint16(out[4:], uint16(head))
	for i, r := range recs {
		e := out[6+12*i:]
		binary.BigEndian.PutUint16(e, 3)
		binary.BigEndian.PutUint16(e[2:], 1)
		binary.BigEndian.PutUint16(e[4:], 0x409)
		binary.BigEndian.PutUint16(e[6:], r.id)
		binary.BigEndian.PutUint16(e[8:], uint16(len(r.str)))
		binary.BigEndian.PutUint16(e[10:], uint16(len(out)-head))
		out = append(out, r.str...)
	}
	return out
}
