package pdfcore

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfwrite"
	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

// attack is a forged variant of a signed document and what the verifier must say of it.
type attack struct {
	name string
	make func(t *testing.T, signed []byte) []byte
	// wantKind is a change kind that must be reported (not allowed); wantInvalid means
	// the signature itself must be reported invalid instead.
	wantKind    string
	wantInvalid bool
	wantReason  string // part of the reason given for an invalid signature
}

// appendUpdate applies edit to a new incremental update of data.
func appendUpdate(t *testing.T, data []byte, edit func(f *pdfread.File, u *pdfwrite.Update)) []byte {
	t.Helper()
	f, err := pdfread.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	u := pdfwrite.New(f)
	edit(f, u)
	res, err := u.Write()
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(data), res.Bytes...)
}

func page1(t *testing.T, f *pdfread.File) *pdfread.Page {
	p, err := f.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func overlay(text string) []byte {
	return []byte(fmt.Sprintf("q 1 1 1 rg 50 600 400 120 re f Q BT /Helvetica 36 Tf 60 640 Td (%s) Tj ET", text))
}

// withPage1 rewrites page 1's dictionary.
func withPage1(t *testing.T, f *pdfread.File, u *pdfwrite.Update, change func(d types.Dict)) {
	p := page1(t, f)
	d := clone(p.Dict)
	change(d)
	u.SetObject(p.Ref, d)
}

var attacks = []attack{
	{name: "replace page content", wantKind: ChangePageContent, make: func(t *testing.T, s []byte) []byte {
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			n := u.Alloc()
			u.Set(n, rawobj.Stream("", overlay("PAID IN FULL"), false))
			withPage1(t, f, u, func(d types.Dict) { d["Contents"] = ref(n) })
		})
	}},
	{name: "redefine content stream object", wantKind: ChangeObjectRedefined, make: func(t *testing.T, s []byte) []byte {
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			p := page1(t, f)
			c, _ := f.Resolve(p.Dict["Contents"])
			var num int
			switch v := c.(type) {
			case types.Array:
				num = v[len(v)-1].(types.IndirectRef).ObjectNumber.Value()
			default:
				num = p.Dict["Contents"].(types.IndirectRef).ObjectNumber.Value()
			}
			u.Set(num, rawobj.Stream("", overlay("VOID"), false))
		})
	}},
	{name: "redefine font", wantKind: ChangeObjectRedefined, make: func(t *testing.T, s []byte) []byte {
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			p := page1(t, f)
			fonts, _ := f.Dict(p.Resources["Font"])
			for _, v := range fonts {
				if r, ok := v.(types.IndirectRef); ok {
					u.SetObject(r.ObjectNumber.Value(), types.Dict{"Type": types.Name("Font"), "Subtype": types.Name("Type1"), "BaseFont": types.Name("Courier")})
					return
				}
			}
			t.Fatal("page 1 has no indirect font")
		})
	}},
	{name: "add page", wantKind: ChangePageAdded, make: func(t *testing.T, s []byte) []byte {
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			root, rootNum, _ := f.PagesRoot()
			c := u.Alloc()
			u.Set(c, rawobj.Stream("", overlay("Annex: new terms"), false))
			pg := u.Alloc()
			u.SetObject(pg, types.Dict{"Type": types.Name("Page"), "Parent": ref(rootNum), "MediaBox": types.Array{types.Integer(0), types.Integer(0), types.Integer(595), types.Integer(842)}, "Contents": ref(c)})
			nr := clone(root)
			kids, _ := f.Resolve(root["Kids"])
			nr["Kids"] = append(append(types.Array{}, kids.(types.Array)...), ref(pg))
			nr["Count"] = root["Count"].(types.Integer) + 1
			u.SetObject(rootNum, nr)
		})
	}},
	{name: "covering annotation", wantKind: ChangeAnnotationAdded, make: func(t *testing.T, s []byte) []byte {
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			a := u.Alloc()
			u.SetObject(a, types.Dict{"Type": types.Name("Annot"), "Subtype": types.Name("Square"), "Rect": types.Array{types.Integer(40), types.Integer(500), types.Integer(560), types.Integer(800)},
				"IC": types.Array{types.Integer(1), types.Integer(1), types.Integer(1)}, "F": types.Integer(4)})
			addAnnot(t, f, u, a)
		})
	}},
	{name: "shadow hide (overlay prepared before signing)", wantKind: ChangeAnnotationAdded, make: shadow("hide")},
	{name: "shadow replace (content prepared before signing)", wantKind: ChangePageContent, make: shadow("replace")},
	{name: "shadow hide-and-replace", wantKind: ChangePageContent, make: shadow("hide-and-replace")},
	{name: "byte range skips bytes", wantInvalid: true, wantReason: "does not cover", make: func(t *testing.T, s []byte) []byte {
		out := bytes.Clone(s)
		i := bytes.LastIndex(out, []byte("/ByteRange [0 "))
		end := bytes.IndexByte(out[i:], ']') + i
		var a, b, c int64
		fmt.Sscanf(string(out[i+len("/ByteRange [0 "):end]), "%d %d %d", &a, &b, &c)
		repl := fmt.Sprintf("[0 %d %d %d]", a, b, c-40) // leave the last 40 bytes out
		start := i + len("/ByteRange ")
		copy(out[start:], fmt.Sprintf("%-*s", end+1-start, repl))
		return out
	}},
	{name: "contents moved out of the gap", wantInvalid: true, wantReason: "does not cover", make: func(t *testing.T, s []byte) []byte {
		// The signature dictionary is redefined in a later revision with its /Contents
		// elsewhere; the old gap still holds hex but no longer belongs to it.
		return appendUpdate(t, s, func(f *pdfread.File, u *pdfwrite.Update) {
			num, sig := lastSigDict(t, f)
			d := clone(sig)
			d["Contents"] = types.HexLiteral(strings.Repeat("00", 64))
			u.SetObject(num, d)
		})
	}},
	{name: "second /Contents key", wantInvalid: true, wantReason: "does not cover", make: func(t *testing.T, s []byte) []byte {
		// The /Prop_Build entry becomes a second /Contents of the same length: a parser
		// that takes the first key would read a different value than the gap holds.
		out := bytes.Clone(s)
		i := bytes.LastIndex(out, []byte("/Prop_Build"))
		end := bytes.Index(out[i:], []byte("\n/Contents <")) + i
		entry := "/Contents (forged)"
		copy(out[i:end], entry+strings.Repeat(" ", end-i-len(entry)))
		return out
	}},
	{name: "truncated CMS", wantInvalid: true, wantReason: "cannot be read", make: func(t *testing.T, s []byte) []byte {
		out := bytes.Clone(s)
		i := bytes.LastIndex(out, []byte("/Contents <")) + len("/Contents <")
		for j := i + 400; out[j] != '>'; j++ {
			out[j] = '0'
		}
		return out
	}},
	{name: "CMS for another digest", wantInvalid: true, wantReason: "changed after signing", make: func(t *testing.T, s []byte) []byte {
		_, id := testPKI()
		other := sha256.Sum256([]byte("another document"))
		der, err := cms.Sign(other[:], crypto.SHA256, id.Chain, id.Key)
		if err != nil {
			t.Fatal(err)
		}
		out := bytes.Clone(s)
		i := bytes.LastIndex(out, []byte("/Contents <")) + len("/Contents <")
		end := bytes.IndexByte(out[i:], '>') + i
		for j := i; j < end; j++ {
			out[j] = '0'
		}
		hex.Encode(out[i:], der)
		return out
	}},
}

func addAnnot(t *testing.T, f *pdfread.File, u *pdfwrite.Update, a int) {
	p := page1(t, f)
	old, _ := f.Resolve(p.Dict["Annots"])
	arr, _ := old.(types.Array)
	na := append(append(types.Array{}, arr...), ref(a))
	if r, ok := p.Dict["Annots"].(types.IndirectRef); ok {
		u.SetObject(r.ObjectNumber.Value(), na)
		return
	}
	withPage1(t, f, u, func(d types.Dict) { d["Annots"] = na })
}

func lastSigDict(t *testing.T, f *pdfread.File) (int, types.Dict) {
	for n := f.Size() - 1; n > 0; n-- {
		d, _ := f.Dict(ref(n))
		if tp, _ := d["Type"].(types.Name); tp == "Sig" {
			return n, d
		}
	}
	t.Fatal("no signature dictionary")
	return 0, nil
}

// shadow builds the 2021 shadow attacks: the attacker adds, before the document is signed,
// objects nothing shows (an overlay form, a replacement content stream); after signing a
// small update makes them visible.
func shadow(variant string) func(t *testing.T, s []byte) []byte {
	return func(t *testing.T, _ []byte) []byte {
		base := readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")
		var hidden, replacement int
		prepared := appendUpdate(t, base, func(f *pdfread.File, u *pdfwrite.Update) {
			hidden = u.Alloc()
			u.Set(hidden, rawobj.Stream("/Type /XObject /Subtype /Form /BBox [0 0 600 800]", overlay("AMOUNT: 1,000,000 EUR"), false))
			replacement = u.Alloc()
			u.Set(replacement, rawobj.Stream("", overlay("This contract is void."), false))
			// Referenced from nowhere visible: an unused entry of the catalog keeps them.
			cat, catNum, _ := f.Root()
			c := clone(cat)
			c["Shadow"] = types.Array{ref(hidden), ref(replacement)}
			u.SetObject(catNum, c)
		})
		signed := signA(t, prepared)
		return appendUpdate(t, signed, func(f *pdfread.File, u *pdfwrite.Update) {
			p := page1(t, f)
			d := clone(p.Dict)
			if variant != "replace" {
				a := u.Alloc()
				u.SetObject(a, types.Dict{"Type": types.Name("Annot"), "Subtype": types.Name("FreeText"), "Rect": types.Array{types.Integer(0), types.Integer(0), types.Integer(600), types.Integer(800)},
					"AP": types.Dict{"N": ref(hidden)}, "F": types.Integer(4)})
				old, _ := f.Resolve(p.Dict["Annots"])
				arr, _ := old.(types.Array)
				d["Annots"] = append(append(types.Array{}, arr...), ref(a))
			}
			if variant != "hide" {
				d["Contents"] = ref(replacement)
			}
			u.SetObject(p.Ref, d)
		})
	}
}

// TestAttacks forges signed documents and checks that none of them verifies, each for the
// right reason, while the untouched signed file stays valid.
func TestAttacks(t *testing.T) {
	base := readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")
	signed := signA(t, base)
	rep, err := Verify(signed, VerifyOptions{})
	if err != nil || !rep.Valid {
		t.Fatalf("the untouched signed file is not valid: %+v %v", rep, err)
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			forged := a.make(t, signed)
			rep, err := Verify(forged, VerifyOptions{})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.Valid {
				t.Fatalf("the forged document verifies as valid: %+v", rep.Signatures)
			}
			s := rep.Signatures[0]
			if a.wantInvalid {
				if s.Integrity != "invalid" {
					t.Fatalf("integrity %q, want invalid (changes %+v)", s.Integrity, s.ChangesAfter)
				}
				if !strings.Contains(s.Reason, a.wantReason) {
					t.Fatalf("reason %q does not say %q", s.Reason, a.wantReason)
				}
				return
			}
			if s.Integrity != "valid" {
				t.Fatalf("the signed revision itself should still verify; got %s: %s", s.Integrity, s.Reason)
			}
			found := false
			for _, c := range s.ChangesAfter {
				if c.Kind == a.wantKind && !c.Allowed {
					found = true
				}
			}
			if !found {
				t.Fatalf("no disallowed %s change reported; got %+v", a.wantKind, s.ChangesAfter)
			}
			if rep.Summary != SummaryChanged {
				t.Fatalf("summary %q", rep.Summary)
			}
		})
	}
}

// Forgery is a forged document for the peer comparison in the external test package.
type Forgery struct {
	Name string
	PDF  []byte
}

// Forgeries builds every attack of the suite on one signed document (exported for
// attack_peers_test.go, which compares what pdfsig and pdfcpu make of them).
func Forgeries(t *testing.T) (signed []byte, out []Forgery) {
	signed = signA(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf"))
	for _, a := range attacks {
		out = append(out, Forgery{Name: a.name, PDF: a.make(t, signed)})
	}
	return signed, out
}
