package image

import (
	"math"
	"slices"
	"sync"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

// The method marks are veilsign's own neutral drawings — no trademark or borrowed artwork —
// so an integrator may ship them anywhere and replace them with licensed logos. They use
// two restrained colours and strokes thick enough to read at 24 pt.
var (
	ink    = rgb{0.16, 0.22, 0.30} // dark slate
	accent = rgb{0.13, 0.45, 0.52} // muted teal
	paper  = rgb{0.93, 0.95, 0.96} // light fill
	brass  = rgb{0.80, 0.66, 0.36} // the card's chip
)

// LogoMethods lists the methods that have a mark of their own.
func LogoMethods() []string { return []string{"itsme", "eid", "pen", "tan", "x509"} }

// logoBBox is the box every mark is drawn in.
var logoBBox = [4]float64{0, 0, 100, 100}

// Logo returns the content stream of a Form XObject drawing the mark for a signing method
// the box 0 0 100 100: "itsme" (a phone with a check mark: a mobile app), "eid" (an ID card with a
// chip), "pen" (a pen nib and stroke), "tan" (a speech bubble with a masked code), "x509"
// (a certificate seal). Any other method gets a plain check-mark seal.
func Logo(method string) (content []byte, bbox [4]float64) {
	var c canvas
	c.round()
	switch method {
	case "itsme":
		phone(&c)
	case "eid":
		idCard(&c)
	case "pen":
		nib(&c)
	case "tan":
		bubble(&c)
	case "x509":
		seal(&c)
	default:
		generic(&c)
	}
	return c.b.Bytes(), logoBBox
}

// LogoXObject writes the mark as a Form XObject numbered by alloc, to be drawn with Do after
// scaling 0 0 100 100 to the slot's logo box.
//
// The object names nothing else, so its body depends on the method alone: it is drawn and
// compressed once per method and process (a tenth of a signature's CPU time before) and
// shared by every update, which must not change it.
func LogoXObject(method string, alloc func() int) (num int, objs []rawobj.Object) {
	if !slices.Contains(LogoMethods(), method) {
		method = "" // every other method draws the generic mark: one cache entry for them all
	}
	logoMu.Lock()
	body, ok := logoBodies[method]
	if !ok {
		content, bbox := Logo(method)
		dict := "/Type /XObject /Subtype /Form /BBox [" + numList(bbox[:]) + "] /Resources << >>"
		body = slices.Clip(rawobj.Stream(dict, content, true))
		logoBodies[method] = body
	}
	logoMu.Unlock()
	num = alloc()
	return num, []rawobj.Object{{Num: num, Body: body}}
}

var (
	logoMu     sync.Mutex
	logoBodies = map[string][]byte{}
)

func numList(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += num(x)
	}
	return s
}

// phone: a handset with a check mark on its screen — "confirmed in a mobile app".
func phone(c *canvas) {
	c.fill(ink)
	c.roundRect(27, 4, 46, 92, 9)
	c.op("f")
	c.fill(paper)
	c.roundRect(32, 17, 36, 68, 2.5)
	c.roundRect(43, 88.5, 14, 3, 1.5) // earpiece
	c.circle(50, 10.5, 3)             // home button
	c.op("f")
	c.stroke(accent)
	c.width(7)
	c.polyline(38, 51, 47, 41, 62, 62)
	c.op("S")
}

// idCard: a card with a chip, a portrait and two text lines.
func idCard(c *canvas) {
	c.fill(paper)
	c.stroke(ink)
	c.width(4)
	c.roundRect(5, 18, 90, 64, 8)
	c.op("B")
	c.fill(brass)
	c.roundRect(14, 43, 22, 18, 3)
	c.op("f")
	c.stroke(ink)
	c.width(1.5)
	c.polyline(14, 52, 36, 52) // the chip's contact pads
	c.polyline(25, 43, 25, 61)
	c.op("S")
	c.fill(ink)
	c.circle(73, 58, 7.5)
	c.move(59, 36) // shoulders
	c.curve(59, 46, 65, 49, 73, 49)
	c.curve(81, 49, 87, 46, 87, 36)
	c.close()
	c.roundRect(14, 28, 34, 5, 2.5)
	c.roundRect(14, 68, 24, 4, 2)
	c.op("f")
}

// nib: a fountain-pen nib leaning as in a hand, above the stroke it just wrote.
func nib(c *canvas) {
	// Turned about its middle and moved up and right, the nib stays inside the box and
	// its tip lands at about (40.5, 26), where the stroke ends.
	c.op("q")
	c.op("cm", 1, 0, 0, 1, 10, 4)
	c.rotated(-35, 50, 50, func() {
		c.fill(ink)
		c.move(50, 16) // the tip
		c.line(35, 50)
		c.curve(35, 57, 39, 62, 41, 64)
		c.line(59, 64)
		c.curve(61, 62, 65, 57, 65, 50)
		c.close()
		c.op("f")
		c.fill(accent)
		c.roundRect(39, 66, 22, 24, 4) // the holder
		c.op("f")
		c.stroke(paper)
		c.width(2.5)
		c.polyline(50, 19, 50, 44) // the slit
		c.op("S")
		c.fill(paper)
		c.circle(50, 46, 4) // the breather hole
		c.op("f")
	})
	c.op("Q")
	c.stroke(accent)
	c.width(4.5)
	c.move(5, 14)
	c.curve(11, 28, 18, 2, 25, 12)
	c.curve(30, 20, 34, 27, 40, 26)
	c.op("S")
}

// bubble: a message bubble with a masked one-time code, "***".
func bubble(c *canvas) {
	c.fill(accent)
	c.roundRect(6, 28, 88, 60, 14)
	c.op("f")
	c.polyline(22, 32, 16, 10, 42, 30) // the tail, overlapping the bubble
	c.close()
	c.op("f")
	c.stroke(paper)
	c.width(5)
	for _, x := range []float64{27, 50, 73} {
		asterisk(c, x, 58, 10)
	}
	c.op("S")
}

// asterisk adds three strokes through (x, y) with arms of length r.
func asterisk(c *canvas, x, y, r float64) {
	for _, deg := range []float64{90, 30, 150} {
		s, co := math.Sincos(deg * math.Pi / 180)
		c.polyline(x-r*co, y-r*s, x+r*co, y+r*s)
	}
}

// seal: a rosette with ribbons and a check mark — a certificate's seal.
func seal(c *canvas) {
	c.fill(accent)
	c.polyline(38, 46, 24, 6, 33, 11, 40, 3, 52, 42) // left ribbon
	c.close()
	c.polyline(62, 46, 76, 6, 67, 11, 60, 3, 48, 42) // right ribbon
	c.close()
	c.op("f")
	c.fill(ink)
	const points = 24
	for i := range 2 * points {
		r := 38.0
		if i%2 == 1 {
			r = 33
		}
		s, co := math.Sincos(float64(i) * math.Pi / points)
		if i == 0 {
			c.move(50+r*co, 60+r*s)
		} else {
			c.line(50+r*co, 60+r*s)
		}
	}
	c.close()
	c.op("f")
	c.fill(paper)
	c.circle(50, 60, 26)
	c.op("f")
	c.stroke(ink)
	c.width(1.5)
	c.circle(50, 60, 22)
	c.op("S")
	c.stroke(accent)
	c.width(6)
	c.polyline(39, 60, 47, 51, 61, 69)
	c.op("S")
}

// generic: a circled check mark, for methods without a mark of their own.
func generic(c *canvas) {
	c.stroke(ink)
	c.width(6)
	c.circle(50, 50, 40)
	c.op("S")
	c.stroke(accent)
	c.width(8)
	c.polyline(31, 51, 45, 36, 70, 66)
	c.op("S")
}
