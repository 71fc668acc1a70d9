package image

import (
	"bytes"
	"math"
	"strconv"
)

// canvas writes PDF path operators. It exists so the marks in logo.go read as drawings
// rather than as strings of operators.
type canvas struct{ b bytes.Buffer }

// kappa places Bézier control points so four curves approximate a circle closely
// (radial error about 0.03%).
const kappa = 0.5522847498

func (c *canvas) op(name string, args ...float64) {
	for _, a := range args {
		c.b.WriteString(num(a))
		c.b.WriteByte(' ')
	}
	c.b.WriteString(name)
	c.b.WriteByte('\n')
}

func num(v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

type rgb [3]float64

func (c *canvas) fill(col rgb)   { c.op("rg", col[0], col[1], col[2]) }
func (c *canvas) stroke(col rgb) { c.op("RG", col[0], col[1], col[2]) }
func (c *canvas) width(w float64) {
	c.op("w", w)
}

// round sets round caps and joins, which keep thick strokes friendly at small sizes.
func (c *canvas) round() { c.op("J", 1); c.op("j", 1) }

func (c *canvas) move(x, y float64)                    { c.op("m", x, y) }
func (c *canvas) line(x, y float64)                    { c.op("l", x, y) }
func (c *canvas) curve(x1, y1, x2, y2, x3, y3 float64) { c.op("c", x1, y1, x2, y2, x3, y3) }
func (c *canvas) close()                               { c.op("h") }

// polyline moves to the first point and draws lines through the rest; pts are x,y pairs.
func (c *canvas) polyline(pts ...float64) {
	c.move(pts[0], pts[1])
	for i := 2; i+1 < len(pts); i += 2 {
		c.line(pts[i], pts[i+1])
	}
}

// roundRect adds a closed rectangle with corners of radius r.
func (c *canvas) roundRect(x, y, w, h, r float64) {
	k := r * (1 - kappa)
	c.move(x+r, y)
	c.line(x+w-r, y)
	c.curve(x+w-k, y, x+w, y+k, x+w, y+r)
	c.line(x+w, y+h-r)
	c.curve(x+w, y+h-k, x+w-k, y+h, x+w-r, y+h)
	c.line(x+r, y+h)
	c.curve(x+k, y+h, x, y+h-k, x, y+h-r)
	c.line(x, y+r)
	c.curve(x, y+k, x+k, y, x+r, y)
	c.close()
}

// circle adds a closed circle, drawn counter-clockwise.
func (c *canvas) circle(cx, cy, r float64) {
	k := r * kappa
	c.move(cx+r, cy)
	c.curve(cx+r, cy+k, cx+k, cy+r, cx, cy+r)
	c.curve(cx-k, cy+r, cx-r, cy+k, cx-r, cy)
	c.curve(cx-r, cy-k, cx-k, cy-r, cx, cy-r)
	c.curve(cx+k, cy-r, cx+r, cy-k, cx+r, cy)
	c.close()
}

// rotated runs draw with the coordinate system turned by deg degrees (counter-clockwise)
// about (cx, cy).
func (c *canvas) rotated(deg, cx, cy float64, draw func()) {
	s, co := math.Sincos(deg * math.Pi / 180)
	c.op("q")
	c.op("cm", co, s, -s, co, cx-co*cx+s*cy, cy-s*cx-co*cy)
	draw()
	c.op("Q")
}
