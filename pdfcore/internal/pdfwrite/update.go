// Package pdfwrite appends one incremental update to a PDF: new and replaced objects, a
// cross-reference section of the same kind as the revision before it, and a trailer that
// chains to it with /Prev. The original bytes are never touched; the update is returned
// on its own so the caller decides whether to join it to the document.
package pdfwrite

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// Update collects the objects of one incremental update.
type Update struct {
	base *pdfread.File
	next int
	objs map[int][]byte
}

// New starts an update on top of f.
func New(f *pdfread.File) *Update {
	return &Update{base: f, next: f.Size(), objs: map[int][]byte{}}
}

// Alloc reserves a new object number.
func (u *Update) Alloc() int {
	n := u.next
	u.next++
	return n
}

// Set writes body (the text between "N G obj" and "endobj") as object num, new or
// replacing the file's version.
func (u *Update) Set(num int, body []byte) { u.objs[num] = body }

// SetObject writes a pdfcpu object (not a stream) as object num.
func (u *Update) SetObject(num int, o types.Object) { u.objs[num] = []byte(o.PDFString()) }

// Has reports whether the update already holds num.
func (u *Update) Has(num int) bool { _, ok := u.objs[num]; return ok }

// Result is a written update.
type Result struct {
	Bytes []byte
	// Offsets gives, per object, where its body starts inside Bytes.
	Offsets map[int]int
}

func (u *Update) gen(num int) int {
	if e, ok := u.base.Entry(num); ok && e.Kind == pdfread.InFile {
		return e.Gen
	}
	return 0
}

// Write lays out the update, to be appended right after the original bytes: objects in
// number order, then the cross-reference section and the trailer.
func (u *Update) Write() (*Result, error) {
	base := u.base.Len()
	last, err := u.base.Span(base-1, base)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if n := len(last); n > 0 && last[n-1] != '\n' && last[n-1] != '\r' {
		b.WriteByte('\n') // the previous %%EOF must end its line
	}
	nums := make([]int, 0, len(u.objs)+1)
	size := 1024 // trailer and cross-reference section, grown if need be
	for n, body := range u.objs {
		nums = append(nums, n)
		size += len(body) + 40
	}
	// One allocation for the whole update: growing by doubling copied it about twice over,
	// and it holds the whole /Contents reservation.
	b.Grow(size)
	sort.Ints(nums)
	offsets := map[int]int{}
	abs := map[int]int64{}
	for _, n := range nums {
		abs[n] = base + int64(b.Len())
		fmt.Fprintf(&b, "%d %d obj\n", n, u.gen(n))
		offsets[n] = b.Len()
		b.Write(u.objs[n])
		b.WriteString("\nendobj\n")
	}
	prev := u.base.Sections[0]
	trailer := types.Dict{"Size": types.Integer(u.next), "Prev": types.Integer(prev.Offset)}
	for _, k := range []string{"Root", "Info", "ID"} {
		if v, ok := u.base.Trailer[k]; ok {
			trailer[k] = v
		}
	}
	xrefAt := base + int64(b.Len())
	if prev.Kind == pdfread.Stream {
		n := u.next
		u.next++
		trailer["Size"] = types.Integer(u.next)
		abs[n] = xrefAt
		nums = append(nums, n)
		writeXRefStream(&b, n, nums, abs, u, trailer)
	} else {
		writeXRefTable(&b, nums, abs, u, trailer)
	}
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xrefAt)
	return &Result{Bytes: b.Bytes(), Offsets: offsets}, nil
}

// runs groups sorted object numbers into consecutive subsections.
func runs(nums []int) [][2]int {
	var out [][2]int
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		out = append(out, [2]int{nums[i], j - i + 1})
		i = j + 1
	}
	return out
}

func writeXRefTable(b *bytes.Buffer, nums []int, abs map[int]int64, u *Update, trailer types.Dict) {
	b.WriteString("xref\n")
	// An update lists only what it defines; the free-list head stays in the first section.
	for _, r := range runs(nums) {
		fmt.Fprintf(b, "%d %d\n", r[0], r[1])
		for n := r[0]; n < r[0]+r[1]; n++ {
			fmt.Fprintf(b, "%010d %05d n\r\n", abs[n], u.gen(n))
		}
	}
	b.WriteString("trailer\n")
	b.WriteString(trailer.PDFString())
	b.WriteString("\n")
}

func writeXRefStream(b *bytes.Buffer, self int, nums []int, abs map[int]int64, u *Update, trailer types.Dict) {
	sort.Ints(nums)
	width := 1
	for _, n := range nums {
		for abs[n]>>(8*width) > 0 {
			width++
		}
	}
	var rows bytes.Buffer
	var index types.Array
	for _, r := range runs(nums) {
		index = append(index, types.Integer(r[0]), types.Integer(r[1]))
		for n := r[0]; n < r[0]+r[1]; n++ {
			rows.WriteByte(1)
			for i := width - 1; i >= 0; i-- {
				rows.WriteByte(byte(abs[n] >> (8 * i)))
			}
			g := u.gen(n)
			if n == self {
				g = 0
			}
			rows.WriteByte(byte(g >> 8))
			rows.WriteByte(byte(g))
		}
	}
	d := types.Dict{"Type": types.Name("XRef"), "Index": index,
		"W":      types.Array{types.Integer(1), types.Integer(width), types.Integer(2)},
		"Length": types.Integer(rows.Len())}
	for k, v := range trailer {
		d[k] = v
	}
	fmt.Fprintf(b, "%d 0 obj\n%s\nstream\n", self, d.PDFString())
	b.Write(rows.Bytes())
	b.WriteString("\nendstream\nendobj\n")
}
