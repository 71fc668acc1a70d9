package pdfread

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// classic writes a PDF of the given objects (bodies, numbered from 1, object 1 the
// catalog) with a classic cross-reference table.
func classic(version string, objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-" + version + "\n")
	offs := make([]int, len(objects))
	for i, body := range objects {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return b.Bytes()
}

// minimal writes a small classic PDF with n pages.
func minimal(n int) []byte {
	kids := ""
	for i := 0; i < n; i++ {
		kids += fmt.Sprintf("%d 0 R ", 3+i)
	}
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] /MediaBox [0 0 612 792] >>", n, kids)}
	for i := 0; i < n; i++ {
		objs = append(objs, "<< /Type /Page /Parent 2 0 R >>")
	}
	return classic("1.4", objs...)
}

func TestOpenMinimal(t *testing.T) {
	data := minimal(3)
	f, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.PageCount(); err != nil || n != 3 {
		t.Fatalf("pages = %d, %v; want 3", n, err)
	}
	p, err := f.Page(3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ref != 5 || len(p.Media) != 4 {
		t.Fatalf("page 3 = object %d media %v; want object 5 with the inherited MediaBox", p.Ref, p.Media)
	}
	if _, err := f.Page(4); err == nil {
		t.Fatal("page 4 of 3 was found")
	}
	if got := f.RevisionEnds(); len(got) != 1 || got[0] != int64(len(data)) {
		t.Fatalf("revision ends %v, want [%d]", got, len(data))
	}
}

// TestRefuses checks that broken structure is refused with the right sentinel and that the
// input is not changed.
func TestRefuses(t *testing.T) {
	good := minimal(1)
	xref := bytes.LastIndex(good, []byte("xref\n0"))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotPDF},
		{"text", []byte("hello world, not a pdf at all"), ErrNotPDF},
		{"no startxref", bytes.ReplaceAll(good, []byte("startxref"), []byte("startxyz ")), ErrDamagedXref},
		{"startxref past end", []byte(strings.Replace(string(good), fmt.Sprintf("startxref\n%d", xref), "startxref\n99999", 1)), ErrDamagedXref},
		{"startxref off by 3", []byte(strings.Replace(string(good), fmt.Sprintf("startxref\n%d", xref), fmt.Sprintf("startxref\n%d", xref+3), 1)), ErrDamagedXref},
		{"object offset shifted", bytes.Replace(good, []byte("0000000009 00000 n"), []byte("0000000012 00000 n"), 1), ErrDamagedXref},
		{"circular prev", []byte(strings.Replace(string(good), "/Root 1 0 R", fmt.Sprintf("/Root 1 0 R /Prev %d", xref), 1)), ErrDamagedXref},
		{"truncated", good[:len(good)/2], ErrDamagedXref},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := bytes.Clone(c.data)
			_, err := Open(c.data)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
			if !bytes.Equal(before, c.data) {
				t.Fatal("Open changed its input")
			}
		})
	}
}

// TestCorpus opens every PDF in the repository's testdata that is not expected to fail and
// walks all its pages: the reader must read every structure the corpus covers.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/pdf/*.pdf")
	for _, fn := range files {
		name := filepath.Base(fn)
		if strings.HasPrefix(name, "fail-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(fn)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(data)
			if err != nil {
				t.Fatal(err)
			}
			n, err := f.PageCount()
			if err != nil || n < 1 {
				t.Fatalf("page count %d, %v", n, err)
			}
			for i := 1; i <= n; i++ {
				if _, err := f.Page(i); err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
			}
		})
	}
}

// FuzzOpen feeds mutated PDFs to the reader: it must return an error or a usable file,
// never panic or hang, and never change its input.
func FuzzOpen(f *testing.F) {
	f.Add(minimal(2))
	seeds, _ := filepath.Glob("../../../testdata/pdf/*.pdf")
	for _, fn := range seeds {
		if data, err := os.ReadFile(fn); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	// Each input is also read lazily through an io.ReaderAt: what the reader says must
	// not depend on how the bytes reach it.
	read := func(file *File, err error) string {
		if err != nil {
			return err.Error()
		}
		var b strings.Builder
		if n, err := file.PageCount(); err == nil && n > 0 {
			p1, err1 := file.Page(1)
			pn, errn := file.Page(n)
			fmt.Fprintf(&b, "%d %+v %v %+v %v\n", n, p1, err1, pn, errn)
		}
		for num := 0; num < 50; num++ {
			o, err := file.Object(num)
			fmt.Fprintf(&b, "%d %s %v\n", num, objectText(o), err)
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := bytes.Clone(data)
		complete := read(Open(data))
		lazy := read(OpenReaderAt(bytes.NewReader(data), int64(len(data))))
		if lazy != complete {
			t.Fatalf("read lazily the file differs:\n%s", firstDifference(complete, lazy))
		}
		if !bytes.Equal(before, data) {
			t.Fatal("Open changed its input")
		}
	})
}

// TestPageFromEitherEnd: Page(n) scans each node's kids from the end nearer to page n, so
// in every tree whose counts add up it must find the page the one full walk (PageNumbers)
// numbers n — in all the test PDFs, in the generated page trees, and in nested trees of
// uneven branches built here — and the last page of a flat tree must cost one kid.
func TestPageFromEitherEnd(t *testing.T) {
	type doc struct {
		name string
		data []byte
	}
	var docs []doc
	files, _ := filepath.Glob("../../../testdata/pdf/*.pdf")
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{filepath.Base(fn), data})
	}
	for _, c := range synthetic() {
		if strings.HasPrefix(c.Name, "page-tree/") && !strings.Contains(c.Name, "100000") {
			docs = append(docs, doc{c.Name, c.Bytes()})
		}
	}
	for _, shape := range [][]int{{1, 5, 2}, {7}, {3, 0, 4}, {1, 1, 1, 9}} {
		docs = append(docs, doc{fmt.Sprintf("nested %v", shape), nestedPages(shape)})
	}
	checked := 0
	for _, d := range docs {
		f, err := Open(d.data)
		if err != nil {
			continue
		}
		n, err := f.PageCount()
		if err != nil || n > 2000 {
			continue
		}
		nums, err := f.PageNumbers(n + 1)
		if err != nil || len(nums) != n {
			continue // a tree whose counts do not add up, or that lists a page twice
		}
		for i := 1; i <= n; i++ {
			p, err := f.Page(i)
			if err != nil {
				t.Fatalf("%s: page %d: %v", d.name, i, err)
			}
			if nums[p.Ref] != i {
				t.Fatalf("%s: Page(%d) is object %d, which the full walk numbers %d", d.name, i, p.Ref, nums[p.Ref])
			}
		}
		checked++
	}
	if checked < 60 {
		t.Fatalf("only %d documents had a consistent page tree to check", checked)
	}

	data := minimal(400)
	f, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Page(1); err != nil { // the catalog and the root, as every Page needs
		t.Fatal(err)
	}
	before := len(f.objects)
	p, err := f.Page(400)
	if err != nil || p.Ref != 2+400 {
		t.Fatalf("the last page: %+v, %v", p, err)
	}
	if parsed := len(f.objects) - before; parsed != 1 {
		t.Fatalf("finding the last of 400 pages parsed %d objects", parsed)
	}
}

// nestedPages is a page tree whose root has one intermediate node per entry of shape, each
// holding that many pages (an empty one counts 0), followed by one page of the root's own.
func nestedPages(shape []int) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var rootKids []string
	total := 0
	for _, k := range shape {
		node := len(objs) + 1
		objs = append(objs, "")
		var kids []string
		for range k {
			objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent %d 0 R >>", node))
			kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
		}
		objs[node-1] = fmt.Sprintf("<< /Type /Pages /Parent 2 0 R /Count %d /Kids [%s] >>", k, strings.Join(kids, " "))
		rootKids = append(rootKids, fmt.Sprintf("%d 0 R", node))
		total += k
	}
	objs = append(objs, "<< /Type /Page /Parent 2 0 R >>")
	rootKids = append(rootKids, fmt.Sprintf("%d 0 R", len(objs)))
	objs[1] = fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] /MediaBox [0 0 612 792] >>", total+1, strings.Join(rootKids, " "))
	return classic("1.4", objs...)
}
