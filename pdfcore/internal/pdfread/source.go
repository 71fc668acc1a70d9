package pdfread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// buffer holds the file's bytes as the reader sees them: one slice as long as the file,
// indexed by file offset, so that every offset the parsers compute is an index into it.
//
// When the file comes as a []byte the slice is that slice, complete. When it comes from an
// io.ReaderAt (in the browser: the page's ArrayBuffer, which the WASM must not copy whole —
// DESIGN.md, "Reading"), the slice starts as untouched memory and a page is read into it
// the first time the reader looks at it; memory never written costs nothing (the OS, or
// the WASM engine, backs it only when touched). Opening a 50 MB file with a few large
// streams then reads a few pages around the cross-reference data and the objects used.
//
// The invariant that keeps that correct: no byte of data is looked at before it was read.
// Every access goes through upto (or span, or one of the helpers below that grow a window
// until what they parse ends inside it); nothing else in the package touches data.
type buffer struct {
	data []byte
	size int64
	src  io.ReaderAt // nil when data is complete

	mu        sync.Mutex
	filled    []uint64 // one bit per page read
	err       error    // the first read error; later reads are not tried
	reads     int      // ReadAt calls made (tests and the bench count them)
	readBytes int64    // bytes read
}

// pageSize is the unit of reading. Small, because the reader mostly wants a few dozen bytes
// at scattered offsets (object headers, dictionaries); neighbouring pages are read together.
const pageSize = 4 << 10

// lookback is how many bytes before an offset a parser may look at (tokenStart reads the
// byte before a token).
const lookback = 16

func completeBuffer(data []byte) *buffer {
	return &buffer{data: data, size: int64(len(data))}
}

// poisonUnread, when set by a test, fills the memory of a lazily read file with it before
// anything is read, so that a parser looking at a byte never read sees garbage instead of
// zeros (which PDF counts as white space) and the test comparing with a complete buffer
// fails.
var poisonUnread byte

func lazyBuffer(src io.ReaderAt, size int64) (*buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrNotPDF, size)
	}
	if size > maxFileSize {
		return nil, fmt.Errorf("%w: the file has %d bytes, more than the %d this reader accepts", ErrLimit, size, int64(maxFileSize))
	}
	b := &buffer{data: make([]byte, size), size: size, src: src,
		filled: make([]uint64, (size+pageSize*64-1)/(pageSize*64))}
	if poisonUnread != 0 {
		for i := range b.data {
			b.data[i] = poisonUnread
		}
	}
	return b, nil
}

// maxFileSize bounds a lazily read file: the buffer is reserved whole (untouched), and a
// size from a hostile caller must not reserve more than a browser tab has.
const maxFileSize = 1 << 40

// upto returns data up to end (clamped to the file), having read [off-lookback, end).
// Parsers starting at off may look at any index of the result from off-lookback on.
func (b *buffer) upto(off, end int64) []byte {
	end = min(end, b.size)
	if b.src != nil && off < end {
		b.read(max(off-lookback, 0), end)
	}
	return b.data[:end]
}

// span returns data[off:end] read, clamped to the file.
func (b *buffer) span(off, end int64) []byte {
	off = max(0, min(off, b.size))
	return b.upto(off, end)[off:]
}

// all returns the whole file, read.
func (b *buffer) all() []byte { return b.upto(0, b.size) }

// read makes sure [off, end) is in data: it reads each run of missing pages with one ReadAt.
func (b *buffer) read(off, end int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	first, last := off/pageSize, (end-1)/pageSize
	for p := first; p <= last; {
		if b.has(p) {
			p++
			continue
		}
		q := p
		for q+1 <= last && !b.has(q+1) {
			q++
		}
		b.fetch(p, q)
		p = q + 1
	}
}

func (b *buffer) has(p int64) bool { return b.filled[p/64]&(1<<(p%64)) != 0 }

// fetch reads pages p..q. After a read error the pages stay unread and hold zeros: parsers
// then see white space where the file had bytes and fail on their own, and Open and Object
// report b.err instead of what they concluded.
func (b *buffer) fetch(p, q int64) {
	if b.err != nil {
		return
	}
	from, to := p*pageSize, min((q+1)*pageSize, b.size)
	b.reads++
	b.readBytes += to - from
	n, err := b.src.ReadAt(b.data[from:to], from)
	if n < int(to-from) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		clear(b.data[from:to])
		b.err = fmt.Errorf("%w: reading bytes %d to %d: %w", ErrRead, from, to, err)
		return
	}
	for i := p; i <= q; i++ {
		b.filled[i/64] |= 1 << (i % 64)
	}
}

// prefetch reads the pages holding [o, o+n) for every offset o, in as few reads as it can:
// runs of wanted pages separated by at most gap unwanted ones are read as one.
func (b *buffer) prefetch(offsets []int64, n int64) {
	if b.src == nil || len(offsets) == 0 {
		return
	}
	pages := int64(len(b.filled)) * 64
	want := make([]uint64, len(b.filled))
	for _, o := range offsets {
		if o < 0 || o >= b.size {
			continue
		}
		for p := max(o-lookback, 0) / pageSize; p <= min(o+n, b.size-1)/pageSize && p < pages; p++ {
			want[p/64] |= 1 << (p % 64)
		}
	}
	const gap = 4
	start, last := int64(-1), int64(-1)
	flush := func() {
		if start >= 0 {
			b.read(start*pageSize, min((last+1)*pageSize, b.size))
		}
	}
	for w, word := range want {
		for word != 0 {
			p := int64(w)*64 + int64(bits.TrailingZeros64(word))
			word &= word - 1
			if start >= 0 && p-last <= gap {
				last = p
				continue
			}
			flush()
			start, last = p, p
		}
	}
	flush()
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
	// upto returns the text up to end (clamped), with [off-lookback, end) readable.
	upto(off, end int64) []byte
	length() int64
}

func (b *buffer) length() int64 { return b.size }

// plainText is text already in memory.
type plainText []byte

func (t plainText) upto(_, end int64) []byte { return t[:max(0, min(end, int64(len(t))))] }
func (t plainText) length() int64            { return int64(len(t)) }

// grow runs parse on windows of t that start at off and grow (first bytes, then eight
// times more each round) until the offset where parse stopped lies margin bytes inside the
// window, or the window reaches the end of t. Parsers of unbounded text (white space, a
// search) thus never mistake a window's end for the end of the file.
func grow(t text, off, first int64, parse func(data []byte) (stop int64)) {
	const margin = 16
	for w := firstWindow(first); ; w *= 8 {
		data := t.upto(off, off+w)
		stop := parse(data)
		if stop+margin <= int64(len(data)) || int64(len(data)) == t.length() {
			return
		}
	}
}

// skipSpaceIn is skipSpace over t, reading as far as the white space goes.
func skipSpaceIn(t text, off int64) (at int64) {
	grow(t, off, 256, func(data []byte) int64 { at = skipSpace(data, off); return at })
	return at
}

// skipSpace is skipSpace over the file, reading as far as the white space goes.
func (b *buffer) skipSpace(off int64) int64 { return skipSpaceIn(b, off) }

// skipSpace2 is skipSpace2 over the file.
func (b *buffer) skipSpace2(off int64) (at int64) {
	grow(b, off, 256, func(data []byte) int64 { at = skipSpace2(data, off); return at })
	return at
}

// hasKeyword is hasKeyword over the file.
func (b *buffer) hasKeyword(off int64, kw string) bool {
	return hasKeyword(b.upto(off, off+int64(len(kw))+1), off, kw)
}

// objectHeader is objectHeader over the file.
func (b *buffer) objectHeader(off int64) (num, gen, next int64, ok bool) {
	grow(b, off, 64, func(data []byte) int64 {
		num, gen, next, ok = objectHeader(data, off)
		return next
	})
	return num, gen, next, ok
}

// index returns the offset of the first pat at or after off, or -1.
func (b *buffer) index(off int64, pat string) int64 {
	for w := firstWindow(4 << 10); ; w *= 8 {
		data := b.upto(off, off+w)
		if off > int64(len(data)) {
			return -1
		}
		if i := bytes.Index(data[off:], []byte(pat)); i >= 0 {
			return off + int64(i)
		}
		if int64(len(data)) == b.size {
			return -1
		}
	}
}
