// Package pdfgen makes large test documents (text pages with big images) of a chosen size
// for benchmarks and scaling tests, so nobody has to commit a 100 MB file.
package pdfgen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// Document returns a PDF of about size bytes: pages of text, each with a photo-sized image
// of incompressible pixels (as a scanned contract would have), written with a classic xref
// table. The same size always gives the same bytes.
func Document(size int) []byte {
	const side = 512 // 512×512 RGB: 768 KiB per image
	img := side * side * 3
	pages := size / (img + 2048)
	if pages < 1 {
		pages = 1
	}
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	var b bytes.Buffer
	b.Grow(size + 1<<20)
	offsets := []int{0}
	obj := func(body string, stream []byte) int {
		n := len(offsets)
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", n, body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
		return n
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	catalog := obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	offsets = append(offsets, 0) // object 2, the page tree, is written last
	font := obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>", nil)
	pix := make([]byte, img)
	var kids bytes.Buffer
	for p := 1; p <= pages; p++ {
		for i := range pix {
			pix[i] = byte(rng.Uint32())
		}
		im := obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>", side, side, img), pix)
		var c bytes.Buffer
		fmt.Fprintf(&c, "BT /F1 14 Tf 56 790 Td (Generated contract, page %d of %d) Tj ET\n", p, pages)
		for l := 0; l < 20; l++ {
			fmt.Fprintf(&c, "BT /F1 10 Tf 56 %d Td (Clause %d.%d: the parties agree to the terms set out on this page.) Tj ET\n", 760-l*14, p, l+1)
		}
		c.WriteString("q 400 0 0 400 97 60 cm /Im1 Do Q\n")
		cs := obj(fmt.Sprintf("<< /Length %d >>", c.Len()), c.Bytes())
		pg := obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", font, im, cs), nil)
		fmt.Fprintf(&kids, "%d 0 R ", pg)
	}
	offsets[2] = b.Len()
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /Pages /Count %d /Kids [%s] >>\nendobj\n", pages, kids.String())
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets))
	for _, o := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), catalog, xref)
	return b.Bytes()
}
