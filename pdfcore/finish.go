package pdfcore

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/image"
	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
	"github.com/veilsign/veilsign/pdfcore/internal/stamp"
)

// writeEmptyField writes a planned signer's field, not yet signed. Slots on the signature
// page show "Awaiting signature"; in-document fields stay blank until their signer draws.
func (b *builder) writeEmptyField(t *target) {
	if t.field != nil { // an existing field: record the plan in it
		fd := clone(t.field)
		fd[slotKey] = t.slot.dict()
		b.u.SetObject(t.fieldNum, fd)
		return
	}
	fd := fieldDict(t.name, t.rect, t.pageRef, t.slot)
	if t.mode == apSlotHalf {
		fd["AP"] = types.Dict{"N": ref(b.appearance(t, nil))}
	}
	b.u.SetObject(t.fieldNum, fd)
}

// fill writes the signed field: its value is the signature dictionary sigNum and its
// appearance shows the signature.
func (b *builder) fill(t *target, sigNum int) error {
	ap := b.appearance(t, b.signedView(t))
	var fd types.Dict
	if t.field != nil {
		fd = clone(t.field)
	} else {
		fd = fieldDict(t.name, t.rect, t.pageRef, t.slot)
	}
	fd["V"] = ref(sigNum)
	if t.slot != nil {
		fd[slotKey] = t.slot.dict()
	}
	if t.widget != nil { // the widget is its own object: the appearance goes there
		wd := clone(t.widget)
		wd["AP"] = types.Dict{"N": ref(ap)}
		b.u.SetObject(t.widgetNum, wd)
	} else {
		fd["AP"] = types.Dict{"N": ref(ap)}
		if _, ok := fd["F"]; !ok {
			fd["F"] = types.Integer(4) // print: a signature shows on paper too
		}
	}
	b.u.SetObject(t.fieldNum, fd)
	return nil
}

// appearance registers the widget appearance of t; signed nil draws the waiting state.
func (b *builder) appearance(t *target, signed *stamp.Signed) int {
	matrix, w, h := rotation(t.rotate, t.rect.Width(), t.rect.Height())
	slot := stamp.Slot{}
	if t.slot != nil {
		slot = stampSlot(t.slot)
	}
	var c stamp.Content
	switch {
	case t.mode == apInDoc && signed != nil:
		c = stamp.InDocument(b.fonts, w, h, slot, signed)
	default:
		c = stamp.Appearance(b.fonts, w, h, slot, signed, t.mode == apFull)
	}
	return b.form(w, h, matrix, c)
}

// signedView is what the slot shows about the signature: time, and who the certificate
// says signed (for pen and TAN, the seal that sealed it).
func (b *builder) signedView(t *target) *stamp.Signed {
	leaf := b.chain[0]
	s := &stamp.Signed{Time: b.opts.Time, Issuer: leaf.Issuer.CommonName, Evidence: b.opts.Evidence, Ink: b.opts.Ink}
	if t.slot != nil {
		s.Method = string(t.slot.Method)
	}
	if t.slot != nil && !t.slot.Method.X509() {
		s.Subject = "Sealed by " + displayName(leaf)
		return s
	}
	s.Subject = displayName(leaf)
	if sn := leaf.Subject.SerialNumber; sn != "" {
		s.Subject += " · " + sn
	}
	s.Qualified = qcCompliant(leaf)
	return s
}

// displayName is "Given Surname" from the subject, or its common name.
func displayName(c *x509.Certificate) string {
	var gn, sn string
	for _, a := range c.Subject.Names {
		v, _ := a.Value.(string)
		switch {
		case a.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 42}):
			gn = v
		case a.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 4}):
			sn = v
		}
	}
	if gn != "" || sn != "" {
		return strings.TrimSpace(gn + " " + sn)
	}
	return c.Subject.CommonName
}

var (
	oidQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	oidQcCompliance = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
)

// qcCompliant reports whether the certificate declares itself EU qualified (ETSI EN 319 412-5
// QcCompliance).
func qcCompliant(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidQCStatements) {
			continue
		}
		var stmts []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &stmts); err != nil {
			return false
		}
		for _, st := range stmts {
			var id asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(st.Bytes, &id); err == nil && id.Equal(oidQcCompliance) {
				return true
			}
		}
	}
	return false
}

// finish writes what waited for the whole update to be known: logos, the font subsets, the
// forms with their resources, the signature page, the changed pages and the form.
func (b *builder) finish() error {
	logos, err := b.writeLogos()
	if err != nil {
		return err
	}
	fonts := types.Dict{}
	for _, f := range []struct {
		name string
		sub  interface {
			Glyphs() int
			Objects(func() int) (int, []rawobj.Object, error)
		}
	}{{stamp.FontRegular, b.fonts.Regular}, {stamp.FontBold, b.fonts.Bold}} {
		if f.sub.Glyphs() == 0 {
			continue
		}
		n, objs, err := f.sub.Objects(b.u.Alloc)
		if err != nil {
			return err
		}
		b.setRaw(objs)
		fonts[f.name] = ref(n)
	}
	resources := func(c stamp.Content) types.Dict {
		r := types.Dict{"Font": fonts}
		if len(c.Logos) > 0 {
			x := types.Dict{}
			for _, m := range c.Logos {
				x[stamp.LogoName(m)] = ref(logos[m])
			}
			r["XObject"] = x
		}
		return r
	}
	for _, f := range b.forms {
		entries := "/Type /XObject /Subtype /Form /BBox [0 0 " + fnum(f.w) + " " + fnum(f.h) + "] /Resources " + resources(f.content).PDFString()
		if f.matrix != nil {
			entries += " /Matrix [" + fnums(f.matrix) + "]"
		}
		b.u.Set(f.num, rawobj.Stream(entries, f.content.Data, true))
	}
	if sp := b.sigPage; sp != nil {
		cn := b.u.Alloc()
		b.u.Set(cn, rawobj.Stream("", sp.content.Data, true))
		annots := make(types.Array, len(sp.annots))
		for i, a := range sp.annots {
			annots[i] = ref(a)
		}
		b.u.SetObject(sp.num, types.Dict{
			"Type": types.Name("Page"), "Parent": ref(sp.parent),
			"MediaBox": Rect{0, 0, sp.w, sp.h}.array(), "Resources": resources(sp.content),
			"Contents": ref(cn), "Annots": annots,
		})
	}
	for _, num := range b.pageOrder {
		if err := b.writePage(b.pages[num]); err != nil {
			return err
		}
	}
	if len(b.newFields) > 0 || len(b.dropped) > 0 {
		if err := b.writeForm(); err != nil {
			return err
		}
	}
	b.declareVersion()
	if b.catalog != nil {
		b.u.SetObject(b.doc.catalogNum, b.catalog)
	}
	return nil
}

// writeLogos writes the logo of every method drawn in this update: the caller's image when
// given, else the built-in neutral mark.
func (b *builder) writeLogos() (map[string]int, error) {
	used := map[string]bool{}
	for _, f := range b.forms {
		for _, m := range f.content.Logos {
			used[m] = true
		}
	}
	if b.sigPage != nil {
		for _, m := range b.sigPage.content.Logos {
			used[m] = true
		}
	}
	names := make([]string, 0, len(used))
	for m := range used {
		names = append(names, m)
	}
	sort.Strings(names)
	out := map[string]int{}
	for _, m := range names {
		if data, ok := b.opts.Logos[Method(m)]; ok && len(data) > 0 {
			img, w, h, objs, err := image.Import(data, b.u.Alloc)
			if err != nil {
				return nil, &Error{Code: CodeBadImage, Msg: "The logo for " + m + " cannot be used: " + err.Error(), Err: err}
			}
			b.setRaw(objs)
			// Fit the image in the 100×100 box the layout expects, keeping its aspect.
			sw, sh := 100.0, 100.0*float64(h)/float64(w)
			if h > w {
				sw, sh = 100.0*float64(w)/float64(h), 100.0
			}
			content := fmt.Sprintf("q %s 0 0 %s %s %s cm /Im Do Q", fnum(sw), fnum(sh), fnum((100-sw)/2), fnum((100-sh)/2))
			n := b.u.Alloc()
			b.u.Set(n, rawobj.Stream("/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /Im "+strconv.Itoa(img)+" 0 R >> >>", []byte(content), false))
			out[m] = n
			continue
		}
		n, objs := image.LogoXObject(m, b.u.Alloc)
		b.setRaw(objs)
		out[m] = n
	}
	return out, nil
}

func (b *builder) setRaw(objs []rawobj.Object) {
	for _, o := range objs {
		b.u.Set(o.Num, o.Body)
	}
}

func fnum(v float64) string {
	return strconv.FormatFloat(float64(int64(v*1000+copysign(0.5, v)))/1000, 'f', -1, 64)
}

func fnums(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fnum(x)
	}
	return strings.Join(s, " ")
}

// writePage rewrites a page of the document: markers are drawn after the original content,
// which is wrapped in q/Q so its graphics state cannot leak into them; new widgets join
// /Annots and replaced ones leave it.
func (b *builder) writePage(e *pageEdit) error {
	pd := clone(e.page.Dict)
	changed := len(e.markers) > 0
	if len(e.markers) > 0 {
		var tail bytes.Buffer
		xobj := types.Dict{}
		if old, err := b.f.Dict(e.page.Resources["XObject"]); err == nil && old != nil {
			xobj = clone(old)
		}
		_, hasContent := pd["Contents"]
		if hasContent {
			tail.WriteString("Q\n")
		}
		for _, m := range e.markers {
			name := m.name
			for i := 2; xobj[name] != nil; i++ {
				name = m.name + "_" + strconv.Itoa(i)
			}
			xobj[name] = ref(m.form)
			fmt.Fprintf(&tail, "q %s cm /%s Do Q\n", fnums(m.matrix[:]), name)
		}
		res := types.Dict{}
		if e.page.Resources != nil {
			res = clone(e.page.Resources)
		}
		res["XObject"] = xobj
		pd["Resources"] = res
		tn := b.u.Alloc()
		b.u.Set(tn, rawobj.Stream("", tail.Bytes(), false))
		var contents types.Array
		if hasContent {
			hn := b.u.Alloc()
			b.u.Set(hn, rawobj.Stream("", []byte("q\n"), false))
			contents = append(contents, ref(hn))
			c, err := b.f.Resolve(pd["Contents"])
			if err != nil {
				return readError(err)
			}
			if arr, ok := c.(types.Array); ok {
				contents = append(contents, arr...)
			} else {
				contents = append(contents, pd["Contents"])
			}
		}
		pd["Contents"] = append(contents, ref(tn))
	}
	if len(e.annots) > 0 || len(e.drop) > 0 {
		inDict, err := b.editRefArray(pd, "Annots", e.drop, e.annots)
		if err != nil {
			return err
		}
		changed = changed || inDict
	}
	if changed {
		b.u.SetObject(e.page.Ref, pd)
	}
	return nil
}

// editRefArray rewrites the array of references holder[key] (a page's /Annots, the form's
// /Fields) without the objects in drop and with add appended. An indirect array is updated
// in place; a direct one is set in holder, and inDict says so (holder must be written).
func (b *builder) editRefArray(holder types.Dict, key string, drop map[int]bool, add []int) (inDict bool, err error) {
	old, err := b.f.Resolve(holder[key])
	if err != nil {
		return false, readError(err)
	}
	oa, _ := old.(types.Array)
	na := make(types.Array, 0, len(oa)+len(add))
	for _, o := range oa {
		if r, ok := o.(types.IndirectRef); ok && drop[r.ObjectNumber.Value()] {
			continue
		}
		na = append(na, o)
	}
	for _, n := range add {
		na = append(na, ref(n))
	}
	if r, ok := holder[key].(types.IndirectRef); ok {
		b.u.SetObject(r.ObjectNumber.Value(), na)
		return false, nil
	}
	holder[key] = na
	return true, nil
}

// writeForm adds the new fields to the AcroForm (creating it when the document has none)
// and removes the fields a slot replaced; /SigFlags says the document has signatures and
// must be saved incrementally.
func (b *builder) writeForm() error {
	cat := b.doc.catalog
	var form types.Dict
	formRef, indirect := cat["AcroForm"].(types.IndirectRef)
	if old, err := b.f.Dict(cat["AcroForm"]); err != nil {
		return readError(err)
	} else if old != nil {
		form = clone(old)
	} else {
		form = types.Dict{}
		indirect = false
	}
	if _, err := b.editRefArray(form, "Fields", b.dropped, b.newFields); err != nil {
		return err
	}
	if b.first || !b.doc.Signed() {
		// SignaturesExist|AppendOnly. After a signature the form dictionary must stay as
		// signed: pyHanko counts even this key as a change after signing.
		form["SigFlags"] = types.Integer(3)
	}
	// /NeedAppearances stays as the author set it: clearing it would make viewers draw the
	// other fields from their stored appearances, which some producers write incompletely
	// (LibreOffice's check boxes name a ZapfDingbats font they do not provide), changing how
	// the signed pages look. The cost: poppler and MuPDF redraw every widget of such forms
	// themselves and show no signature appearance; Acrobat shows it.
	if indirect {
		b.u.SetObject(formRef.ObjectNumber.Value(), form)
		return nil
	}
	b.editCatalog()["AcroForm"] = form
	return nil
}

// editCatalog returns the catalog as this update will write it.
func (b *builder) editCatalog() types.Dict {
	if b.catalog == nil {
		b.catalog = clone(b.doc.catalog)
	}
	return b.catalog
}

// declareVersion raises the catalog's /Version to 1.7 in the first signed revision when
// the file is older: signature fields, /TU, soft masks and ETSI.CAdES.detached are not
// PDF 1.2 features, and validators (pdfcpu) refuse them under an older version.
func (b *builder) declareVersion() {
	if b.first && b.doc.Version < "1.7" {
		b.editCatalog()["Version"] = types.Name("1.7")
	}
}
