package font

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"unicode/utf16"
)

// buildCmap writes a cmap table with one Windows Unicode BMP subtable (format 4) for the
// runes the subset shows. The PDF itself never consults it (CIDToGIDMap is Identity), but a
// font extracted from the document, or a strict font loader, then still finds a usable cmap.
func buildCmap(runes map[rune]uint16) []byte {
	keys := make([]rune, 0, len(runes))
	for r := range runes {
		if r <= 0xFFFE {
			keys = append(keys, r)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	type segment struct{ start, end, delta uint16 }
	var segs []segment
	for _, r := range keys {
		// A segment is a run of consecutive runes whose glyph IDs are consecutive too, so
		// one idDelta maps the whole run.
		delta := runes[r] - uint16(r)
		if n := len(segs); n > 0 && segs[n-1].end+1 == uint16(r) && segs[n-1].delta == delta {
			segs[n-1].end++
			continue
		}
		segs = append(segs, segment{uint16(r), uint16(r), delta})
	}
	segs = append(segs, segment{0xFFFF, 0xFFFF, 1}) // the required final segment
	n := len(segs)
	pow := 1
	log := 0
	for pow*2 <= n {
		pow *= 2
		log++
	}
	sub := make([]byte, 14+8*n+2)
	binary.BigEndian.PutUint16(sub[0:], 4)
	binary.BigEndian.PutUint16(sub[2:], uint16(len(sub)))
	binary.BigEndian.PutUint16(sub[6:], uint16(2*n))
	binary.BigEndian.PutUint16(sub[8:], uint16(2*pow))
	binary.BigEndian.PutUint16(sub[10:], uint16(log))
	binary.BigEndian.PutUint16(sub[12:], uint16(2*n-2*pow))
	ends, starts := sub[14:], sub[14+2*n+2:]
	deltas, rangeOffsets := starts[2*n:], starts[4*n:]
	for i, s := range segs {
		binary.BigEndian.PutUint16(ends[2*i:], s.end)
		binary.BigEndian.PutUint16(starts[2*i:], s.start)
		binary.BigEndian.PutUint16(deltas[2*i:], s.delta)
		binary.BigEndian.PutUint16(rangeOffsets[2*i:], 0)
	}
	head := []byte{0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0, 12} // version 0, one subtable (3,1) at 12
	return append(head, sub...)
}

// toUnicode writes the /ToUnicode CMap: each glyph code to the text it stands for, so text
// extraction and screen readers get the original runes back (ISO 32000-1 9.10.3).
func toUnicode(text map[uint16]string) []byte {
	codes := make([]uint16, 0, len(text))
	for c := range text {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	// At most 100 entries per block, as the CMap syntax requires.
	for len(codes) > 0 {
		chunk := codes[:min(100, len(codes))]
		codes = codes[len(chunk):]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, c := range chunk {
			fmt.Fprintf(&b, "<%04X> <", c)
			for _, u := range utf16.Encode([]rune(text[c])) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}
