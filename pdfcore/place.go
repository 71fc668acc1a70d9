package pdfcore

import (
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
	"github.com/veilsign/veilsign/pdfcore/internal/stamp"
)

// LayoutKind names how a signature is placed.
type LayoutKind string

const (
	// LayoutSignaturePage: the document's first signature; this update appends the
	// signature page, draws the markers and signs its slot.
	LayoutSignaturePage LayoutKind = "signature-page"
	// LayoutFirstInDocument: the first signature is a pen or TAN signature made before any
	// X.509 signer; this update lays out the whole plan and signs at the field itself.
	LayoutFirstInDocument LayoutKind = "first-in-document"
	// LayoutSlot: a later signature fills its slot on the signature page.
	LayoutSlot LayoutKind = "slot"
	// LayoutInDocument: a later pen or TAN signature fills its field in the document.
	LayoutInDocument LayoutKind = "in-document"
	// LayoutNewSlot: an unplanned signer gets a new field on the signature page.
	LayoutNewSlot LayoutKind = "new-slot"
	// LayoutCounterSignature: the document was signed elsewhere; no page and no markers
	// can be added, so the signature is a visible widget carrying the whole slot.
	LayoutCounterSignature LayoutKind = "counter-signature"
)

// Layout is the pre-flight answer: how the signature will be placed, and why.
type Layout struct {
	Kind   LayoutKind `json:"kind"`
	Reason string     `json:"reason"`
}

// Preflight says which layout Prepare would use for signer label, without preparing.
func Preflight(doc *Document, plan *Plan, label string) (Layout, error) {
	l, err := preflight(doc, plan, label)
	return afterReading(doc, l, err)
}

func preflight(doc *Document, plan *Plan, label string) (Layout, error) {
	if doc.MDP == 1 {
		return Layout{}, newError(CodeNoChangesAllowed, "The document is certified with \"no changes allowed\" (DocMDP P=1).")
	}
	if plan == nil {
		plan = &Plan{}
	}
	b := newBuilder(doc, plan, nil, Options{})
	_, l, err := b.place(label)
	return l, err
}

func (b *builder) ours() (slots []*SignatureField, page int) {
	for i := range b.doc.Fields {
		f := &b.doc.Fields[i]
		if f.Slot != nil {
			slots = append(slots, f)
			if f.Slot.OnSignaturePage && page == 0 {
				page = f.pageRef
			}
		}
	}
	return slots, page
}

// place decides the layout and prepares everything but the signed field's value.
func (b *builder) place(label string) (*target, Layout, error) {
	ours, sigPage := b.ours()
	if len(ours) > 0 {
		for _, f := range ours {
			if f.Slot.Label != label {
				continue
			}
			if f.Signed {
				return nil, Layout{}, newError(CodeAlreadySigned, "Signer %s has already signed this document (field %q).", label, f.Name)
			}
			t, err := b.existingTarget(f, f.Slot)
			if err != nil {
				return nil, Layout{}, err
			}
			if f.Slot.OnSignaturePage {
				t.mode = apSlotHalf
				return t, Layout{LayoutSlot, "The signature page exists; signer " + label + " fills the slot reserved for them."}, nil
			}
			t.mode = apInDoc
			return t, Layout{LayoutInDocument, "Signer " + label + " signs at the field planned for them in the document."}, nil
		}
		s, _ := b.plan.signer(label)
		if s == nil {
			return nil, Layout{}, newError(CodeBadPlan, "Signer %s is neither in the document's plan nor in the plan given; give their name and method.", label)
		}
		if sigPage != 0 {
			t, err := b.newSlot(s, sigPage)
			return t, Layout{LayoutNewSlot, "Signer " + label + " was not planned; a new signature field is added on the signature page (no page content changes after a signature)."}, err
		}
		t, err := b.counterTarget(s)
		return t, Layout{LayoutCounterSignature, "The document is already signed without a signature page; signer " + label + " gets a visible signature field at their position."}, err
	}
	s, idx := b.plan.signer(label)
	if s == nil {
		return nil, Layout{}, newError(CodeBadPlan, "Signer %s is not in the signing plan.", label)
	}
	if b.doc.Signed() || b.doc.MDP >= 2 {
		t, err := b.counterTarget(s)
		why := "The document already carries a signature made elsewhere; a signature page or markers would invalidate it, so signer " + label + " gets a visible signature field at their position."
		if !b.doc.Signed() {
			why = "The document is certified and allows only form filling and signing; signer " + label + " gets a visible signature field at their position."
		}
		return t, Layout{LayoutCounterSignature, why}, err
	}
	if err := b.plan.check(b.doc); err != nil {
		return nil, Layout{}, err
	}
	t, err := b.layoutFirst(idx)
	if err != nil {
		return nil, Layout{}, err
	}
	if t.mode == apInDoc {
		return t, Layout{LayoutFirstInDocument, "The first signature is a " + string(s.Method) + " signature before any X.509 signer; it is drawn at its field, and this update lays out the whole plan."}, nil
	}
	return t, Layout{LayoutSignaturePage, "This is the document's first signature: the signature page and the markers are added now, for the whole plan, so no later signature changes page content."}, nil
}

// existingTarget signs an existing empty signature field.
func (b *builder) existingTarget(f *SignatureField, slot *Slot) (*target, error) {
	fd, err := b.f.Dict(ref(f.num))
	if err != nil {
		return nil, readError(err)
	}
	t := &target{name: f.Name, fieldNum: f.num, widgetNum: f.widgetNum, field: fd, rect: f.Rect, pageRef: f.pageRef, slot: slot}
	if f.widgetNum != f.num {
		if t.widget, err = b.f.Dict(ref(f.widgetNum)); err != nil {
			return nil, readError(err)
		}
	}
	if f.Page > 0 {
		p, err := b.f.Page(f.Page)
		if err != nil {
			return nil, readError(err)
		}
		t.rotate = p.Rotate
	}
	return t, nil
}

// counterTarget places a signer on a document that can take no new page content.
func (b *builder) counterTarget(s *Signer) (*target, error) {
	slot := slotOf(s, false)
	if s.Field != nil && s.Field.Name != "" {
		f := b.doc.field(s.Field.Name)
		if f == nil || f.Signed {
			return nil, newError(CodeBadPlan, "Signer %s is placed at the field %q, which does not exist or is already signed.", s.Label, s.Field.Name)
		}
		t, err := b.existingTarget(f, slot)
		if err != nil {
			return nil, err
		}
		t.mode = apFull
		return t, nil
	}
	if b.doc.MDP >= 2 {
		// A certification allows signing the fields it foresaw, not creating new ones
		// (pyHanko and Acrobat both refuse a field added after a certification).
		return nil, newError(CodeNoChangesAllowed, "The document is certified (DocMDP P=%d): only its existing empty signature fields can be signed; place signer %s at one of them.", b.doc.MDP, s.Label)
	}
	page := b.doc.Pages
	r := b.freeSpot(page)
	if s.Field != nil {
		if s.Field.Page < 1 || s.Field.Page > b.doc.Pages {
			return nil, newError(CodeBadPlan, "Signer %s is placed on page %d; the document has %d pages.", s.Label, s.Field.Page, b.doc.Pages)
		}
		page, r = s.Field.Page, s.Field.Rect.normalized()
	}
	p, err := b.f.Page(page)
	if err != nil {
		return nil, readError(err)
	}
	return b.newFieldOn(p, fullSlotRect(r, p.Media, p.Rotate), s, slot, apFull), nil
}

// Smallest widget that shows a whole slot legibly (reference, name, logo, time, subject).
const minSlotW, minSlotH = 340.0, 84.0

// fullSlotRect grows r to the size a whole slot needs, keeping its corner, and moves it
// back inside the page when growing pushed it out.
func fullSlotRect(r Rect, media types.Array, rot int) Rect {
	w, h := minSlotW, minSlotH
	if rot == 90 || rot == 270 {
		w, h = h, w
	}
	if r.Width() < w {
		r.URX = r.LLX + w
	}
	if r.Height() < h {
		r.URY = r.LLY + h
	}
	if m, ok := rectOf(media); ok {
		if dx := r.URX - m.URX; dx > 0 {
			r.LLX, r.URX = r.LLX-dx, r.URX-dx
		}
		if dy := r.URY - m.URY; dy > 0 {
			r.LLY, r.URY = r.LLY-dy, r.URY-dy
		}
	}
	return r
}

// newFieldOn adds a new signature field with its widget on an existing page.
func (b *builder) newFieldOn(p *pdfread.Page, r Rect, s *Signer, slot *Slot, mode apMode) *target {
	n := b.u.Alloc()
	t := &target{name: b.fieldName(s.Label), fieldNum: n, widgetNum: n, rect: r, pageRef: p.Ref, rotate: p.Rotate, slot: slot, mode: mode}
	b.newFields = append(b.newFields, n)
	e := b.edit(p)
	e.annots = append(e.annots, n)
	return t
}

// newSlot adds a field for an unplanned signer in the free space of the signature page.
func (b *builder) newSlot(s *Signer, sigPage int) (*target, error) {
	var used []stamp.Box
	for _, f := range b.doc.Fields {
		if f.pageRef == sigPage {
			used = append(used, stamp.Box{X: f.Rect.LLX, Y: f.Rect.LLY, W: f.Rect.Width(), H: f.Rect.Height()})
		}
	}
	pd, err := b.f.Dict(ref(sigPage))
	if err != nil || pd == nil {
		return nil, newError(CodeDamagedObject, "The signature page cannot be read.")
	}
	media, _ := pd["MediaBox"].(types.Array)
	mr, ok := rectOf(media)
	if !ok {
		return nil, newError(CodeDamagedObject, "The signature page has no usable /MediaBox.")
	}
	box, ok := stamp.FreeBox(mr.Width(), mr.Height(), used)
	if !ok {
		return nil, newError(CodeNoRoom, "The signature page has no room left for signer %s.", s.Label)
	}
	r := Rect{box.X, box.Y, box.X + box.W, box.Y + box.H}
	p, err := b.f.Page(b.doc.pageNumber(sigPage))
	if err != nil || p.Ref != sigPage {
		return nil, newError(CodeDamagedObject, "The signature page is not in the page tree.")
	}
	return b.newFieldOn(p, r, s, slotOf(s, true), apFull), nil
}

// freeSpot finds room for a whole slot on a page, bottom left first and then upwards,
// clear of the signature widgets already there (earlier counter-signatures).
func (b *builder) freeSpot(page int) Rect {
	r := Rect{36, 36, 36 + minSlotW, 36 + minSlotH}
	for tries := 0; tries < 8; tries++ {
		clear := true
		for _, f := range b.doc.Fields {
			if f.Page == page && overlaps(f.Rect, r) {
				clear = false
				r.LLY, r.URY = f.Rect.URY+8, f.Rect.URY+8+minSlotH
				break
			}
		}
		if clear {
			break
		}
	}
	return r
}

func overlaps(a, b Rect) bool {
	return a.LLX < b.URX && b.LLX < a.URX && a.LLY < b.URY && b.LLY < a.URY
}
