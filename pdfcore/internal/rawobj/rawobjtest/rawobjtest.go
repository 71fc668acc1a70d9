// Package rawobjtest writes the smallest complete PDF around objects made by the producers, so
// their tests can hand real files to outside tools (pdftotext, qpdf, mutool) without waiting
// for the real page writer.
package rawobjtest

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

// Doc collects objects for a one-page document. Objects 1–4 are the catalog, the page tree,
// the page and its content stream; Alloc hands out the numbers after them.
type Doc struct {
	next int
	objs []rawobj.Object
}

// New starts a document.
func New() *Doc { return &Doc{next: 5} }

// Alloc returns a fresh object number; pass it as the producers' alloc function.
func (d *Doc) Alloc() int {
	n := d.next
	d.next++
	return n
}

// Add records objects made by a producer.
func (d *Doc) Add(objs ...rawobj.Object) { d.objs = append(d.objs, objs...) }

// Bytes writes the file: a page of the given size whose /Resources dictionary is resources
// (including << >>) and whose content stream is content.
func (d *Doc) Bytes(width, height float64, resources string, content []byte) []byte {
	all := append([]rawobj.Object{
		{Num: 1, Body: []byte("<< /Type /Catalog /Pages 2 0 R >>")},
		{Num: 2, Body: []byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")},
		{Num: 3, Body: fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources %s /Contents 4 0 R >>", width, height, resources)},
		{Num: 4, Body: rawobj.Stream("", content, true)},
	}, d.objs...)
	sort.Slice(all, func(i, j int) bool { return all[i].Num < all[j].Num })

	var b bytes.Buffer
	// The comment with high bytes tells transfer tools the file is binary.
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	size := all[len(all)-1].Num + 1
	offsets := make([]int, size)
	for _, o := range all {
		if offsets[o.Num] != 0 {
			panic(fmt.Sprintf("rawobjtest: object %d written twice", o.Num))
		}
		offsets[o.Num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", o.Num)
		b.Write(o.Body)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n", size)
	for n := range size {
		// Each entry is exactly 20 bytes, ending in space + LF (ISO 32000-1 7.5.4).
		if offsets[n] == 0 {
			b.WriteString("0000000000 65535 f \n")
			continue
		}
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, xref)
	return b.Bytes()
}
