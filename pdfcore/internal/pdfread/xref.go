package pdfread

import (
	"bytes"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// EntryKind says where an object lives.
type EntryKind uint8

const (
	Free       EntryKind = iota // not in use
	InFile                      // uncompressed, at Offset
	Compressed                  // inside object stream Stream at Index
)

// Entry is one cross-reference entry.
type Entry struct {
	Kind   EntryKind
	Offset int64 // InFile: byte offset of "num gen obj"
	Gen    int
	Stream int // Compressed: object number of the object stream
	Index  int // Compressed: index inside it
}

// SectionKind is the form of one cross-reference section, which an incremental update must
// repeat (a table after a table, a stream after a stream).
type SectionKind uint8

const (
	Table  SectionKind = iota // classic "xref" table
	Stream                    // cross-reference stream (PDF 1.5)
	Hybrid                    // table whose trailer has /XRefStm
)

func (k SectionKind) String() string {
	return [...]string{"table", "stream", "hybrid"}[k]
}

// Section is one cross-reference section: what one save of the file defined.
type Section struct {
	Offset  int64 // where "xref" or the xref stream object starts
	Kind    SectionKind
	Trailer types.Dict
	Prev    int64 // -1 when there is none
	// Entries holds the objects this section lists, in-use and free.
	Entries map[int]Entry
	// StreamObj is the xref stream's own object number (Stream and Hybrid).
	StreamObj int
	// End is the offset just past this section's trailer and its "%%EOF" line, or -1 when
	// the section has no %%EOF of its own (the first-page section of a linearized file).
	End int64
}

const maxSections = 4096

// startxrefWindow is how far from the end findStartXref looks: producers may append junk
// after %%EOF, so further back than the usual 1 KB, but not through the whole file.
const startxrefWindow = 64 << 10

// findStartXref finds the offset named by the last "startxref" of the file; tail holds the
// file's last startxrefWindow bytes (or all of it), from offset base.
func findStartXref(tail []byte, base, size int64) (int64, error) {
	from := max(int64(len(tail))-startxrefWindow, 0)
	i := bytes.LastIndex(tail[from:], []byte("startxref"))
	if i < 0 {
		return 0, damagedXref("no startxref keyword near the end of the file")
	}
	off, _, ok := readUint(tail, from+int64(i)+int64(len("startxref")))
	if !ok {
		return 0, damagedXref("startxref is not followed by an offset")
	}
	if off <= 0 || off >= size {
		return 0, damagedXref("startxref offset %d is outside the file (%d bytes)", off, size)
	}
	return off, nil
}

// readSections follows startxref and the /Prev chain, newest section first.
func (f *File) readSections(start int64) error {
	seen := map[int64]bool{}
	off := start
	for off >= 0 {
		if seen[off] {
			return damagedXref("the /Prev chain loops back to offset %d", off)
		}
		if len(seen) >= maxSections {
			return fmt.Errorf("%w: more than %d cross-reference sections", ErrLimit, maxSections)
		}
		seen[off] = true
		s, err := f.readSection(off)
		if err != nil {
			return err
		}
		f.Sections = append(f.Sections, s)
		off = s.Prev
	}
	return nil
}

func (f *File) readSection(off int64) (*Section, error) {
	at := f.buf.skipSpace(off)
	if w, base := f.buf.upto(at, plus(at, 1)); !tokenStart(w, at-base) {
		return nil, damagedXref("offset %d points into the middle of a token, not at a cross-reference section", off)
	}
	var s *Section
	var err error
	switch {
	case f.buf.hasKeyword(at, "xref"):
		s, err = f.readTable(off, at+4)
	case at < f.buf.size && isDigit(f.buf.byteAt(at)):
		s, err = f.readXRefStream(off)
	default:
		return nil, damagedXref("offset %d holds neither an xref table nor an xref stream", off)
	}
	if err != nil {
		return nil, err
	}
	s.End = f.sectionEnd(off)
	return s, nil
}

// readTable parses a classic table starting after the "xref" keyword.
func (f *File) readTable(secOff, off int64) (*Section, error) {
	s := &Section{Offset: secOff, Kind: Table, Prev: -1, Entries: map[int]Entry{}}
	// The table is read through a window of the file that grows as the rows go by. A row
	// or header that ends near the window's edge is read again from a larger window, so
	// that the edge is never taken for the end of a number or of the file. Offsets are
	// absolute; data[i] is the byte at base+i.
	window := firstWindow(64 << 10)
	data, base := f.buf.upto(off, off+window)
	widen := func(start, stop int64) bool {
		end := base + int64(len(data))
		if stop+16 <= end || end == f.buf.size {
			return false
		}
		window *= 2
		data, base = f.buf.upto(start, start+window)
		return true
	}
	for {
		var first, count int64
		var ok, trailer bool
		for {
			at := base + skipSpace(data, off-base)
			if trailer = hasKeyword(data, at-base, "trailer"); trailer {
				if widen(off, at+int64(len("trailer"))) {
					continue
				}
				off = at
				break
			}
			var next int64
			first, next, ok = readUint(data, at-base)
			if ok {
				count, next, ok = readUint(data, next)
			}
			if next += base; !widen(off, next) {
				if !ok {
					off = at
				} else {
					off = next
				}
				break
			}
		}
		if trailer {
			off += int64(len("trailer"))
			break
		}
		if !ok {
			return nil, damagedXref("bad subsection header in the xref table at offset %d", off)
		}
		if count > f.buf.size/18 || first > maxObjects || count > maxObjects-first {
			return nil, damagedXref("xref subsection %d+%d is larger than the file allows", first, count)
		}
		for i := int64(0); i < count; i++ {
			var o, g, at int64
			for {
				var ok1, ok2 bool
				var rel int64
				o, rel, ok1 = readUint(data, off-base)
				g, rel, ok2 = readUint(data, rel)
				rel = skipSpace(data, rel)
				ok = ok1 && ok2 && rel < int64(len(data))
				if at = base + rel; !widen(off, at) {
					break
				}
			}
			if !ok {
				return nil, damagedXref("bad entry %d of the xref table at offset %d", first+i, off)
			}
			num := int(first + i)
			switch c := data[at-base]; c {
			case 'n':
				s.Entries[num] = Entry{Kind: InFile, Offset: o, Gen: int(g)}
			case 'f':
				s.Entries[num] = Entry{Kind: Free, Gen: int(g)}
			default:
				return nil, damagedXref("entry %d of the xref table has type %q", num, c)
			}
			off = at + 1
		}
	}
	trailer, _, err := f.parseDictAt(off, -1)
	if err != nil {
		return nil, damagedXref("unreadable trailer after the xref table at %d: %v", secOff, err)
	}
	s.Trailer = trailer
	if p := trailer.Int64Entry("Prev"); p != nil {
		s.Prev = *p
	}
	if x := trailer.Int64Entry("XRefStm"); x != nil {
		s.Kind = Hybrid
		hs, err := f.readXRefStream(*x)
		if err != nil {
			return nil, err
		}
		s.StreamObj = hs.StreamObj
		// In a hybrid file the table keeps pre-1.5 readers working; objects that only the
		// stream knows (those in object streams) are listed there, often as free in the
		// table. In-use table entries win, the stream fills the rest.
		for num, e := range hs.Entries {
			if t, ok := s.Entries[num]; !ok || t.Kind == Free {
				s.Entries[num] = e
			}
		}
	}
	return s, nil
}

// readXRefStream parses a cross-reference stream object at off.
func (f *File) readXRefStream(off int64) (*Section, error) {
	num, _, _, ok := f.buf.objectHeader(off)
	if !ok {
		return nil, damagedXref("offset %d holds no object header for the xref stream", off)
	}
	sd, err := f.parseStreamAt(int(num), off)
	if err != nil {
		return nil, damagedXref("xref stream at %d: %v", off, err)
	}
	if t := sd.Type(); t == nil || *t != "XRef" {
		return nil, damagedXref("the object at %d is not an xref stream", off)
	}
	s := &Section{Offset: off, Kind: Stream, Trailer: sd.Dict, Prev: -1, StreamObj: int(num), Entries: map[int]Entry{}}
	if p := sd.Prev(); p != nil {
		s.Prev = *p
	}
	w, err := intArray(sd.W(), 3)
	if err != nil {
		return nil, damagedXref("xref stream at %d: /W %v", off, err)
	}
	size := sd.Size()
	if size == nil {
		return nil, damagedXref("xref stream at %d has no /Size", off)
	}
	index := []int{0, *size}
	if a := sd.Index(); a != nil {
		if index, err = intArray(a, -1); err != nil || len(index)%2 != 0 {
			return nil, damagedXref("xref stream at %d: bad /Index", off)
		}
	}
	// Each width must be 0..8 on its own: a negative one would slice rows backwards
	// (found by the malformed-input suite: /W [-1 4 2] panicked).
	for _, x := range w {
		if x < 0 || x > 8 {
			return nil, damagedXref("xref stream at %d: bad /W widths %v", off, w)
		}
	}
	rowLen := w[0] + w[1] + w[2]
	if rowLen <= 0 {
		return nil, damagedXref("xref stream at %d: bad /W widths %v", off, w)
	}
	// /W and /Index say how many bytes the rows take; the stream is decoded only that far.
	// Decoding it whole let a small compressed stream inflate to the decode limit (a
	// decompression bomb cost about 900 MB of heap before the limit stopped it).
	rows := 0
	for i := 0; i < len(index); i += 2 {
		first, count := index[i], index[i+1]
		if first < 0 || count < 0 || first > maxObjects || count > maxObjects-first || rows > maxObjects-count {
			return nil, damagedXref("xref stream at %d: /Index subsection %d+%d is beyond the %d objects a PDF may have", off, first, count, maxObjects)
		}
		rows += count
	}
	need := int64(rows) * int64(rowLen)
	if need > maxDecoded {
		return nil, fmt.Errorf("%w: xref stream at %d lists %d entries (%d bytes), more than %d bytes", ErrLimit, off, rows, need, maxDecoded)
	}
	content, err := f.decodePrefix(sd, int(num), need)
	if err != nil {
		return nil, damagedXref("xref stream at %d cannot be decoded: %v", off, err)
	}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		first, count := index[i], index[i+1]
		for j := 0; j < count; j++ {
			if pos+rowLen > len(content) {
				return nil, damagedXref("xref stream at %d is shorter than its /Index says", off)
			}
			row := content[pos : pos+rowLen]
			pos += rowLen
			typ := int64(1) // a zero-width type field means "in use" (ISO 32000 7.5.8.2)
			if w[0] > 0 {
				typ = be(row[:w[0]])
			}
			f2 := be(row[w[0] : w[0]+w[1]])
			f3 := be(row[w[0]+w[1]:])
			n := first + j
			switch typ {
			case 0:
				s.Entries[n] = Entry{Kind: Free, Gen: int(f3)}
			case 1:
				s.Entries[n] = Entry{Kind: InFile, Offset: f2, Gen: int(f3)}
			case 2:
				s.Entries[n] = Entry{Kind: Compressed, Stream: int(f2), Index: int(f3)}
			default:
				// Unknown types are to be ignored as references to the null object.
			}
		}
	}
	return s, nil
}

func be(b []byte) int64 {
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

func intArray(a types.Array, n int) ([]int, error) {
	if a == nil || (n >= 0 && len(a) != n) {
		return nil, fmt.Errorf("wants %d integers", n)
	}
	out := make([]int, len(a))
	for i, o := range a {
		v, ok := o.(types.Integer)
		if !ok {
			return nil, fmt.Errorf("entry %d is not an integer", i)
		}
		out[i] = int(v)
	}
	return out, nil
}

// sectionEnd finds the end of the revision whose section starts at off: just past the first
// "%%EOF" line after it. It returns -1 when "startxref 0" (a linearized first-page section)
// or nothing is found.
func (f *File) sectionEnd(off int64) int64 {
	i := f.buf.index(off, "startxref")
	if i < 0 {
		return -1
	}
	target, at, ok := f.buf.readUint(i + int64(len("startxref")))
	if !ok || target == 0 {
		// "startxref 0" closes the first-page section of some linearized files: it is
		// not the end of a revision.
		return -1
	}
	at = f.buf.skipSpace2(at)
	if !bytes.HasPrefix(f.buf.span(at, at+5), []byte("%%EOF")) {
		return -1
	}
	at += 5
	w, base := f.buf.upto(at, at+2)
	return base + skipEOL(w, at-base)
}

// skipSpace2 skips white space but not comments ("%%EOF" is one).
func skipSpace2(data []byte, off int64) int64 {
	for off < int64(len(data)) && isSpace(data[off]) {
		off++
	}
	return off
}
