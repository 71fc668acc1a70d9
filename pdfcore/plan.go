package pdfcore

import (
	"fmt"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Method is how a signer signs.
type Method string

const (
	MethodItsme Method = "itsme" // itsme® eSign: qualified, remote (CSC)
	MethodEID   Method = "eid"   // Belgian eID card: qualified, PKCS#11
	MethodX509  Method = "x509"  // any other certificate (HSM, soft token)
	MethodPen   Method = "pen"   // drawn on a touchscreen, sealed by the service
	MethodTAN   Method = "tan"   // one-time code by SMS, sealed by the service
)

// X509 reports whether the signer's own certificate signs (itsme, eID, X.509), as opposed
// to pen and TAN signatures, which the service seals.
func (m Method) X509() bool { return m == MethodItsme || m == MethodEID || m == MethodX509 }

func (m Method) valid() bool {
	switch m {
	case MethodItsme, MethodEID, MethodX509, MethodPen, MethodTAN:
		return true
	}
	return false
}

// Field places a signer in the document: a rectangle on a page, or an existing empty
// signature field by name.
type Field struct {
	Page int    `json:"page"` // 1-based
	Rect Rect   `json:"rect"`
	Name string `json:"name,omitempty"` // an existing empty signature field to use
}

// Signer is one planned signer.
type Signer struct {
	Label    string `json:"label"` // A, B, C…
	Name     string `json:"name"`
	Capacity string `json:"capacity,omitempty"`
	Email    string `json:"email,omitempty"`
	Method   Method `json:"method"`
	// Field is where the signer's mark goes in the document; nil for a signer who only
	// has a slot on the signature page.
	Field *Field `json:"field,omitempty"`
}

// Plan is the whole signing plan, known before the first signature: it decides the layout
// of the one revision that may change page content.
type Plan struct {
	Signers []Signer `json:"signers"`
}

// Slot is what a veilsign signature field records about its signer.
type Slot struct {
	Label    string `json:"label"`
	Name     string `json:"name"`
	Capacity string `json:"capacity,omitempty"`
	Email    string `json:"email,omitempty"`
	Method   Method `json:"method"`
	// OnSignaturePage is true for slots on the signature page, false for signatures drawn
	// at their field in the document (pen and TAN before the first X.509 signature) and
	// for counter-signatures on documents signed elsewhere.
	OnSignaturePage bool `json:"onSignaturePage"`
}

// Labels returns "A", "B", … "Z", "AA", … for i = 0, 1, ….
func Label(i int) string {
	s := ""
	for i >= 0 {
		s = string(rune('A'+i%26)) + s
		i = i/26 - 1
	}
	return s
}

func (p *Plan) signer(label string) (*Signer, int) {
	for i := range p.Signers {
		if p.Signers[i].Label == label {
			return &p.Signers[i], i
		}
	}
	return nil, -1
}

// check validates the plan against the document.
func (p *Plan) check(d *Document) error {
	if len(p.Signers) == 0 {
		return newError(CodeBadPlan, "The signing plan has no signers.")
	}
	labels := map[string]bool{}
	for i, s := range p.Signers {
		who := fmt.Sprintf("signer %d", i+1)
		if s.Label == "" || len(s.Label) > 3 || strings.ToUpper(s.Label) != s.Label {
			return newError(CodeBadPlan, "%s needs a reference label such as A, B or C.", who)
		}
		if labels[s.Label] {
			return newError(CodeBadPlan, "Two signers share the reference %q.", s.Label)
		}
		labels[s.Label] = true
		if strings.TrimSpace(s.Name) == "" {
			return newError(CodeBadPlan, "Signer %s has no name.", s.Label)
		}
		if len(s.Name) > 200 || len(s.Capacity) > 200 || len(s.Email) > 200 {
			return newError(CodeBadPlan, "Signer %s has a name, capacity or e-mail longer than 200 characters.", s.Label)
		}
		if !s.Method.valid() {
			return newError(CodeBadPlan, "Signer %s has the unknown method %q (use itsme, eid, x509, pen or tan).", s.Label, s.Method)
		}
		if f := s.Field; f != nil {
			if f.Name != "" {
				if d.field(f.Name) == nil {
					return newError(CodeBadPlan, "Signer %s is placed at the signature field %q, which the document does not have.", s.Label, f.Name)
				}
				continue
			}
			if f.Page < 1 || f.Page > d.Pages {
				return newError(CodeBadPlan, "Signer %s is placed on page %d; the document has %d pages.", s.Label, f.Page, d.Pages)
			}
			r := f.Rect.normalized()
			if r.Width() < 20 || r.Height() < 10 || r.Width() > 5000 || r.Height() > 5000 {
				return newError(CodeBadPlan, "Signer %s's field %v is too small or too large (at least 20×10 points).", s.Label, f.Rect)
			}
		}
	}
	return nil
}

func (d *Document) field(name string) *SignatureField {
	for i := range d.Fields {
		if d.Fields[i].Name == name {
			return &d.Fields[i]
		}
	}
	return nil
}

func slotFromDict(m types.Dict) *Slot {
	s := &Slot{Label: textOf(m["Ref"]), Name: textOf(m["Name"]), Capacity: textOf(m["Capacity"]), Email: textOf(m["Email"])}
	if v, ok := m["Method"].(types.Name); ok {
		s.Method = Method(v)
	}
	if v, ok := m["Place"].(types.Name); ok {
		s.OnSignaturePage = v == "SignaturePage"
	}
	return s
}

func (s *Slot) dict() types.Dict {
	place := "Document"
	if s.OnSignaturePage {
		place = "SignaturePage"
	}
	d := types.Dict{"Ref": textString(s.Label), "Name": textString(s.Name),
		"Method": types.Name(string(s.Method)), "Place": types.Name(place)}
	if s.Capacity != "" {
		d["Capacity"] = textString(s.Capacity)
	}
	if s.Email != "" {
		d["Email"] = textString(s.Email)
	}
	return d
}

func slotOf(s *Signer, onPage bool) *Slot {
	return &Slot{Label: s.Label, Name: s.Name, Capacity: s.Capacity, Email: s.Email, Method: s.Method, OnSignaturePage: onPage}
}
