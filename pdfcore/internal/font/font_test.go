package font

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/image/font/sfnt"
)

// signaturePage is the text of a typical signature page: headings, three slots with names in
// three scripts, capacities, times and a certificate subject.
var signaturePage = []string{
	"Signatures", "Signature page", "Document: Framework agreement 2026-014",
	"A", "Zoë Ångström-Łukasiewicz", "Managing director, on behalf of Ørsted Überprüfung NV",
	"Signed with itsme on 2026-03-14 10:42:07 UTC",
	"CN=Zoë Ångström-Łukasiewicz, SERIALNUMBER=90021512345, C=BE",
	"B", "Αλέξανδρος Παπαδόπουλος", "Proxy holder",
	"C", "Анна Ковальчук, Ёлка", "Witness", "Amount: 1 250,00 €",
}

func TestFacesParse(t *testing.T) {
	for _, f := range []*Face{Regular(), Bold()} {
		m, err := f.load()
		if err != nil {
			t.Fatal(err)
		}
		if m.numGlyphs < 700 || len(m.glyph) < 700 {
			t.Errorf("%s: %d glyphs, %d runes mapped", m.name, m.numGlyphs, len(m.glyph))
		}
	}
	if got := Regular().Name(); got != "GoRegular" {
		t.Errorf("Name = %q", got)
	}
	if got := Bold().Name(); got != "Go-Bold" {
		t.Errorf("Name = %q", got)
	}
}

func TestMetrics(t *testing.T) {
	f := Regular()
	m := f.mustLoad()
	// An advance in font units scales linearly with the size.
	want := float64(m.advance[m.glyph['A']]) * 12 / m.upem
	if got := f.Width("A", 12); got != want {
		t.Errorf("Width(A, 12) = %v, want %v", got, want)
	}
	if got, want := f.Width("AA", 12), 2*want; got != want {
		t.Errorf("Width(AA) = %v, want %v", got, want)
	}
	// Decomposed and precomposed forms measure alike (NFC).
	if a, b := f.Width("Zoe\u0308", 10), f.Width("Zoë", 10); a != b {
		t.Errorf("decomposed %v != precomposed %v", a, b)
	}
	if a, d, c := f.Ascent(10), f.Descent(10), f.CapHeight(10); !(a > c && c > 5 && d > 1 && d < a) {
		t.Errorf("ascent %v descent %v cap height %v", a, d, c)
	}
}

func TestEncode(t *testing.T) {
	f := Regular()
	m := f.mustLoad()
	s := f.NewSubset()
	hex := func(rs ...rune) string {
		var b strings.Builder
		b.WriteByte('<')
		for _, r := range rs {
			g, _ := m.glyphFor(r)
			b.WriteString(strings.ToUpper(strconv.FormatInt(int64(g)+0x10000, 16)[1:]))
		}
		b.WriteByte('>')
		return b.String()
	}
	for _, tc := range []struct{ in, want string }{
		{"Zoë", hex('Z', 'o', 'ë')},
		{"Zoe\u0308", hex('Z', 'o', 'ë')}, // NFC
		{"a\u200Bb", hex('a', 'b')},       // zero-width space is invisible by design
		{"a\tb", hex('a', ' ', 'b')},      // white space shows as a space
		{"漢字", hex('?', '?')},             // runes the font lacks show as "?"
		{"a\x00b", hex('a', '?', 'b')},    // so do control characters
		{"", "<>"},
	} {
		if got := string(s.Encode(tc.in)); got != tc.want {
			t.Errorf("Encode(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := s.text[m.glyph['?']]; got != "?" {
		t.Errorf("fallback glyph extracts as %q", got)
	}
	if got := s.text[m.glyph['ë']]; got != "ë" {
		t.Errorf("ë extracts as %q", got)
	}
}

// streamData returns the decoded data of a stream object body and its dictionary.
func streamData(t *testing.T, body []byte) (dict string, data []byte) {
	t.Helper()
	i := bytes.Index(body, []byte("\nstream\n"))
	j := bytes.LastIndex(body, []byte("\nendstream"))
	if i < 0 || j < i {
		t.Fatalf("not a stream: %.80q", body)
	}
	dict, raw := string(body[:i]), body[i+8:j]
	if n := regexp.MustCompile(`/Length (\d+)`).FindStringSubmatch(dict); n == nil || n[1] != strconv.Itoa(len(raw)) {
		t.Fatalf("/Length in %q does not match %d data bytes", dict, len(raw))
	}
	if !strings.Contains(dict, "/FlateDecode") {
		return dict, raw
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	data, err = io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return dict, data
}

func counter(start int) func() int {
	n := start - 1
	return func() int { n++; return n }
}

func TestObjects(t *testing.T) {
	s := Regular().NewSubset()
	for _, line := range signaturePage {
		s.Encode(line)
	}
	num, objs, err := s.Objects(counter(10))
	if err != nil {
		t.Fatal(err)
	}
	if num != 10 || len(objs) != 5 {
		t.Fatalf("font %d, %d objects", num, len(objs))
	}
	type0, cid, desc := string(objs[0].Body), string(objs[1].Body), string(objs[2].Body)
	for _, want := range []string{"/Subtype /Type0", "/Encoding /Identity-H", "/DescendantFonts [11 0 R]", "/ToUnicode 14 0 R"} {
		if !strings.Contains(type0, want) {
			t.Errorf("Type0 font lacks %s: %s", want, type0)
		}
	}
	for _, want := range []string{"/Subtype /CIDFontType2", "/Registry (Adobe) /Ordering (Identity) /Supplement 0", "/CIDToGIDMap /Identity", "/FontDescriptor 12 0 R", "/W [", "/DW "} {
		if !strings.Contains(cid, want) {
			t.Errorf("CIDFont lacks %s: %s", want, cid)
		}
	}
	tag := regexp.MustCompile(`/FontName /([A-Z]{6})\+GoRegular `).FindStringSubmatch(desc)
	if tag == nil || !strings.Contains(type0, "/BaseFont /"+tag[1]+"+GoRegular") {
		t.Errorf("subset name missing or inconsistent: %s / %s", desc, type0)
	}
	for _, want := range []string{"/Flags 4", "/FontBBox [", "/ItalicAngle 0", "/Ascent ", "/Descent -", "/CapHeight ", "/StemV ", "/FontFile2 13 0 R"} {
		if !strings.Contains(desc, want) {
			t.Errorf("descriptor lacks %s: %s", want, desc)
		}
	}
	dict, program := streamData(t, objs[3].Body)
	if !strings.Contains(dict, "/Length1 "+strconv.Itoa(len(program))) {
		t.Errorf("/Length1 does not match %d: %s", len(program), dict)
	}
	t.Logf("typical signature page: %d glyphs, FontFile2 %d bytes deflated (%d bytes TrueType), font 149 KB",
		s.Glyphs(), len(objs[3].Body), len(program))
	if s.Glyphs() < 60 || len(objs[3].Body) > 20_000 {
		t.Errorf("%d glyphs in a FontFile2 of %d bytes; want a subset of a few KB", s.Glyphs(), len(objs[3].Body))
	}
	_, cmap := streamData(t, objs[4].Body)
	for _, want := range []string{"/CMapName /Adobe-Identity-UCS", "begincodespacerange\n<0000> <FFFF>", "beginbfchar", "<03B1>"} {
		if !strings.Contains(string(cmap), want) {
			t.Errorf("ToUnicode lacks %q", want)
		}
	}

	// The same glyphs give the same bytes, whatever order the text came in.
	s2 := Regular().NewSubset()
	for i := len(signaturePage) - 1; i >= 0; i-- {
		s2.Encode(signaturePage[i])
	}
	_, objs2, err := s2.Objects(counter(10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		if !bytes.Equal(objs[i].Body, objs2[i].Body) {
			t.Errorf("object %d differs between runs", i)
		}
	}
}

func TestSubsetProgram(t *testing.T) {
	s := Regular().NewSubset()
	s.Encode("Åb€")
	_, objs, err := s.Objects(counter(1))
	if err != nil {
		t.Fatal(err)
	}
	_, program := streamData(t, objs[3].Body)
	if sum := checksum(program); sum != 0xB1B0AFBA {
		t.Errorf("file checksum %#x, want 0xB1B0AFBA", sum)
	}
	tables, err := readTables(program)
	if err != nil {
		t.Fatal(err)
	}
	n := int(be16(program[4:]))
	for i := range n {
		rec := program[12+16*i:]
		tag := string(rec[:4])
		data := append([]byte(nil), tables[tag]...)
		if tag == "head" {
			copy(data[8:12], []byte{0, 0, 0, 0})
		}
		if got := be32(rec[4:]); got != checksum(data) {
			t.Errorf("table %q checksum %#x, want %#x", tag, got, checksum(data))
		}
	}
	for _, tag := range []string{"head", "hhea", "maxp", "loca", "glyf", "hmtx", "cvt ", "fpgm", "prep", "cmap", "post", "name", "OS/2"} {
		if tables[tag] == nil {
			t.Errorf("subset lacks table %q", tag)
		}
	}

	// sfnt reads the subset back: the glyphs used keep their outlines (the composite Å
	// through its components), others are empty, and the rebuilt cmap finds them.
	f, err := sfnt.Parse(program)
	if err != nil {
		t.Fatal(err)
	}
	var b sfnt.Buffer
	for r, wantOutline := range map[rune]bool{'Å': true, 'b': true, '€': true, 'c': false} {
		g := Regular().mustLoad().glyph[r]
		segs, err := f.LoadGlyph(&b, sfnt.GlyphIndex(g), 2048<<6, nil)
		if err != nil {
			t.Fatalf("%c: %v", r, err)
		}
		if (len(segs) > 0) != wantOutline {
			t.Errorf("%c: %d segments, want outline %v", r, len(segs), wantOutline)
		}
		if got, _ := f.GlyphIndex(&b, r); wantOutline && got != sfnt.GlyphIndex(g) {
			t.Errorf("subset cmap maps %c to %d, want %d", r, got, g)
		}
	}
	if name, err := f.Name(&b, sfnt.NameIDLicense); err != nil || !strings.Contains(name, "Redistribution") {
		t.Errorf("licence text not kept in the name table: %q %v", name, err)
	}
}

// A fresh face used from many goroutines at once parses once and measures alike (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	f := &Face{ttf: Regular().ttf}
	want := Regular().Width(signaturePage[4], 11)
	done := make(chan float64)
	for range 8 {
		go func() {
			s := f.NewSubset()
			s.Encode(signaturePage[4])
			done <- f.Width(signaturePage[4], 11)
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("Width = %v, want %v", got, want)
		}
	}
}

// TestCmapMatchesSfnt: the cmap read segment by segment maps every rune of the Basic
// Multilingual Plane exactly as sfnt's own lookup does.
func TestCmapMatchesSfnt(t *testing.T) {
	for _, f := range []*Face{Regular(), Bold()} {
		m := f.mustLoad()
		sf, err := sfnt.Parse(f.ttf)
		if err != nil {
			t.Fatal(err)
		}
		var b sfnt.Buffer
		want := 0
		for r := rune(0); r <= 0xFFFF; r++ {
			g, err := sf.GlyphIndex(&b, r)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := m.glyph[r]
			shown := g != 0 && r >= 0x20 && !unicode.IsControl(r)
			if shown {
				want++
			}
			if ok != shown || (ok && got != uint16(g)) {
				t.Fatalf("%s: U+%04X maps to %d (%v), sfnt says %d", m.name, r, got, ok, g)
			}
		}
		if len(m.glyph) != want || want < 700 {
			t.Errorf("%s: %d runes mapped, sfnt maps %d", m.name, len(m.glyph), want)
		}
	}
}
