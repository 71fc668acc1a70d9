package pdfcore

import (
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/stamp"
)

// layoutFirst builds the one revision allowed to change page content: from the whole plan it
// adds the signature page (when the plan has an X.509 signer), a marker at the field of each
// signer who signs there, and the empty signature fields of every signer. It returns the
// field of the signer at index idx, which this same update signs.
func (b *builder) layoutFirst(idx int) (*target, error) {
	b.first = true
	firstX := -1
	for i, s := range b.plan.Signers {
		if s.Method.X509() {
			firstX = i
			break
		}
	}
	var me *target
	var onPage []int
	for i := range b.plan.Signers {
		if firstX >= 0 && i >= firstX {
			onPage = append(onPage, i)
			continue
		}
		t, err := b.inDocumentField(&b.plan.Signers[i])
		if err != nil {
			return nil, err
		}
		if i == idx {
			me = t
		} else {
			b.writeEmptyField(t)
		}
	}
	if len(onPage) == 0 {
		return me, nil
	}
	last, err := b.f.Page(b.doc.Pages)
	if err != nil {
		return nil, readError(err)
	}
	box := last.Media
	if last.Crop != nil {
		box = last.Crop
	}
	vis, _ := rectOf(box)
	w, h := vis.Width(), vis.Height()
	if last.Rotate == 90 || last.Rotate == 270 {
		w, h = h, w
	}
	if w < 200 || h < 250 {
		// A signature page as small as a tiny last page would be unreadable.
		w, h = a4Width, a4Height
	}
	boxes, err := stamp.SlotBoxes(w, h, len(onPage))
	if err != nil && (w != a4Width || h != a4Height) {
		// The last page is too small for every slot (A5 landscape holds two): an A4
		// signature page does, and legibility matters more than matching the size.
		w, h = a4Width, a4Height
		boxes, err = stamp.SlotBoxes(w, h, len(onPage))
	}
	if err != nil {
		return nil, newError(CodeNoRoom, "%v.", err)
	}
	root, rootNum, err := b.f.PagesRoot()
	if err != nil {
		return nil, readError(err)
	}
	sp := &newPage{num: b.u.Alloc(), parent: rootNum, w: w, h: h}
	b.sigPage = sp
	var slots []stamp.Slot
	for j, i := range onPage {
		s := &b.plan.Signers[i]
		slots = append(slots, stampSlot(slotOf(s, true)))
		bx := boxes[j]
		n := b.u.Alloc()
		t := &target{name: b.fieldName(s.Label), fieldNum: n, widgetNum: n, rect: Rect{bx.X, bx.Y, bx.X + bx.W, bx.Y + bx.H},
			pageRef: sp.num, slot: slotOf(s, true), mode: apSlotHalf}
		b.newFields = append(b.newFields, n)
		sp.annots = append(sp.annots, n)
		if i == idx {
			me = t
		} else {
			b.writeEmptyField(t)
		}
		if s.Field != nil {
			if err := b.addMarker(s); err != nil {
				return nil, err
			}
		}
	}
	sp.content = stamp.SignaturePage(b.fonts, w, h, slots, boxes, b.opts.Time)
	// The page joins the root of the page tree as its last kid.
	nr := clone(root)
	kids, err := b.f.Resolve(root["Kids"])
	if err != nil {
		return nil, readError(err)
	}
	ka, _ := kids.(types.Array)
	nk := make(types.Array, 0, len(ka)+1)
	nk = append(append(nk, ka...), ref(sp.num))
	if kr, ok := root["Kids"].(types.IndirectRef); ok {
		b.u.SetObject(kr.ObjectNumber.Value(), nk) // an indirect /Kids array is updated in place
	} else {
		nr["Kids"] = nk
	}
	nr["Count"] = types.Integer(b.doc.Pages + 1)
	b.u.SetObject(rootNum, nr)
	return me, nil
}

// inDocumentField makes the field of a signer who signs at their place in the document.
func (b *builder) inDocumentField(s *Signer) (*target, error) {
	if s.Field == nil {
		return nil, newError(CodeBadPlan, "Signer %s signs by %s before the first X.509 signer, so the signature is drawn in the document: give them a field.", s.Label, s.Method)
	}
	slot := slotOf(s, false)
	if s.Field.Name != "" {
		f := b.doc.field(s.Field.Name)
		t, err := b.existingTarget(f, slot)
		if err != nil {
			return nil, err
		}
		t.mode = apInDoc
		return t, nil
	}
	p, err := b.f.Page(s.Field.Page)
	if err != nil {
		return nil, readError(err)
	}
	return b.newFieldOn(p, s.Field.Rect.normalized(), s, slot, apInDoc), nil
}

// addMarker draws "Signature: see last page (X)" at the signer's field. An existing empty
// signature field there is replaced by the slot, so no unsigned field is left behind.
func (b *builder) addMarker(s *Signer) error {
	var r Rect
	var pageNum int
	if s.Field.Name != "" {
		f := b.doc.field(s.Field.Name)
		r, pageNum = f.Rect, f.Page
		if pageNum == 0 {
			return newError(CodeBadPlan, "The signature field %q names no page, so its marker cannot be drawn.", f.Name)
		}
		b.dropped[f.num] = true
		p, err := b.f.Page(pageNum)
		if err != nil {
			return readError(err)
		}
		b.edit(p).drop[f.widgetNum] = true
	} else {
		r, pageNum = s.Field.Rect.normalized(), s.Field.Page
	}
	if r.Width() < 20 || r.Height() < 8 {
		return nil // an invisible field: the slot replaces it, there is nowhere to draw
	}
	p, err := b.f.Page(pageNum)
	if err != nil {
		return readError(err)
	}
	_, fw, fh := rotation(p.Rotate, r.Width(), r.Height())
	form := b.form(fw, fh, nil, stamp.Marker(b.fonts, fw, fh, s.Label))
	e := b.edit(p)
	e.markers = append(e.markers, marker{name: "VsMk" + s.Label, form: form, matrix: placement(p.Rotate, r)})
	return nil
}

const a4Width, a4Height = 595.28, 841.89

func stampSlot(s *Slot) stamp.Slot {
	return stamp.Slot{Ref: s.Label, Name: s.Name, Capacity: s.Capacity, Email: s.Email, Method: string(s.Method)}
}
