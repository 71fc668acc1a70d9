package stamp

import (
	"fmt"
	"strings"
	"time"
)

// Slot is a signer's place as drawn: reference, who, how.
type Slot struct {
	Ref, Name, Capacity, Email, Method string
}

// Box is a rectangle: origin and size, in points.
type Box struct{ X, Y, W, H float64 }

// Page geometry of the signature page.
const (
	margin     = 42.0
	headerH    = 96.0
	slotGap    = 12.0
	slotMaxH   = 112.0
	slotMinH   = 84.0
	footerH    = 30.0
	leftColumn = 58.0
)

// SlotBoxes lays out n slots on a page of w×h points, top to bottom; the boxes are also the
// rectangles of the signature widgets. It returns how many slots fit at most, and an error
// when n is more than that.
func SlotBoxes(w, h float64, n int) ([]Box, error) {
	avail := h - headerH - footerH - margin
	max := int((avail + slotGap) / (slotMinH + slotGap))
	if n > max {
		return nil, fmt.Errorf("%d signers do not fit on one signature page of %.0f×%.0f points (at most %d)", n, w, h, max)
	}
	sh := slotMaxH
	if n > 0 {
		if fit := (avail+slotGap)/float64(n) - slotGap; fit < sh {
			sh = fit
		}
	}
	return SlotBoxesOfHeight(w, h, n, sh), nil
}

// SlotBoxesOfHeight lays out n slots of height sh from the top of the page.
func SlotBoxesOfHeight(w, h float64, n int, sh float64) []Box {
	boxes := make([]Box, n)
	top := h - headerH
	for i := range boxes {
		boxes[i] = Box{X: margin, Y: top - float64(i+1)*sh - float64(i)*slotGap, W: w - 2*margin, H: sh}
	}
	return boxes
}

// FreeBox finds room below the given boxes for one more slot of the same height (an
// unplanned signer); ok is false when the page is full.
func FreeBox(w, h float64, used []Box) (Box, bool) {
	sh := slotMaxH
	low := h - headerH + slotGap
	for _, b := range used {
		sh = b.H
		if b.Y < low {
			low = b.Y
		}
	}
	y := low - slotGap - sh
	if y < footerH {
		return Box{}, false
	}
	return Box{X: margin, Y: y, W: w - 2*margin, H: sh}, true
}

// SignaturePage draws the page's fixed parts: the heading, and for each slot the frame,
// reference, name, capacity and method. What only exists once a signer has signed (time,
// certificate) is the widget's appearance, drawn over the right half of the frame.
func SignaturePage(f *Fonts, w, h float64, slots []Slot, boxes []Box, created time.Time) Content {
	c := newCanvas(f)
	c.gray(0.1)
	c.text(true, 17, margin, h-margin-14, "Electronic signatures")
	c.gray(0.35)
	c.text(false, 9, margin, h-margin-32, "This page carries the electronic signatures of the document. Each reference (A, B, …) is")
	c.text(false, 9, margin, h-margin-44, "repeated where the signature was placed. Click a signature to see its certificate and timestamp.")
	c.nums("w", 0.6)
	c.gray(0.75)
	c.nums("m", margin, h-headerH+8)
	c.nums("l", w-margin, h-headerH+8)
	c.op("S")
	for i, s := range slots {
		drawSlotStatic(c, s, boxes[i])
	}
	c.gray(0.5)
	c.text(false, 7.5, margin, footerH-12, "Signature page added "+created.UTC().Format("2 January 2006")+" · signed with veilsign")
	return c.done()
}

// drawSlotStatic draws a slot's frame and the parts known from the plan, in page space.
func drawSlotStatic(c *canvas, s Slot, b Box) {
	c.op("q")
	c.nums("w", 0.8)
	c.gray(0.72)
	c.roundRect(b.X, b.Y, b.W, b.H, 6)
	c.op("S")
	// The reference letter in a circle, top left: the same letter as the marker.
	c.rgb(0.13, 0.27, 0.53)
	c.circle(b.X+leftColumn/2, b.Y+b.H-27, 15)
	c.op("f")
	c.gray(1)
	c.centred(true, 15, b.X+leftColumn/2, b.Y+b.H-32.5, 26, s.Ref)
	c.logo(s.Method, b.X+leftColumn/2-17, b.Y+8, 34)
	tx := b.X + leftColumn + 4
	tw := splitX(b.W) - leftColumn - 8
	c.gray(0.08)
	c.fitText(true, 12, tx, b.Y+b.H-22, tw, s.Name)
	c.gray(0.3)
	c.fitText(false, 9.5, tx, b.Y+b.H-37, tw, s.Capacity)
	c.fitText(false, 8.5, tx, b.Y+b.H-51, tw, MethodTitle(s.Method))
	c.gray(0.45)
	c.fitText(false, 8, tx, b.Y+b.H-64, tw, s.Email)
	// The divider between what the plan knew and what the signature adds.
	c.gray(0.85)
	c.nums("m", b.X+splitX(b.W), b.Y+10)
	c.nums("l", b.X+splitX(b.W), b.Y+b.H-10)
	c.op("S")
	c.op("Q")
}

// splitX is where a slot of width w divides what the plan knew (left) from what the
// signature adds (right); narrow slots (counter-signature widgets) give names more room.
func splitX(w float64) float64 {
	if w < 420 {
		return w * 0.58
	}
	return w / 2
}

// MethodTitle is the human name of a signing method.
func MethodTitle(method string) string {
	switch method {
	case "itsme":
		return "itsme® eSign · qualified electronic signature"
	case "eid":
		return "Belgian eID card · qualified electronic signature"
	case "x509":
		return "Certificate-based electronic signature"
	case "pen":
		return "Handwritten on screen · sealed by the service"
	case "tan":
		return "Confirmed by SMS code · sealed by the service"
	}
	return strings.ToUpper(method)
}

// Marker draws "Signature: see last page (A)" into a w×h box (the form's own space).
func Marker(f *Fonts, w, h float64, ref string) Content {
	c := newCanvas(f)
	c.op("q")
	c.rgb(0.93, 0.95, 0.99)
	c.nums("re", 0, 0, w, h)
	c.op("f")
	c.nums("w", 0.8)
	c.rgb(0.13, 0.27, 0.53)
	c.op("[3 2] 0 d")
	c.nums("re", 0.4, 0.4, w-0.8, h-0.8)
	c.op("S")
	size := h * 0.32
	if size > 11 {
		size = 11
	}
	line := "Signature: see last page (" + ref + ")"
	t, sz := face(false).Fit(line, size, 4, w-8)
	c.text(false, sz, (w-face(false).Width(t, sz))/2, h/2-sz*0.35, t)
	c.op("Q")
	return c.done()
}
