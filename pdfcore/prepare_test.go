package pdfcore

import (
	"bytes"
	"crypto"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/cms"
)

func onePlan() *Plan {
	return &Plan{Signers: []Signer{{Label: "A", Name: "Jan Peeters", Method: MethodItsme, Field: &Field{Page: 1, Rect: Rect{300, 60, 520, 100}}}}}
}

// TestEmbedChangesOnlyContents: the signed file equals the prepared one except inside the
// /Contents placeholder, and the original is an exact prefix of both.
func TestEmbedChangesOnlyContents(t *testing.T) {
	_, id := testPKI()
	in := readTestdata(t, "qpdf-11-xref-stream-objstm-from-libreoffice.pdf")
	orig := bytes.Clone(in)
	doc, err := Open(in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime})
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.Sign(p.Digest, crypto.SHA256, id.Chain, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Embed(p, der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, orig) || !bytes.HasPrefix(signed, orig) || !bytes.HasPrefix(prepared, orig) {
		t.Fatal("the original is not an unchanged prefix of the output")
	}
	if len(signed) != len(prepared) {
		t.Fatalf("signed %d bytes, prepared %d", len(signed), len(prepared))
	}
	lo, hi := p.ByteRange[1]+1, p.ByteRange[2]-1 // inside the angle brackets
	for i := range signed {
		if signed[i] != prepared[i] && (int64(i) < lo || int64(i) >= hi) {
			t.Fatalf("byte %d changed outside /Contents [%d, %d)", i, lo, hi)
		}
	}
	if !bytes.Contains(signed[lo:hi], []byte(strings.ToUpper(string(hexOf(der[:16]))))) && !bytes.Contains(signed[lo:hi], hexOf(der[:16])) {
		t.Fatal("the CMS is not in /Contents")
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// TestPrepareIsPure: the same inputs give the same bytes, so a retry starts clean.
func TestPrepareIsPure(t *testing.T) {
	_, id := testPKI()
	in := readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")
	var first []byte
	for i := 0; i < 2; i++ {
		doc, err := Open(in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p.Update
		} else if !bytes.Equal(first, p.Update) {
			t.Fatal("two Prepare calls with the same inputs gave different updates")
		}
	}
}

// TestHashAlgorithms signs with SHA-384 and SHA-512 and verifies.
func TestHashAlgorithms(t *testing.T) {
	_, id := testPKI()
	for _, h := range []crypto.Hash{crypto.SHA384, crypto.SHA512} {
		out, p := signWith(t, readTestdata(t, "groff-1.22-gropdf.pdf"), onePlan(), "A", id, Options{Hash: h})
		if len(p.Digest) != h.Size() {
			t.Fatalf("%v digest has %d bytes", h, len(p.Digest))
		}
		rep, err := Verify(out, VerifyOptions{})
		if err != nil || !rep.Valid {
			t.Fatalf("%v: %+v %v", h, rep, err)
		}
	}
}

// TestExistingEmptyFields plans a pen signer at a visible existing field (signed in place,
// before any X.509 signer) and an itsme signer at an invisible one (replaced by a slot).
func TestExistingEmptyFields(t *testing.T) {
	pki, id := testPKI()
	plan := &Plan{Signers: []Signer{
		{Label: "A", Name: "Marie Dubois", Method: MethodPen, Field: &Field{Name: "Signature1"}},
		{Label: "B", Name: "Jan Peeters", Method: MethodItsme, Field: &Field{Name: "Signature2"}},
	}}
	out, p := signWith(t, readTestdata(t, "handmade-empty-sigfields.pdf"), plan, "A", pki.Seal(), Options{Ink: [][][2]float64{{{0, 0}, {1, 1}}}})
	if p.Layout.Kind != LayoutFirstInDocument || p.Field != "Signature1" {
		t.Fatalf("layout %s on field %q", p.Layout.Kind, p.Field)
	}
	out, p = signWith(t, out, plan, "B", id, Options{})
	if p.Layout.Kind != LayoutSlot {
		t.Fatalf("second signature layout %s", p.Layout.Kind)
	}
	doc, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range doc.Fields {
		names[f.Name] = f.Signed
	}
	if _, ok := names["Signature2"]; ok {
		t.Error("the invisible field replaced by a slot is still in the form")
	}
	if !names["Signature1"] || !names["Signature B"] {
		t.Errorf("fields after signing: %v", names)
	}
	rep, err := Verify(out, VerifyOptions{})
	if err != nil || !rep.Valid || len(rep.Signatures) != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestUnplannedAndPreflight: a signer not in the plan gets a new slot; Preflight says so.
func TestUnplannedAndPreflight(t *testing.T) {
	pki, _ := testPKI()
	out := signA(t, readTestdata(t, "chromium-156-skia-print.pdf"))
	doc, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	extra := &Plan{Signers: []Signer{{Label: "B", Name: "Late Signer", Method: MethodTAN}}}
	l, err := Preflight(doc, extra, "B")
	if err != nil || l.Kind != LayoutNewSlot {
		t.Fatalf("preflight %+v %v", l, err)
	}
	out, _ = signWith(t, out, extra, "B", pki.Seal(), Options{})
	if _, err := Preflight(mustOpen(t, out), extra, "B"); CodeOf(err) != CodeAlreadySigned {
		t.Fatalf("a second signature by B: %v", err)
	}
	rep, err := Verify(out, VerifyOptions{})
	if err != nil || !rep.Valid || rep.Signatures[1].Reference != "B" {
		t.Fatalf("%+v %v", rep, err)
	}
}

func mustOpen(t *testing.T, b []byte) *Document {
	d, err := Open(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCustomLogo replaces the itsme logo with a PNG.
func TestCustomLogo(t *testing.T) {
	_, id := testPKI()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for x := 0; x < 40; x++ {
		for y := 0; y < 20; y++ {
			img.Set(x, y, color.NRGBA{200, uint8(x * 6), 40, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	out, p := signWith(t, readTestdata(t, "groff-1.22-gropdf.pdf"), onePlan(), "A", id, Options{Logos: map[Method][]byte{MethodItsme: buf.Bytes()}})
	if !bytes.Contains(p.Update, []byte("/Subtype /Image")) {
		t.Fatal("the custom logo is not in the update")
	}
	if rep, err := Verify(out, VerifyOptions{}); err != nil || !rep.Valid {
		t.Fatalf("%+v %v", rep, err)
	}
	_, _, err := func() (*Prepared, []byte, error) {
		doc := mustOpen(t, readTestdata(t, "groff-1.22-gropdf.pdf"))
		p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Logos: map[Method][]byte{MethodItsme: []byte("not an image")}})
		return p, nil, err
	}()
	if CodeOf(err) != CodeBadImage {
		t.Fatalf("a broken logo gave %v", err)
	}
}

// TestCounterSignature signs a document signed elsewhere (by poppler's pdfsig): no page and
// no markers are added, and pdfsig still finds the earlier signature valid.
func TestCounterSignature(t *testing.T) {
	pdfsig := testtool.Require(t, "pdfsig")
	_, id := testPKI()
	in := readTestdata(t, "signed-pdfsig-existing-field.pdf")
	plan := &Plan{Signers: []Signer{{Label: "A", Name: "Jan Peeters", Method: MethodItsme, Field: &Field{Page: 1, Rect: Rect{320, 40, 560, 120}}}}}
	out, p := signWith(t, in, plan, "A", id, Options{})
	if p.Layout.Kind != LayoutCounterSignature {
		t.Fatalf("layout %s", p.Layout.Kind)
	}
	if mustOpen(t, out).Pages != mustOpen(t, in).Pages {
		t.Fatal("a page was added to a document signed elsewhere")
	}
	path := filepath.Join(t.TempDir(), "counter.pdf")
	os.WriteFile(path, out, 0o644)
	res, _ := exec.Command(pdfsig, path).CombinedOutput()
	if n := strings.Count(string(res), "Signature is Valid."); n != 2 {
		t.Fatalf("pdfsig finds %d valid signatures, want 2:\n%s", n, res)
	}
}

// TestWarm: the warm-up prepares its own document without error, and a signature prepared
// after it is the same as one prepared before it (it leaves only caches behind).
func TestWarm(t *testing.T) {
	_, id := testPKI()
	in := readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")
	prepare := func() []byte {
		doc, err := Open(in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime, SkipDigest: true})
		if err != nil {
			t.Fatal(err)
		}
		return p.Update
	}
	before := prepare()
	if err := Warm(); err != nil {
		t.Fatal(err)
	}
	if after := prepare(); !bytes.Equal(before, after) {
		t.Error("a signature prepared after Warm differs from one prepared before it")
	}
	if doc, err := Open(warmDocument()); err != nil || doc.Pages != 1 {
		t.Errorf("the warm-up document: %v", err)
	}
}
