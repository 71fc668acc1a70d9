package pdfread

// Regression tests for what the malformed-input suite (pdfcore/malformed_test.go, cases
// from pdfcore/internal/malformed) found in the reader. Each names the generated case that
// first showed the problem.

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

var synthetic = sync.OnceValue(func() []malformed.Case { return malformed.Cases(nil) })

func generated(t *testing.T, name string) []byte {
	t.Helper()
	for _, c := range synthetic() {
		if c.Name == name {
			return c.Bytes()
		}
	}
	t.Fatalf("the generator has no case %q", name)
	return nil
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileOpen: structures that panicked, or that the reader accepted although they
// make a file nobody can read, are refused with the right sentinel.
func TestHostileOpen(t *testing.T) {
	for _, c := range []struct {
		name string
		want error
	}{
		{"xref-stream/w-negative", ErrDamagedXref},        // panicked: slice bounds out of range [-1:]
		{"xref-stream/index-max-int64", ErrDamagedXref},   // object numbers overflowed
		{"xref-stream/index-huge-first", ErrDamagedXref},  // object numbers beyond any file
		{"xref-stream/index-huge-count", ErrDamagedXref},  // decoded up to the limit first
		{"xref-table/size-huge", ErrDamagedXref},          // Prepare then wrote unreadable numbers
		{"xref-table/size-max-int64", ErrDamagedXref},     // … and overflowed the next number
		{"xref-stream/size-huge", ErrDamagedXref},         // the same through an xref stream
		{"xref-table/first-overflows", ErrDamagedXref},    //
		{"startxref/into-object@classic", ErrDamagedXref}, //
		{"xref-stream/predictor-huge-columns", ErrDamagedXref},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := generated(t, c.name)
			_, err := Open(data)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
		})
	}
}

// TestStreamLengthOverflow: a /Length near 2^63 overflowed start+length and panicked in
// skipSpace2 ("length/max-int64@content-stream").
func TestStreamLengthOverflow(t *testing.T) {
	for _, name := range []string{"length/max-int64@content-stream", "length/huge@content-stream", "length/negative@content-stream"} {
		f, err := Open(generated(t, name))
		if err != nil {
			t.Fatalf("%s: Open: %v", name, err)
		}
		if _, err := f.Object(4); !errors.Is(err, ErrDamagedObject) {
			t.Fatalf("%s: Object(4) = %v, want a damaged object", name, err)
		}
	}
}

// TestDecompressionBombs: a few KB that inflate to a GiB cost about 900 MB of heap before
// the 256 MB decode limit stopped them; xref streams are now decoded only as far as their
// rows and other streams to 32 MB.
func TestDecompressionBombs(t *testing.T) {
	for _, c := range []struct {
		name string
		obj  int // object to read after Open; 0: Open alone
	}{
		{"flate-bomb/xref-stream-1GiB-double-flate", 0},
		{"flate-bomb/xref-stream-1GiB", 0},
		{"flate-bomb/xref-stream-hex-flate", 0},
		{"flate-bomb/object-stream-1GiB", 1},
		{"flate-bomb/object-stream-header-255MiB", 1},
	} {
		data := generated(t, c.name)
		var err error
		n := allocated(func() {
			var f *File
			if f, err = Open(data); err == nil && c.obj > 0 {
				_, err = f.Object(c.obj)
			}
		})
		if n > 160<<20 {
			t.Errorf("%s: allocated %d MB", c.name, n>>20)
		}
		if c.obj > 0 && err == nil {
			t.Errorf("%s: the bomb's object was read", c.name)
		}
	}
}

// TestObjectStreamN: /N must fit the header before /First; a lying /N made the reader
// allocate tables for millions of entries.
func TestObjectStreamN(t *testing.T) {
	for _, name := range []string{"object-stream/n-larger", "object-stream/n-huge", "object-stream/n-negative"} {
		f, err := Open(generated(t, name))
		if err != nil {
			t.Fatalf("%s: Open: %v", name, err)
		}
		if _, err := f.Object(1); !errors.Is(err, ErrDamagedObject) {
			t.Errorf("%s: Object(1) = %v, want a damaged object", name, err)
		}
	}
	// A header that really lists 200,000 objects is fine.
	f, err := Open(generated(t, "object-stream/n-200000-tiny-header"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Object(1); err != nil {
		t.Fatalf("Object(1) of a large but honest object stream: %v", err)
	}
}

// TestHugeObjects: arrays of millions of elements are refused before pdfcpu builds them
// (a 15 MB array took over 2 s and 300 MB), and an array that never closes is refused
// without growing the parse window to 16 MB.
func TestHugeObjects(t *testing.T) {
	for _, c := range []struct {
		name string
		want error
	}{
		{"nesting/array-7000000-zeros@catalog", ErrLimit},
		{"nesting/array-2500000-refs@catalog", ErrLimit},
		{"nesting/array-unbalanced@catalog", ErrDamagedObject},
		{"nesting/dict-unbalanced@catalog", ErrDamagedObject},
	} {
		f, err := Open(generated(t, c.name))
		if err != nil {
			t.Fatalf("%s: Open: %v", c.name, err)
		}
		start := time.Now()
		if _, err := f.Object(1); !errors.Is(err, c.want) {
			t.Errorf("%s: Object(1) = %v, want %v", c.name, err, c.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", c.name, d)
		}
	}
	// A million-element array is still read, in one parse.
	f, err := Open(generated(t, "nesting/array-1000000-flat@catalog"))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := f.Object(1); err != nil || o == nil {
		t.Fatalf("the catalog with a million-element array: %v", err)
	}
}

// TestScanExtent: the measuring scan agrees with the syntax pdfcpu parses.
func TestScanExtent(t *testing.T) {
	for _, c := range []struct {
		in     string
		end    int // -1: not ok
		tokens int
	}{
		{"[1 2 3] tail", 7, 5},
		{"<< /A [1 (a]b) <5d> ] /B << >> >> x", 33, 11},
		{"[(a\\)b) (c(d)e)]", 16, 4},
		{"[ % a comment with ] and >>\n 1 ]", 32, 3},
		{"<</Length 5>>stream", 13, 4},
		{"[1 2", -1, 0},
		{"[<414", -1, 0},
		{"[(abc]", -1, 0},
		{"<41>", -1, 0},
		{"12 0 R", -1, 0},
		{"]", -1, 0},
	} {
		end, tokens, ok := scanExtent([]byte(c.in), 0, 100)
		if (c.end < 0) == ok || ok && (int(end) != c.end || tokens != c.tokens) {
			t.Errorf("scanExtent(%q) = %d, %d, %v; want %d, %d", c.in, end, tokens, ok, c.end, c.tokens)
		}
	}
	if _, tokens, ok := scanExtent([]byte("[1 2 3 4 5]"), 0, 3); ok || tokens <= 3 {
		t.Errorf("the token limit was not applied: %d tokens, ok %v", tokens, ok)
	}
}

// TestTokenStart: an offset into the middle of a number is not an object header or a
// section; "12 0 obj" read one byte late was accepted as object 2.
func TestTokenStart(t *testing.T) {
	data := []byte("%PDF-1.7\n12 0 obj\n<< >>\nendobj\n")
	at := int64(bytes.Index(data, []byte("12 0 obj")))
	if n, _, _, ok := objectHeader(data, at); !ok || n != 12 {
		t.Fatalf("the header at its offset: %d %v", n, ok)
	}
	if _, _, _, ok := objectHeader(data, at-1); !ok {
		t.Fatal("the header from the line end before it was refused")
	}
	if n, _, _, ok := objectHeader(data, at+1); ok {
		t.Fatalf("one byte into the number read object %d", n)
	}
	for _, off := range []int64{-5, int64(len(data)), 1 << 40} {
		if _, _, _, ok := objectHeader(data, off); ok {
			t.Fatalf("offset %d outside the data gave a header", off)
		}
	}
	// startxref one byte into the "12 0 obj" of an xref stream.
	f := &File{buf: completeBuffer(data)}
	if _, err := f.readSection(at + 1); !errors.Is(err, ErrDamagedXref) || !strings.Contains(err.Error(), "middle of a token") {
		t.Fatalf("a section one byte into an object number: %v", err)
	}
}

// TestPageNumbers: one walk maps a flat tree of 20,000 pages (Page(1…n) took over 2 s), and
// a tree that loops or shares a node stops with an error instead of walking forever.
func TestPageNumbers(t *testing.T) {
	f, err := Open(generated(t, "page-tree/20000-pages-field-on-last"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := f.PageNumbers(20000)
	if err != nil || len(m) != 20000 || m[10+19999] != 20000 {
		t.Fatalf("%d pages mapped, last = %d, %v", len(m), m[10+19999], err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("mapping 20,000 pages took %v", d)
	}
	for _, name := range []string{"page-tree/two-node-loop", "page-tree/kids-self", "page-tree/100-levels"} {
		f, err := Open(generated(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := f.PageNumbers(1 << 30); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	f, err = Open(generated(t, "page-tree/100000-kids-same-page"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.PageNumbers(100000); err != nil || m[3] != 100000 {
		t.Fatalf("a page listed 100,000 times: %v %v", m[3], err)
	}
}

// TestFreedObjectStaysFree: the merged index keeps no free entries, and an object that a
// later revision frees stays free even though an older one defines it.
func TestFreedObjectStaysFree(t *testing.T) {
	base := minimal(1)
	x := bytes.LastIndex(base, []byte("xref\n0"))
	upd := fmt.Sprintf("xref\n3 1\n0000000000 00001 f \ntrailer\n<< /Size 4 /Root 1 0 R /Prev %d >>\n", x)
	data := append(bytes.Clone(base), upd...)
	data = append(data, fmt.Sprintf("startxref\n%d\n%%%%EOF\n", len(base))...)
	f, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Entry(3); ok {
		t.Fatal("the freed object is in the index")
	}
	if _, ok := f.Entry(0); ok {
		t.Fatal("the free-list head is in the index")
	}
	if o, err := f.Object(3); o != nil || err != nil {
		t.Fatalf("the freed object reads as %v, %v", o, err)
	}
	revs := f.Revisions()
	if len(revs) != 2 || revs[1].Defined[3].Kind != Free || revs[0].Defined[3].Kind != InFile {
		t.Fatalf("revisions: %+v", revs)
	}
}
