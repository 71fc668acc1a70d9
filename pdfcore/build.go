package pdfcore

import (
	"crypto/x509"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfwrite"
	"github.com/veilsign/veilsign/pdfcore/internal/stamp"
)

// builder assembles one incremental update. Objects that name fonts and logos are kept
// pending until every text of the update is known, because the font subset is written
// last and holds exactly the glyphs shown.
type builder struct {
	doc   *Document
	f     *pdfread.File
	plan  *Plan
	chain []*x509.Certificate
	opts  Options
	u     *pdfwrite.Update
	fonts *stamp.Fonts

	forms     []*pendingForm
	pages     map[int]*pageEdit
	pageOrder []int
	newFields []int
	dropped   map[int]bool // existing fields replaced by a slot on the signature page
	sigPage   *newPage
	// first is set when this update is the document's first signed revision, the one
	// allowed to change page content, the form dictionary and the catalog.
	first bool
	// catalog is the catalog as this update rewrites it; nil when unchanged.
	catalog types.Dict
}

// pendingForm is a Form XObject whose resources are written at the end.
type pendingForm struct {
	num     int
	w, h    float64
	matrix  []float64
	content stamp.Content
}

// pageEdit collects the changes to one existing page.
type pageEdit struct {
	page    *pdfread.Page
	annots  []int
	drop    map[int]bool
	markers []marker
}

type marker struct {
	name   string
	form   int
	matrix [6]float64
}

type newPage struct {
	num, parent int
	w, h        float64
	content     stamp.Content
	annots      []int
}

func newBuilder(doc *Document, plan *Plan, chain []*x509.Certificate, opts Options) *builder {
	return &builder{doc: doc, f: doc.f, plan: plan, chain: chain, opts: opts, u: pdfwrite.New(doc.f),
		fonts: stamp.NewFonts(), pages: map[int]*pageEdit{}, dropped: map[int]bool{}}
}

// target is the signature field the update signs.
type target struct {
	name      string
	fieldNum  int
	widgetNum int
	field     types.Dict // the field as stored; nil when this update creates it
	widget    types.Dict // the widget as stored when it is a separate object
	rect      Rect
	pageRef   int
	rotate    int
	slot      *Slot
	mode      apMode
}

type apMode int

const (
	apSlotHalf apMode = iota // the right half of a slot whose frame the page draws
	apFull                   // the whole slot, drawn by the widget alone
	apInDoc                  // a pen or TAN signature at its field in the document
)

func (b *builder) edit(p *pdfread.Page) *pageEdit {
	if e, ok := b.pages[p.Ref]; ok {
		return e
	}
	e := &pageEdit{page: p, drop: map[int]bool{}}
	b.pages[p.Ref] = e
	b.pageOrder = append(b.pageOrder, p.Ref)
	return e
}

// form registers a Form XObject drawn in a w×h box.
func (b *builder) form(w, h float64, matrix []float64, c stamp.Content) int {
	n := b.u.Alloc()
	b.forms = append(b.forms, &pendingForm{num: n, w: w, h: h, matrix: matrix, content: c})
	return n
}

// rotation returns the /Matrix that turns a form upright on a page shown rotated by rot
// degrees, and the form's width and height for a field of w×h in user space.
func rotation(rot int, w, h float64) ([]float64, float64, float64) {
	switch rot {
	case 90:
		return []float64{0, 1, -1, 0, 0, 0}, h, w
	case 180:
		return []float64{-1, 0, 0, -1, 0, 0}, w, h
	case 270:
		return []float64{0, -1, 1, 0, 0, 0}, h, w
	}
	return nil, w, h
}

// placement maps a form of fw×fh onto rect r of a page rotated by rot (see rotation).
func placement(rot int, r Rect) [6]float64 {
	switch rot {
	case 90:
		return [6]float64{0, 1, -1, 0, r.URX, r.LLY}
	case 180:
		return [6]float64{-1, 0, 0, -1, r.URX, r.URY}
	case 270:
		return [6]float64{0, -1, 1, 0, r.LLX, r.URY}
	}
	return [6]float64{1, 0, 0, 1, r.LLX, r.LLY}
}

func clone(d types.Dict) types.Dict {
	c := make(types.Dict, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}

func ref(n int) types.IndirectRef { return *types.NewIndirectRef(n, 0) }

// fieldDict is a new merged signature field and widget.
func fieldDict(name string, r Rect, page int, slot *Slot) types.Dict {
	d := types.Dict{
		"Type": types.Name("Annot"), "Subtype": types.Name("Widget"), "FT": types.Name("Sig"),
		"T": textString(name), "Rect": r.array(), "P": ref(page), "F": types.Integer(4),
	}
	if slot != nil {
		d[slotKey] = slot.dict()
		d["TU"] = textString("Signature " + slot.Label + " — " + slot.Name)
	}
	return d
}

// fieldName is the name veilsign gives the field of signer label.
func (b *builder) fieldName(label string) string {
	// A set of the names, not doc.field per candidate: that was quadratic in the fields
	// when a document holds thousands named "Signature A", "Signature A (A)", …
	taken := make(map[string]bool, len(b.doc.Fields))
	for _, f := range b.doc.Fields {
		taken[f.Name] = true
	}
	name := "Signature " + label
	for i := 2; taken[name]; i++ {
		name = "Signature " + label + " (" + Label(i-1) + ")"
	}
	return name
}
