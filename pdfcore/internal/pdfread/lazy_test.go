package pdfread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

// corpus is every PDF of testdata and every generated malformed case (the big ones when
// big is set), by name.
func corpus(t *testing.T, big bool) map[string][]byte {
	out := map[string][]byte{"minimal": minimal(3)}
	files, _ := filepath.Glob("../../../testdata/pdf/*.pdf")
	var srcs []malformed.Source
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		out["testdata/"+filepath.Base(fn)] = data
		for _, s := range malformed.SourceFiles {
			if s == filepath.Base(fn) {
				srcs = append(srcs, malformed.Source{Name: s, Data: data})
			}
		}
	}
	if len(srcs) != len(malformed.SourceFiles) {
		t.Fatalf("found %d of the %d malformed sources", len(srcs), len(malformed.SourceFiles))
	}
	for _, c := range malformed.Cases(srcs) {
		if c.Big && !big {
			continue
		}
		out["malformed/"+c.Name] = c.Bytes()
	}
	return out
}

// describe is everything the reader says about a file: its structure, every object in the
// merged index and every version of every object the revisions define, the pages, the
// revisions and the spans of uncompressed objects. Errors count as results.
func describe(f *File, err error) string {
	if err != nil {
		return "open: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "header %q size %d objects %d trailer %v\n", f.Header, f.Size(), f.NumObjects(), f.Trailer)
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "section %d %v prev %d end %d obj %d entries %v trailer %v\n", s.Offset, s.Kind, s.Prev, s.End, s.StreamObj, sortedEntries(s.Entries), s.Trailer)
	}
	nums := make([]int, 0, f.NumObjects())
	for num := range f.index {
		nums = append(nums, num)
	}
	sort.Ints(nums)
	for _, num := range nums {
		o, err := f.Object(num)
		fmt.Fprintf(&b, "object %d: %s %v\n", num, objectText(o), err)
		e, _ := f.Entry(num)
		start, end, ok := f.ObjectSpan(e)
		fmt.Fprintf(&b, "  span %d %d %v\n", start, end, ok)
	}
	n, err := f.PageCount()
	fmt.Fprintf(&b, "pages %d %v\n", n, err)
	for i := 1; i <= min(n, 50); i++ {
		p, err := f.Page(i)
		fmt.Fprintf(&b, "page %d: %+v %v\n", i, p, err)
	}
	revs := f.Revisions()
	for i, r := range revs {
		fmt.Fprintf(&b, "revision %d end %d trailer %v\n", i, r.End, r.Trailer)
		for _, num := range sortedNums(r.Defined) {
			e := r.Defined[num]
			o, err := f.ObjectAt(num, e, func(s int) (Entry, bool) { x, ok := r.Defined[s]; return x, ok })
			fmt.Fprintf(&b, "  %d %+v: %s %v\n", num, e, objectText(o), err)
		}
	}
	return b.String()
}

func objectText(o types.Object) string {
	if o == nil {
		return "null"
	}
	s := o.String()
	if sd, ok := o.(types.StreamDict); ok {
		s += fmt.Sprintf(" raw %x", sd.Raw)
	}
	return s
}

func sortedNums(m map[int]Entry) []int {
	nums := make([]int, 0, len(m))
	for n := range m {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

func sortedEntries(m map[int]Entry) string {
	var b strings.Builder
	for _, n := range sortedNums(m) {
		fmt.Fprintf(&b, "%d:%v ", n, m[n])
	}
	return b.String()
}

// TestLazyReadsAsComplete: a file read lazily through an io.ReaderAt gives exactly what the
// same bytes give in one slice — the same errors, structure, objects, pages and revisions —
// for the corpus and every malformed case, once with the reader's usual windows and once
// with windows that start at one byte (so no window's edge is taken for the end of a token
// or of the file, and no offset is off by a window's base); and reading never changes the
// source.
func TestLazyReadsAsComplete(t *testing.T) {
	t.Run("pages", func(t *testing.T) { lazyReadsAsComplete(t, false) })
	t.Run("tiny-windows", func(t *testing.T) { lazyReadsAsComplete(t, true) })
}

// lazyReadsAsComplete compares; with tiny, the lazy reader's windows start at one byte.
func lazyReadsAsComplete(t *testing.T, tiny bool) {
	files := corpus(t, !testing.Short())
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	opened := 0
	for _, name := range names {
		data := files[name]
		want := describe(Open(data))
		before := bytes.Clone(data)
		tinyWindows = tiny
		lf, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
		got := describe(lf, err)
		tinyWindows = false
		if got != want {
			t.Errorf("%s: read lazily it differs:\n%s", name, firstDifference(want, got))
		}
		if !bytes.Equal(before, data) {
			t.Fatalf("%s: reading changed the source", name)
		}
		if err == nil {
			opened++
		}
	}
	if opened < 100 {
		t.Fatalf("only %d of %d files opened: the comparison covered too little", opened, len(names))
	}
	t.Logf("%d files compared, %d opened", len(names), opened)
}

func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < min(len(al), len(bl)); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d\n complete: %.300s\n lazy:     %.300s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}

// bigStreamPDF is a valid PDF with one page whose content stream holds n bytes.
func bigStreamPDF(n int) []byte {
	content := string(bytes.Repeat([]byte("0 0 m 1 1 l S\n"), n/14)) + strings.Repeat("\n", n%14)
	return classic("1.7",
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", n, content))
}

// TestLazyReadsLittle: opening a 30 MB file and reading its page reads a few pages of it,
// not the 30 MB stream, in a few reads.
func TestLazyReadsLittle(t *testing.T) {
	data := bigStreamPDF(30 << 20)
	f, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Page(1); err != nil {
		t.Fatal(err)
	}
	reads, n := f.ReadStats()
	t.Logf("opened and read page 1 of %d bytes: %d reads, %d bytes", len(data), reads, n)
	if n > 256<<10 || reads > 20 {
		t.Fatalf("read %d bytes in %d reads to open a file and find its page", n, reads)
	}
	// The stream's data is read when the stream object is parsed, and then once.
	if _, err := f.StreamContent(4); err != nil {
		t.Fatal(err)
	}
	if _, n2 := f.ReadStats(); n2 < 30<<20 || n2 > 30<<20+512<<10 {
		t.Fatalf("after reading the 30 MB stream %d bytes were read", n2)
	}
	all, err := f.Bytes()
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("Bytes of a lazily read file differ from the file (%v)", err)
	}
}

// TestLazyOpenOfManyObjects: opening a file of many small objects checks every object's
// header (on nearly every page of it) without keeping those pages or allocating the file's
// size: a 20 MB file of 20,000 objects kept all of it in the page cache, and so in the
// WASM core's memory, which never shrinks.
func TestLazyOpenOfManyObjects(t *testing.T) {
	const pages = 10000
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	kids := make([]string, pages)
	line := "BT /F1 9 Tf 40 800 Td (" + strings.Repeat("dense text ", 8) + ") Tj ET\n"
	content := strings.Repeat(line, 20)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 3+2*i)
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>", 4+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] /MediaBox [0 0 595 842] >>", pages, strings.Join(kids, " "))
	data := classic("1.7", objs...)
	var f *File
	var err error
	alloc := allocated(func() { f, err = OpenReaderAt(bytes.NewReader(data), int64(len(data))) })
	if err != nil {
		t.Fatal(err)
	}
	reads, n := f.ReadStats()
	cached := len(f.buf.pages) * pageSize
	t.Logf("%d bytes, %d objects: open read %d bytes in %d reads, keeps %d KB of them, allocated %d KB", len(data), f.NumObjects(), n, reads, cached>>10, alloc>>10)
	// The cross-reference table, 400 KB of it, is kept; the objects' pages are not.
	if cached > len(data)/10 {
		t.Errorf("open keeps %d KB of the file", cached>>10)
	}
	if alloc > uint64(len(data))/2 {
		t.Errorf("open allocated %d KB for a file of %d KB", alloc>>10, len(data)>>10)
	}
	if max := len(data)/headerChunk + 20; reads > max {
		t.Errorf("open made %d reads, more than %d", reads, max)
	}
	// A damaged offset among them is still found, and named the same way a complete
	// file's is.
	x := bytes.LastIndex(data, []byte("\nxref\n")) + 1
	entry := x + len("xref\n0 20003\n") + 20*5000
	bad := bytes.Clone(data)
	copy(bad[entry:], fmt.Sprintf("%010d", 12345))
	_, lazyErr := OpenReaderAt(bytes.NewReader(bad), int64(len(bad)))
	_, completeErr := Open(bad)
	if !errors.Is(lazyErr, ErrDamagedXref) || completeErr == nil || lazyErr.Error() != completeErr.Error() {
		t.Fatalf("a wrong offset: lazily %v, complete %v", lazyErr, completeErr)
	}
}

// failingReader fails every read that touches [from, to).
type failingReader struct {
	r        io.ReaderAt
	from, to int64
}

var errDisk = errors.New("disk gone")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// TestLazyReadError: a failed read is reported as a read error (not as damage it caused),
// at open and when an object is parsed later.
func TestLazyReadError(t *testing.T) {
	data := bigStreamPDF(1 << 20)
	size := int64(len(data))
	_, err := OpenReaderAt(failingReader{bytes.NewReader(data), size - 10, size}, size)
	if !errors.Is(err, ErrRead) || !errors.Is(err, errDisk) {
		t.Fatalf("the tail unreadable: %v, want ErrRead wrapping the cause", err)
	}
	// The stream's middle is only read when object 4 is parsed.
	f, err := OpenReaderAt(failingReader{bytes.NewReader(data), 512 << 10, 513 << 10}, size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Object(4); !errors.Is(err, ErrRead) {
		t.Fatalf("object 4 over an unreadable range: %v, want ErrRead", err)
	}
	if _, err := f.Bytes(); !errors.Is(err, ErrRead) {
		t.Fatalf("Bytes over an unreadable range: %v, want ErrRead", err)
	}
	if _, err := OpenReaderAt(bytes.NewReader(data), -1); err == nil {
		t.Fatal("a negative size was accepted")
	}
}

// TestOffsetsNearTheLimit: the buffer's helpers answer at once, and say "nothing there", for
// offsets near 2^63, which a file may name (/Prev, /XRefStm, xref entries of older
// revisions) and where off+window would overflow.
func TestOffsetsNearTheLimit(t *testing.T) {
	data := minimal(1)
	lazy, _ := lazyBuffer(bytes.NewReader(data), int64(len(data)))
	for _, b := range []*buffer{completeBuffer(data), lazy} {
		for _, off := range []int64{math.MaxInt64, math.MaxInt64 - 100, math.MaxInt64 - 5000, 1 << 62} {
			done := make(chan string)
			go func() {
				at := b.skipSpace(off)
				_, _, _, ok := b.objectHeader(off)
				_, _, uok := b.readUint(off)
				done <- fmt.Sprint(at >= b.size, ok, uok, b.hasKeyword(off, "xref"), b.index(off, "endobj"), b.byteAt(off))
			}()
			select {
			case got := <-done:
				if got != "true false false false -1 0" {
					t.Errorf("offset %d (lazy %v): %s", off, b.src != nil, got)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("offset %d (lazy %v): no answer in 5 s", off, b.src != nil)
			}
		}
	}
}
