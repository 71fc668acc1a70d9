// Package stamp draws what veilsign adds to a document: the signature page, the markers
// "Signature: see last page (A)" and the appearances of signature widgets. It writes content
// stream operators only; the caller numbers the objects and builds the resources, under the
// names this package uses (FontRegular, FontBold, LogoName).
package stamp

import (
	"bytes"
	"strconv"

	"github.com/veilsign/veilsign/pdfcore/internal/font"
)

// Resource names used in every content stream this package writes.
const (
	FontRegular = "VsR"
	FontBold    = "VsB"
)

// LogoName is the XObject resource name of a method's logo.
func LogoName(method string) string { return "VsLogo" + method }

// Fonts holds the subsets of one update: every text drawn through them ends up embedded.
type Fonts struct {
	Regular, Bold *font.Subset
}

// NewFonts starts the subsets for one update.
func NewFonts() *Fonts {
	return &Fonts{Regular: font.Regular().NewSubset(), Bold: font.Bold().NewSubset()}
}

// canvas accumulates content-stream operators.
type canvas struct {
	b     bytes.Buffer
	fonts *Fonts
	logos map[string]bool // logo XObjects used
}

func newCanvas(f *Fonts) *canvas { return &canvas{fonts: f, logos: map[string]bool{}} }

func (c *canvas) num(v float64) {
	c.b.WriteString(strconv.FormatFloat(float64(int64(v*1000+copysign(0.5, v)))/1000, 'f', -1, 64))
	c.b.WriteByte(' ')
}

func copysign(a, b float64) float64 {
	if b < 0 {
		return -a
	}
	return a
}

func (c *canvas) op(s string) { c.b.WriteString(s); c.b.WriteByte('\n') }

func (c *canvas) nums(op string, v ...float64) {
	for _, x := range v {
		c.num(x)
	}
	c.op(op)
}

// gray sets fill and stroke to a gray level.
func (c *canvas) gray(g float64) { c.nums("g", g); c.nums("G", g) }

func (c *canvas) rgb(r, g, b float64) { c.nums("rg", r, g, b); c.nums("RG", r, g, b) }

// text shows s at (x, y) in the regular or bold face; size in points.
func (c *canvas) text(bold bool, size, x, y float64, s string) {
	if s == "" {
		return
	}
	name, sub := FontRegular, c.fonts.Regular
	if bold {
		name, sub = FontBold, c.fonts.Bold
	}
	c.op("BT")
	c.b.WriteString("/" + name + " ")
	c.nums("Tf", size)
	c.nums("Td", x, y)
	c.b.Write(sub.Encode(s))
	c.op(" Tj\nET")
}

func face(bold bool) *font.Face {
	if bold {
		return font.Bold()
	}
	return font.Regular()
}

// fitText shows s on one line no wider than w, shrinking it down to 60% before cutting it.
func (c *canvas) fitText(bold bool, size, x, y, w float64, s string) {
	t, sz := face(bold).Fit(s, size, size*0.6, w)
	c.text(bold, sz, x, y, t)
}

// centred shows s centred on cx.
func (c *canvas) centred(bold bool, size, cx, y, w float64, s string) {
	t, sz := face(bold).Fit(s, size, size*0.6, w)
	c.text(bold, sz, cx-face(bold).Width(t, sz)/2, y, t)
}

// roundRect adds a rectangle path with rounded corners of radius r.
func (c *canvas) roundRect(x, y, w, h, r float64) {
	const k = 0.5523 // Bézier approximation of a quarter circle
	c.nums("m", x+r, y)
	c.nums("l", x+w-r, y)
	c.nums("c", x+w-r+k*r, y, x+w, y+r-k*r, x+w, y+r)
	c.nums("l", x+w, y+h-r)
	c.nums("c", x+w, y+h-r+k*r, x+w-r+k*r, y+h, x+w-r, y+h)
	c.nums("l", x+r, y+h)
	c.nums("c", x+r-k*r, y+h, x, y+h-r+k*r, x, y+h-r)
	c.nums("l", x, y+r)
	c.nums("c", x, y+r-k*r, x+r-k*r, y, x+r, y)
	c.op("h")
}

func (c *canvas) circle(cx, cy, r float64) {
	c.roundRect(cx-r, cy-r, 2*r, 2*r, r)
}

// logo draws a method's logo XObject (a 100×100 form) into a size×size square at (x, y).
func (c *canvas) logo(method string, x, y, size float64) {
	c.logos[method] = true
	c.op("q")
	c.nums("cm", size/100, 0, 0, size/100, x, y)
	c.op("/" + LogoName(method) + " Do")
	c.op("Q")
}

// Content is a finished content stream and the logos it draws.
type Content struct {
	Data  []byte
	Logos []string
}

func (c *canvas) done() Content {
	var logos []string
	for _, m := range []string{"itsme", "eid", "x509", "pen", "tan"} {
		if c.logos[m] {
			logos = append(logos, m)
		}
	}
	return Content{Data: c.b.Bytes(), Logos: logos}
}
