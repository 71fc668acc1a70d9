package stamp

import (
	"time"
)

// Signed is what a signature adds to its slot once made.
type Signed struct {
	Time      time.Time
	Subject   string // the certificate subject as a person reads it: name, national number
	Issuer    string
	Qualified bool
	Method    string
	// Evidence is a line such as "SMS code to +32 ••• •• 12 confirmed at 10:42:13".
	Evidence string
	// Ink is the pen drawing: strokes of points in a unit box (0..1, origin bottom left).
	Ink [][][2]float64
}

// Appearance draws a signature widget of w×h points. With full set it draws the whole slot
// (frame, reference, name, logo) because no page content carries them: an unplanned signer
// on the signature page, or a counter-signature on a document signed elsewhere. Otherwise
// it draws only the right half, over the frame the signature page already shows. A nil
// signed draws the waiting state of a slot.
func Appearance(f *Fonts, w, h float64, s Slot, signed *Signed, full bool) Content {
	c := newCanvas(f)
	b := Box{0, 0, w, h}
	if full {
		c.op("q")
		c.gray(1)
		c.roundRect(b.X, b.Y, b.W, b.H, 6)
		c.op("f")
		c.op("Q")
		drawSlotStatic(c, s, b)
	}
	x := splitX(w) + 10
	tw := w - splitX(w) - 18
	top := h - 20.0
	c.op("q")
	if signed == nil {
		c.gray(0.55)
		c.fitText(false, 10, x, h/2-4, tw, "Awaiting signature")
		c.op("Q")
		return c.done()
	}
	if len(signed.Ink) > 0 {
		top = drawInk(c, signed.Ink, x, h*0.38, tw, h*0.55)
	}
	c.rgb(0.06, 0.42, 0.2)
	status := "Signed"
	if signed.Qualified {
		status = "Signed · qualified electronic signature"
	}
	c.fitText(true, 9.5, x, top, tw, status)
	lines := []string{
		signed.Time.UTC().Format("2 Jan 2006, 15:04:05 UTC"),
		signed.Subject,
	}
	if signed.Issuer != "" {
		lines = append(lines, "Issued by "+signed.Issuer)
	}
	if signed.Evidence != "" {
		lines = append(lines, signed.Evidence)
	}
	c.gray(0.2)
	y := top - 13
	for _, l := range lines {
		if y < 6 {
			break
		}
		c.fitText(false, 8, x, y, tw, l)
		y -= 11
	}
	c.op("Q")
	return c.done()
}

// InDocument draws a pen or TAN signature at its own field in the document: the drawing
// (or the TAN confirmation) over a caption with the name and time.
func InDocument(f *Fonts, w, h float64, s Slot, signed *Signed) Content {
	c := newCanvas(f)
	c.op("q")
	capH := 9.0
	if h < 40 {
		capH = h * 0.22
	}
	if len(signed.Ink) > 0 {
		drawInk(c, signed.Ink, 2, capH*2.4, w-4, h-capH*2.4-2)
	} else {
		c.logo(s.Method, 2, h-2-min(h*0.5, 28), min(h*0.5, 28))
		c.gray(0.15)
		c.fitText(true, capH*1.2, 6+min(h*0.5, 28), h-2-min(h*0.5, 28)/2-capH/2, w-10-min(h*0.5, 28), "Confirmed by SMS code")
	}
	c.gray(0.25)
	c.fitText(false, capH, 2, capH*1.3, w-4, s.Name+" ("+s.Ref+")")
	c.fitText(false, capH*0.85, 2, 2, w-4, signed.Time.UTC().Format("2 Jan 2006 15:04 UTC")+" · "+MethodTitle(s.Method))
	c.op("Q")
	return c.done()
}

// drawInk scales the strokes into the box (keeping their aspect) and strokes them; it
// returns the y just below the drawing for the text that follows.
func drawInk(c *canvas, ink [][][2]float64, x, y, w, h float64) float64 {
	s := min(w, h)
	ox := x + (w-s)/2
	c.op("q")
	c.rgb(0.05, 0.1, 0.35)
	c.nums("w", max(0.8, s/90))
	c.op("1 J 1 j")
	for _, stroke := range ink {
		for i, p := range stroke {
			px, py := ox+clamp01(p[0])*s, y+clamp01(p[1])*s
			if i == 0 {
				c.nums("m", px, py)
			} else {
				c.nums("l", px, py)
			}
		}
		if len(stroke) == 1 {
			c.nums("l", ox+clamp01(stroke[0][0])*s+0.1, y+clamp01(stroke[0][1])*s)
		}
		c.op("S")
	}
	c.op("Q")
	return y - 12
}

func clamp01(v float64) float64 { return max(0, min(1, v)) }
