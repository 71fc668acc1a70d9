package pdfcore

import (
	"encoding/hex"
	"strings"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// slotKey is the private entry in which veilsign records, in each signature field it
// creates, the planned signer it belongs to. Later signatures read the plan back from it, so
// a document carries its own plan and no other state is needed between signers.
const slotKey = "VeilsignSlot"

// readFields walks the AcroForm field tree and records every signature field.
func (d *Document) readFields() error {
	form, err := d.f.Dict(d.catalog["AcroForm"])
	if err != nil || form == nil {
		return err
	}
	fields, err := d.f.Resolve(form["Fields"])
	if err != nil {
		return err
	}
	arr, _ := fields.(types.Array)
	seen := map[int]bool{}
	for _, o := range arr {
		if err := d.walkField(o, "", "", seen, 0); err != nil {
			return err
		}
	}
	return nil
}

func (d *Document) walkField(o types.Object, parent, ft string, seen map[int]bool, depth int) error {
	ref, ok := o.(types.IndirectRef)
	if !ok || depth > 32 {
		return nil
	}
	num := ref.ObjectNumber.Value()
	if seen[num] {
		return nil // a loop in the field tree; each field is visited once
	}
	seen[num] = true
	fd, err := d.f.Dict(ref)
	if err != nil || fd == nil {
		return err
	}
	name := parent
	if t := textOf(fd["T"]); t != "" {
		if name != "" {
			name += "."
		}
		name += t
	}
	if v, ok := fd["FT"].(types.Name); ok {
		ft = string(v)
	}
	kids, err := d.f.Resolve(fd["Kids"])
	if err != nil {
		return err
	}
	karr, _ := kids.(types.Array)
	// Kids that carry /T are fields; kids without it are this field's widgets.
	var widgets []int
	for _, k := range karr {
		kr, ok := k.(types.IndirectRef)
		if !ok {
			continue
		}
		kd, err := d.f.Dict(kr)
		if err != nil {
			return err
		}
		if kd == nil {
			continue
		}
		if _, hasT := kd["T"]; hasT {
			if err := d.walkField(kr, name, ft, seen, depth+1); err != nil {
				return err
			}
		} else {
			widgets = append(widgets, kr.ObjectNumber.Value())
		}
	}
	if ft != "Sig" || (len(karr) > 0 && len(widgets) == 0) {
		return nil
	}
	sf := SignatureField{Name: name, num: num, widgetNum: num}
	_, sf.Signed = fd["V"]
	if v, ok := fd["V"]; ok && v == nil {
		sf.Signed = false
	}
	if len(widgets) > 0 {
		sf.widgetNum = widgets[0]
	}
	w, err := d.f.Dict(types.IndirectRef{ObjectNumber: types.Integer(sf.widgetNum)})
	if err != nil {
		return err
	}
	if w != nil {
		if v, ok := w["V"]; ok && v != nil && !sf.Signed {
			// poppler's pdfsig puts /V on the widget kid rather than the field; readers
			// (pdfsig, pdfcpu) count it, so do we.
			sf.Signed = true
		}
		if r, err := d.f.Resolve(w["Rect"]); err == nil {
			if a, ok := r.(types.Array); ok {
				sf.Rect, _ = rectOf(a)
			}
		}
		if p, ok := w["P"].(types.IndirectRef); ok {
			sf.pageRef = p.ObjectNumber.Value()
			sf.Page = d.pageNumber(sf.pageRef)
		}
	}
	if meta, err := d.f.Dict(fd[slotKey]); err == nil && meta != nil {
		sf.Slot = slotFromDict(meta)
	}
	d.Fields = append(d.Fields, sf)
	return nil
}

// textOf decodes a PDF text string (PDFDocEncoding or UTF-16BE) into UTF-8.
func textOf(o types.Object) string {
	s, err := types.StringOrHexLiteral(o)
	if err != nil || s == nil {
		return ""
	}
	return *s
}

// textString encodes s as a PDF text string: a literal for plain ASCII, UTF-16BE with a
// byte order mark for anything else (ISO 32000 7.9.2.2).
func textString(s string) types.Object {
	ascii := true
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		e, err := types.Escape(s)
		if err == nil {
			return types.StringLiteral(*e)
		}
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xfe, 0xff
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return types.HexLiteral(strings.ToUpper(hex.EncodeToString(b)))
}
