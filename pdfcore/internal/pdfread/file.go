// Package pdfread reads a PDF lazily: it follows startxref and the /Prev chain, keeps the
// merged cross-reference index, and parses only the objects an operation asks for. Object
// syntax and stream filters are pdfcpu's; the reader owns where objects are. It never
// changes or copies the caller's bytes.
package pdfread

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// File is an opened PDF.
type File struct {
	buf *buffer
	// Sections are the cross-reference sections, newest first.
	Sections []*Section
	// Header is the version in the "%PDF-x.y" header.
	Header string
	// Trailer is the newest trailer (for an xref stream: its dictionary).
	Trailer types.Dict

	index map[int]Entry
	size  int

	mu      sync.Mutex
	objects map[int]types.Object
	objStms map[int64]*objStm // by the object stream's offset
	depth   int
}

// Open reads the structure of data: header, cross-reference sections and trailer. It checks
// that every in-use entry points at its own object header, so a damaged file is refused
// here rather than half-way through a signature.
func Open(data []byte) (*File, error) {
	return open(completeBuffer(data))
}

// OpenReaderAt is Open over size bytes of r, which it reads lazily: only the pages holding
// what an operation parses (cross-reference data, the objects it asks for) are read, each
// once. r must not change while the File is in use. A failed read is an error wrapping
// ErrRead.
func OpenReaderAt(r io.ReaderAt, size int64) (*File, error) {
	b, err := lazyBuffer(r, size)
	if err != nil {
		return nil, err
	}
	f, err := open(b)
	if rerr := b.readErr(); rerr != nil {
		return nil, rerr // what open concluded came from bytes it could not read
	}
	return f, err
}

func open(b *buffer) (*File, error) {
	head := b.span(0, 1024)
	hdr := bytes.Index(head, []byte("%PDF-"))
	if hdr < 0 {
		return nil, fmt.Errorf("%w: no %%PDF- header in the first 1024 bytes", ErrNotPDF)
	}
	f := &File{buf: b, objects: map[int]types.Object{}, objStms: map[int64]*objStm{}}
	f.Header = readVersion(head[hdr+5:])
	tail, base := b.upto(b.size-startxrefWindow, b.size)
	start, err := findStartXref(tail, base, b.size)
	if err != nil {
		return nil, err
	}
	if err := f.readSections(start); err != nil {
		return nil, err
	}
	f.Trailer = f.Sections[0].Trailer
	// The merged index holds the objects in use: oldest section first, each newer one
	// overriding, a free entry removing. Free entries are not stored, since a missing
	// object is already the null object: a table of a million free entries otherwise
	// cost a second map of a million entries (the malformed-input suite measured 310 MB
	// for an 18 MB file).
	inUse := 0
	for _, sec := range f.Sections {
		for _, e := range sec.Entries {
			if e.Kind != Free {
				inUse++
			}
		}
	}
	f.index = make(map[int]Entry, inUse) // at most: exactly, with one section
	for i := len(f.Sections) - 1; i >= 0; i-- {
		for num, e := range f.Sections[i].Entries {
			if e.Kind == Free {
				delete(f.index, num)
			} else {
				f.index[num] = e
			}
		}
	}
	if sz := f.Trailer.Size(); sz != nil {
		// A /Size beyond any real file would make the next update allocate object
		// numbers that no reader (this one included) accepts.
		if *sz > maxObjects {
			return nil, damagedXref("the trailer /Size %d is beyond the %d objects a PDF may have", *sz, maxObjects)
		}
		f.size = *sz
	}
	for num := range f.index {
		if num >= f.size {
			f.size = num + 1
		}
	}
	if err := f.checkOffsets(); err != nil {
		return nil, err
	}
	return f, nil
}

func readVersion(b []byte) string {
	n := 0
	for n < len(b) && n < 4 && (isDigit(b[n]) || b[n] == '.') {
		n++
	}
	return string(b[:n])
}

// checkOffsets verifies that every uncompressed in-use entry points at "num gen obj" for its
// own number. It reads a few bytes per object, not the objects.
func (f *File) checkOffsets() error {
	check := f.buf.objectHeader
	if f.buf.src != nil {
		check = f.buf.headerChecker(f.index)
	}
	// The lowest-numbered bad entry is reported, so that the same file always gives the
	// same message.
	var bad error
	badNum := -1
	for num, e := range f.index {
		if e.Kind != InFile || num == 0 || (badNum >= 0 && num > badNum) {
			continue
		}
		var err error
		if e.Offset <= 0 || e.Offset >= f.buf.size {
			err = damagedXref("object %d is listed at offset %d, outside the file", num, e.Offset)
		} else if n, _, _, ok := check(e.Offset); !ok || int(n) != num {
			err = damagedXref("object %d is not at offset %d where the cross-reference puts it", num, e.Offset)
		}
		if err != nil {
			bad, badNum = err, num
		}
	}
	return bad
}

// Bytes returns the file's bytes (not a copy; callers must not change them). A lazily read
// file is read whole first: only whole-file work (hashing, verification) should ask.
func (f *File) Bytes() ([]byte, error) {
	data := f.buf.all()
	return data, f.buf.readErr()
}

// Span returns the bytes [off, end) of the file, clamped to it (not a copy; callers must not
// change them).
func (f *File) Span(off, end int64) ([]byte, error) {
	b := f.buf.span(off, end)
	return b, f.buf.readErr()
}

// WriteRange writes the bytes [off, end) of the file to w: a sub-slice of a complete file
// in one Write, a lazily read one in chunks read straight from its source into one reused
// buffer, so that hashing a large file never holds a copy of it.
func (f *File) WriteRange(w io.Writer, off, end int64) error {
	off, end = max(0, min(off, f.buf.size)), max(0, min(end, f.buf.size))
	if off >= end {
		return nil
	}
	if whole := f.buf.complete(); whole != nil {
		_, err := w.Write(whole[off:end])
		return err
	}
	chunk := make([]byte, min(end-off, rangeChunk))
	for at := off; at < end; {
		p := chunk[:min(end-at, int64(len(chunk)))]
		if err := f.buf.readDirect(p, at); err != nil {
			return err
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		at += int64(len(p))
	}
	return nil
}

// rangeChunk is the size of WriteRange's reads: large enough that crossing into the source
// (JavaScript, in the browser) costs nothing next to hashing it, small next to a document.
const rangeChunk = 1 << 20

// ReadErr is the first error reading a lazily read file, nil when every read succeeded (and
// always for a file opened from a []byte). Whatever was concluded from the file after a
// failed read may rest on bytes that were not there: callers report this error instead.
func (f *File) ReadErr() error { return f.buf.readErr() }

// Len is the file's length in bytes.
func (f *File) Len() int64 { return f.buf.size }

// ReadStats says how much of a lazily read file was read so far: the ReadAt calls and the
// bytes they read (both 0 for a file opened from a []byte).
func (f *File) ReadStats() (reads int, bytes int64) {
	f.buf.mu.Lock()
	defer f.buf.mu.Unlock()
	return f.buf.reads, f.buf.readBytes
}

// Size is the trailer /Size: the next free object number.
func (f *File) Size() int { return f.size }

// Entry returns the merged cross-reference entry for num.
func (f *File) Entry(num int) (Entry, bool) {
	e, ok := f.index[num]
	return e, ok
}

// NumObjects is the number of objects in use in the merged index.
func (f *File) NumObjects() int { return len(f.index) }

// Object returns the object num, parsing it on first use. A free or missing object is the
// null object (nil, nil), as ISO 32000 7.3.10 says.
func (f *File) Object(num int) (types.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.object(num)
}

const maxResolveDepth = 32

func (f *File) object(num int) (types.Object, error) {
	if o, ok := f.objects[num]; ok {
		return o, nil
	}
	e, ok := f.index[num]
	if !ok || e.Kind == Free {
		return nil, nil
	}
	f.depth++
	defer func() { f.depth-- }()
	if f.depth > maxResolveDepth {
		return nil, damagedObject(num, "references nest deeper than %d", maxResolveDepth)
	}
	var o types.Object
	var err error
	switch e.Kind {
	case InFile:
		o, err = f.parseObjectAt(num, e.Offset)
	case Compressed:
		o, err = f.compressedObject(num, e)
	}
	if rerr := f.buf.readErr(); rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, err
	}
	f.objects[num] = o
	return o, nil
}

// Resolve follows an indirect reference (and chains of them) to its object.
func (f *File) Resolve(o types.Object) (types.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolve(o)
}

func (f *File) resolve(o types.Object) (types.Object, error) {
	for i := 0; i < maxResolveDepth; i++ {
		ref, ok := o.(types.IndirectRef)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = f.object(ref.ObjectNumber.Value()); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: indirect references chain deeper than %d", ErrDamagedObject, maxResolveDepth)
}

// Dict resolves o and returns it as a dictionary (a stream's dictionary counts); nil when o
// is null or not a dictionary.
func (f *File) Dict(o types.Object) (types.Dict, error) {
	r, err := f.Resolve(o)
	if err != nil {
		return nil, err
	}
	switch d := r.(type) {
	case types.Dict:
		return d, nil
	case types.StreamDict:
		return d.Dict, nil
	}
	return nil, nil
}

// StreamContent returns the decoded content of the stream object num.
func (f *File) StreamContent(num int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, err := f.object(num)
	if err != nil {
		return nil, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, damagedObject(num, "is not a stream")
	}
	return f.decode(&sd, num)
}

// RawStream returns the stream object num with its encoded bytes (a sub-slice of the file).
func (f *File) RawStream(num int) (*types.StreamDict, error) {
	o, err := f.Object(num)
	if err != nil {
		return nil, err
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, damagedObject(num, "is not a stream")
	}
	return &sd, nil
}
