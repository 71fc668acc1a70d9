package pdfread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
)

// buffer is the file's bytes as the reader sees them, through windows: upto returns the
// bytes of a range with the file offset of its first byte, and the parsers work on
// offsets relative to that.
//
// When the file comes as a []byte, a window is a sub-slice of it, starting at offset 0.
// When it comes from an io.ReaderAt (in the browser: the page's ArrayBuffer, which the WASM
// must not copy whole — DESIGN.md, "Reading"), pages of it are read the first time a window
// covers them and kept; a window is assembled from them. Opening a 50 MB file with a few
// large streams then reads a few pages around the cross-reference data and the objects
// used. (A buffer as long as the file, filled in place, cost a 50 MB clear of reused heap
// per open: 5.6 ms natively, and the memory, in WASM.)
type buffer struct {
	data []byte // the complete file, when it came as a []byte
	size int64
	src  io.ReaderAt // nil when data is complete

	mu        sync.Mutex
	pages     map[int64][]byte // page number → its bytes
	whole     []byte           // the whole file, once all() read it
	err       error            // the first read error; later reads are not tried
	reads     int              // ReadAt calls made (tests and the bench count them)
	readBytes int64            // bytes read
}

// pageSize is the unit of reading. Small, because the reader mostly wants a few dozen bytes
// at scattered offsets (object headers, dictionaries); neighbouring pages are read together.
const pageSize = 4 << 10

// lookback is how many bytes before an offset a window includes (tokenStart reads the byte
// before a token).
const lookback = 16

// directRead is the size from which span reads a range straight from the source instead
// of through pages: stream data, read once and kept by the object that holds it.
const directRead = 64 << 10

func completeBuffer(data []byte) *buffer {
	return &buffer{data: data, size: int64(len(data))}
}

func lazyBuffer(src io.ReaderAt, size int64) (*buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrNotPDF, size)
	}
	return &buffer{size: size, src: src, pages: map[int64][]byte{}}, nil
}

// upto returns the window [base, end) of the file (end clamped to it), where base is
// lookback bytes before off (or 0). Parsers starting at off may look at any byte of it.
func (b *buffer) upto(off, end int64) (window []byte, base int64) {
	end = max(0, min(end, b.size))
	if b.src == nil {
		return b.data[:end], 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.whole != nil {
		return b.whole[:end], 0
	}
	base = max(min(off, end)-lookback, 0)
	out := make([]byte, end-base)
	b.copyPages(out, base)
	return out, base
}

// span returns the bytes [off, end) of the file, clamped to it.
func (b *buffer) span(off, end int64) []byte {
	off, end = max(0, min(off, b.size)), max(0, min(end, b.size))
	if off >= end {
		return nil
	}
	if b.src != nil && end-off >= directRead {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.whole != nil {
			return b.whole[off:end]
		}
		out := make([]byte, end-off)
		if !b.readInto(out, off) {
			clear(out)
		}
		return out
	}
	w, base := b.upto(off, end)
	return w[off-base:]
}

// all returns the whole file, read.
func (b *buffer) all() []byte {
	if b.src == nil {
		return b.data
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.whole == nil {
		whole := make([]byte, b.size)
		if !b.readInto(whole, 0) {
			return whole
		}
		b.whole, b.pages = whole, nil // the pages are in it now
	}
	return b.whole
}

// complete returns the whole file when it is in memory (given as a []byte, or read whole by
// all), else nil.
func (b *buffer) complete() []byte {
	if b.src == nil {
		return b.data
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.whole
}

// readDirect reads len(p) bytes at off from the source into p, keeping nothing.
func (b *buffer) readDirect(p []byte, off int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.readInto(p, off) {
		return b.err
	}
	return nil
}

// copyPages copies the file's bytes at off into out, reading each run of missing pages
// with one ReadAt. After a read error the missing bytes are zeros: parsers then see white
// space where the file had bytes and fail on their own, and Open and Object report b.err
// instead of what they concluded.
func (b *buffer) copyPages(out []byte, off int64) {
	if len(out) == 0 {
		return
	}
	end := off + int64(len(out))
	first, last := off/pageSize, (end-1)/pageSize
	for p := first; p <= last; {
		if _, ok := b.pages[p]; ok {
			p++
			continue
		}
		q := p
		for q+1 <= last {
			if _, ok := b.pages[q+1]; ok {
				break
			}
			q++
		}
		b.readPages(p, q)
		p = q + 1
	}
	for p := first; p <= last; p++ {
		page := b.pages[p]
		at := p * pageSize
		lo, hi := max(off, at), min(end, at+int64(len(page)))
		if lo < hi {
			copy(out[lo-off:hi-off], page[lo-at:hi-at])
		}
	}
}

// readPages reads pages p..q into the cache, as one read.
func (b *buffer) readPages(p, q int64) {
	from, to := p*pageSize, min((q+1)*pageSize, b.size)
	chunk := make([]byte, to-from)
	if !b.readInto(chunk, from) {
		return
	}
	for i := p; i <= q; i++ {
		lo := (i - p) * pageSize
		b.pages[i] = chunk[lo:min(lo+pageSize, int64(len(chunk))):min(lo+pageSize, int64(len(chunk)))]
	}
}

// readInto reads len(out) bytes at off from the source; false after a read error.
func (b *buffer) readInto(out []byte, off int64) bool {
	if b.err != nil {
		return false
	}
	b.reads++
	b.readBytes += int64(len(out))
	n, err := b.src.ReadAt(out, off)
	if n < len(out) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		b.err = fmt.Errorf("%w: reading bytes %d to %d: %w", ErrRead, off, off+int64(len(out)), err)
		return false
	}
	return true
}

// headerChecker reads the object headers of the in-file entries of index, in as few
// reads as it can, and returns what objectHeader says at each of their offsets. Runs of
// headers separated by at most headerGap unwanted pages are read as one, up to
// headerChunk bytes. A run of a few pages goes to the page cache, as objects near it are
// often parsed next; a longer one — a file of many small objects, where the headers are
// on nearly every page — is read into one reused buffer and dropped, so that opening a
// 50 MB file of 50,000 objects neither keeps its 50 MB nor allocates them (it did both
// while every run was cached). A header that does not end well inside its run is read
// again the usual way, so the answers are objectHeader's, byte for byte.
func (b *buffer) headerChecker(index map[int]Entry) func(off int64) (num, gen, next int64, ok bool) {
	offsets := make([]int64, 0, len(index))
	for _, e := range index {
		if e.Kind == InFile && e.Offset > 0 && e.Offset < b.size {
			offsets = append(offsets, e.Offset)
		}
	}
	slices.Sort(offsets)
	// found[i] is the answer at offsets[i], when its run was read into scratch.
	type header struct {
		num, gen, next int64
		ok, read       bool
	}
	found := make([]header, len(offsets))
	pageOf := func(o int64) (first, last int64) {
		return max(o-lookback, 0) / pageSize, min(o+headerBytes, b.size-1) / pageSize
	}
	var scratch []byte
	for i := 0; i < len(offsets); {
		first, last := pageOf(offsets[i])
		j := i + 1
		for ; j < len(offsets); j++ {
			p, q := pageOf(offsets[j])
			if p-last > headerGap || (q-first+1)*pageSize > headerChunk {
				break
			}
			last = max(last, q)
		}
		if last-first < cachedRun {
			b.mu.Lock()
			if b.whole == nil {
				b.fillRange(first, last)
			}
			b.mu.Unlock()
			i = j
			continue // objectHeader finds these pages cached
		}
		from, to := first*pageSize, min((last+1)*pageSize, b.size)
		scratch = slices.Grow(scratch[:0], int(to-from))[:to-from]
		b.mu.Lock()
		read := b.readInto(scratch, from)
		b.mu.Unlock()
		for ; read && i < j; i++ {
			o := offsets[i]
			num, gen, next, ok := objectHeader(scratch, o-from)
			// grow's rule: an answer that stops well inside the bytes read stands.
			if next += from; next+growMargin <= to || to == b.size {
				found[i] = header{num, gen, next, ok, true}
			}
		}
		i = j
	}
	return func(off int64) (num, gen, next int64, ok bool) {
		if i, ok := slices.BinarySearch(offsets, off); ok && found[i].read {
			h := found[i]
			return h.num, h.gen, h.next, h.ok
		}
		return b.objectHeader(off)
	}
}

// Reading object headers (headerChecker): the bytes a header is read in, the unwanted pages
// that still join two runs, the longest run read at once, and the runs short enough to cache.
const (
	headerBytes = 64
	headerGap   = 4
	headerChunk = 1 << 20
	cachedRun   = 4
)

// fillRange makes sure pages p..q are cached, reading the missing ones (one read when all
// are missing).
func (b *buffer) fillRange(p, q int64) {
	missing := false
	for i := p; i <= q && !missing; i++ {
		_, ok := b.pages[i]
		missing = !ok
	}
	if !missing {
		return
	}
	b.readPages(p, q)
}

// readErr is the error of a failed read, nil when every read succeeded.
func (b *buffer) readErr() error {
	if b.src == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// tinyWindows, set by a test, makes every window that grows start at one byte, so that
// window edges fall inside every token and the code that grows windows is exercised
// everywhere.
var tinyWindows bool

// firstWindow is the size a growing window starts at.
func firstWindow(n int64) int64 {
	if tinyWindows {
		return 1
	}
	return n
}

// text is what the parsers read: the file through its buffer, or a decoded object stream.
type text interface {
	// upto returns the window [base, end) of the text (end clamped), base at most
	// lookback bytes before off.
	upto(off, end int64) (window []byte, base int64)
	length() int64
}

func (b *buffer) length() int64 { return b.size }

// plainText is text already in memory.
type plainText []byte

func (t plainText) upto(_, end int64) ([]byte, int64) {
	return t[:max(0, min(end, int64(len(t))))], 0
}
func (t plainText) length() int64 { return int64(len(t)) }

// grow runs parse on windows of t that start at off and grow (first bytes, then eight
// times more each round) until the offset where parse stopped lies growMargin bytes inside
// the window, or the window reaches the end of t. Parsers of unbounded text (white space, a
// search) thus never mistake a window's end for the end of the file. parse gets the window
// and the offset of its first byte, and returns the offset where it stopped.
func grow(t text, off, first int64, parse func(window []byte, base int64) (stop int64)) {
	for w := firstWindow(first); ; w *= 8 {
		window, base := t.upto(off, plus(off, w))
		end := base + int64(len(window))
		if stop := parse(window, base); stop+growMargin <= end || end == t.length() || w >= t.length() {
			return
		}
	}
}

// growMargin is how far inside a window a parse must stop for grow to take its answer.
const growMargin = 16

// plus is off+n, saturating instead of overflowing: offsets come from the file, and a /Prev
// near 2^63 plus a window's size must not wrap to a negative end.
func plus(off, n int64) int64 {
	if off > math.MaxInt64-n {
		return math.MaxInt64
	}
	return off + n
}

// skipSpaceIn is skipSpace over t, reading as far as the white space goes.
func skipSpaceIn(t text, off int64) (at int64) {
	grow(t, off, 256, func(w []byte, base int64) int64 { at = base + skipSpace(w, off-base); return at })
	return at
}

// skipSpace is skipSpace over the file, reading as far as the white space goes.
func (b *buffer) skipSpace(off int64) int64 { return skipSpaceIn(b, off) }

// skipSpace2 is skipSpace2 over the file.
func (b *buffer) skipSpace2(off int64) (at int64) {
	grow(b, off, 256, func(w []byte, base int64) int64 { at = base + skipSpace2(w, off-base); return at })
	return at
}

// hasKeyword is hasKeyword over the file.
func (b *buffer) hasKeyword(off int64, kw string) bool {
	w, base := b.upto(off, plus(off, int64(len(kw))+1))
	return hasKeyword(w, off-base, kw)
}

// byteAt is the byte at off, or 0 outside the file.
func (b *buffer) byteAt(off int64) byte {
	w, base := b.upto(off, plus(off, 1))
	if off < base || off-base >= int64(len(w)) {
		return 0
	}
	return w[off-base]
}

// objectHeader is objectHeader over the file.
func (b *buffer) objectHeader(off int64) (num, gen, next int64, ok bool) {
	if off < 0 || off >= b.size {
		return 0, 0, off, false
	}
	grow(b, off, 64, func(w []byte, base int64) int64 {
		num, gen, next, ok = objectHeader(w, off-base)
		next += base
		return next
	})
	return num, gen, next, ok
}

// readUint is readUint over the file.
func (b *buffer) readUint(off int64) (v, next int64, ok bool) {
	grow(b, off, 64, func(w []byte, base int64) int64 {
		v, next, ok = readUint(w, off-base)
		next += base
		return next
	})
	return v, next, ok
}

// index returns the offset of the first pat at or after off, or -1.
func (b *buffer) index(off int64, pat string) int64 {
	if off < 0 || off > b.size {
		return -1
	}
	for w := firstWindow(4 << 10); ; w *= 8 {
		window, base := b.upto(off, plus(off, w))
		if i := bytes.Index(window[off-base:], []byte(pat)); i >= 0 {
			return off + int64(i)
		}
		if base+int64(len(window)) == b.size {
			return -1
		}
	}
}
