// Package pdfcore signs PDF documents by incremental update with the OKSign-style layout:
// markers "Signature: see last page (A)" at each field and the signatures themselves on an
// extra last page. It is pure computation on byte slices — no files, no network — so the
// same code runs natively and in WebAssembly.
//
// The flow is two-phase so that a remote signer is asked exactly once per digest:
// Open, then Prepare (a pure function of its inputs that reserves room for the CMS and
// returns the digest), then Embed (which writes the CMS and nothing else).
package pdfcore

import (
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// Document is an opened PDF. Opening parses the cross-reference data and the few objects
// signing needs (catalog, form, signature fields); pages are read on demand.
type Document struct {
	f *pdfread.File
	// Version is the header version, e.g. "1.7".
	Version string
	// Pages is the number of pages.
	Pages int
	// Fields are the document's signature fields, signed or empty, in form order.
	Fields []SignatureField
	// MDP is the DocMDP permission of a certifying signature (1, 2 or 3), 0 when the
	// document is not certified.
	MDP int

	catalog    types.Dict
	catalogNum int
	pageNums   map[int]int // page object number → 1-based page number, built on demand
}

// SignatureField is a signature field found in the document.
type SignatureField struct {
	Name   string `json:"name"`
	Page   int    `json:"page"` // 1-based; 0 when the widget names no page
	Rect   Rect   `json:"rect"`
	Signed bool   `json:"signed"`
	// Slot is set for fields that veilsign created: the planned signer they belong to.
	Slot *Slot `json:"slot,omitempty"`

	num       int // the field dictionary's object number
	widgetNum int // the widget's object number (the same as num for merged fields)
	pageRef   int
}

// Open reads the structure of pdf. The slice is never modified and must not be modified
// by the caller while the Document is in use.
func Open(pdf []byte) (*Document, error) {
	return open(pdfread.Open(pdf))
}

// OpenReaderAt is Open over size bytes of r, read lazily: opening and preparing a signature
// read only the cross-reference data and the objects they use (a few pages of a document
// whose bulk is page content and images), each once. Whole-file work — Bytes, and so
// hashing and verification — reads the rest. r must not change while the Document is in
// use; a failed read is an error with CodeRead. The browser opens the page's buffer this
// way, so the document is never copied whole into the WASM memory (DESIGN.md, "Reading").
func OpenReaderAt(r io.ReaderAt, size int64) (*Document, error) {
	return open(pdfread.OpenReaderAt(r, size))
}

func open(f *pdfread.File, err error) (*Document, error) {
	if err != nil {
		return nil, readError(err)
	}
	if _, ok := f.Trailer["Encrypt"]; ok {
		return nil, newError(CodeEncrypted, "The PDF is encrypted; remove the password protection before signing it.")
	}
	d := &Document{f: f, Version: f.Header}
	d.catalog, d.catalogNum, err = f.Root()
	if err != nil {
		return nil, readError(err)
	}
	if v, ok := d.catalog["Version"].(types.Name); ok && string(v) > d.Version {
		d.Version = string(v)
	}
	if d.Pages, err = f.PageCount(); err != nil {
		return nil, readError(err)
	}
	if d.Pages == 0 {
		return nil, newError(CodeDamagedObject, "The PDF has no pages.")
	}
	if d.MDP, err = d.docMDP(); err != nil {
		return nil, readError(err)
	}
	if err := d.readFields(); err != nil {
		return nil, readError(err)
	}
	return d, nil
}

// Bytes returns the document's bytes (not a copy; callers must not change them). A document
// opened with OpenReaderAt is read whole for it.
func (d *Document) Bytes() ([]byte, error) {
	b, err := d.f.Bytes()
	if err != nil {
		return nil, readError(err)
	}
	return b, nil
}

// afterReading returns v and err unless a read of doc's source failed meanwhile: then the
// read error, since what was concluded may rest on bytes that were not there (a document
// opened with OpenReaderAt reads its source as operations need it).
func afterReading[T any](doc *Document, v T, err error) (T, error) {
	if rerr := doc.f.ReadErr(); rerr != nil {
		var zero T
		return zero, readError(rerr)
	}
	return v, err
}

// Size is the document's length in bytes.
func (d *Document) Size() int64 { return d.f.Len() }

// Signed reports whether any signature field of the document is signed.
func (d *Document) Signed() bool {
	for _, f := range d.Fields {
		if f.Signed {
			return true
		}
	}
	return false
}

// docMDP reads the DocMDP permission of a certification signature (ISO 32000 12.8.2.2).
func (d *Document) docMDP() (int, error) {
	perms, err := d.f.Dict(d.catalog["Perms"])
	if err != nil || perms == nil {
		return 0, err
	}
	sig, err := d.f.Dict(perms["DocMDP"])
	if err != nil || sig == nil {
		return 0, err
	}
	refs, err := d.f.Resolve(sig["Reference"])
	if err != nil {
		return 0, err
	}
	arr, _ := refs.(types.Array)
	for _, r := range arr {
		ref, err := d.f.Dict(r)
		if err != nil || ref == nil {
			continue
		}
		if m, ok := ref["TransformMethod"].(types.Name); !ok || m != "DocMDP" {
			continue
		}
		params, err := d.f.Dict(ref["TransformParams"])
		if err != nil {
			return 0, err
		}
		if p, ok := params["P"].(types.Integer); ok && p >= 1 && p <= 3 {
			return int(p), nil
		}
		return 2, nil // the default when /P is absent
	}
	return 0, nil
}

// pageNumber maps a page object number to its page number, walking the page tree once
// (one walk, not one descent per page: that was quadratic in the pages of a flat tree).
// A damaged tree maps the pages found before the damage, as before.
func (d *Document) pageNumber(ref int) int {
	if d.pageNums == nil {
		d.pageNums, _ = d.f.PageNumbers(d.Pages)
	}
	return d.pageNums[ref]
}

// Rect is a rectangle in PDF default user space (points, origin bottom left).
type Rect struct {
	LLX float64 `json:"llx"`
	LLY float64 `json:"lly"`
	URX float64 `json:"urx"`
	URY float64 `json:"ury"`
}

// Width and Height of the rectangle.
func (r Rect) Width() float64  { return r.URX - r.LLX }
func (r Rect) Height() float64 { return r.URY - r.LLY }

func (r Rect) normalized() Rect {
	if r.LLX > r.URX {
		r.LLX, r.URX = r.URX, r.LLX
	}
	if r.LLY > r.URY {
		r.LLY, r.URY = r.URY, r.LLY
	}
	return r
}

func (r Rect) array() types.Array {
	return types.Array{num(r.LLX), num(r.LLY), num(r.URX), num(r.URY)}
}

func (r Rect) String() string {
	return fmt.Sprintf("[%g %g %g %g]", r.LLX, r.LLY, r.URX, r.URY)
}

func rectOf(a types.Array) (Rect, bool) {
	if len(a) != 4 {
		return Rect{}, false
	}
	var v [4]float64
	for i, o := range a {
		switch n := o.(type) {
		case types.Integer:
			v[i] = float64(n)
		case types.Float:
			v[i] = float64(n)
		default:
			return Rect{}, false
		}
	}
	return Rect{v[0], v[1], v[2], v[3]}.normalized(), true
}

// num writes a coordinate as an integer when it is one, else with two decimals, so files
// stay small and the output is the same on every platform.
func num(v float64) types.Object {
	if v == float64(int64(v)) {
		return types.Integer(int64(v))
	}
	return types.Float(float64(int64(v*100+copysign(0.5, v))) / 100)
}

func copysign(a, b float64) float64 {
	if b < 0 {
		return -a
	}
	return a
}
