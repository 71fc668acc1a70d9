package pdfcore_test

// Fuzz targets for the signing path on hostile documents and hostile CMS (FuzzVerify is in
// verify_test.go, FuzzOpen in internal/pdfread). They sign with the corpus's fixed test key
// (testdata/corpus/keys), so that Prepare is a pure function of the input and a committed
// seed CMS stays valid for the document it was made for.
//
// The seed corpora under testdata/fuzz are generated from pdfcore/internal/malformed and the
// small corpus files: VEILSIGN_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./pdfcore/

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

type fixedSigner struct {
	chain []*x509.Certificate
	key   crypto.Signer
}

// corpusSigner loads the self-signed test signer of the corpus (not trusted anywhere).
var corpusSigner = sync.OnceValues(func() (*fixedSigner, error) {
	dir := filepath.Join("..", "testdata", "corpus", "keys")
	certPEM, err := os.ReadFile(filepath.Join(dir, "test-signer.cert.pem"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "test-signer.key.pem"))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("the test signer's PEM files are not readable")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("the test key is a %T", k)
	}
	return &fixedSigner{chain: []*x509.Certificate{cert}, key: key}, nil
})

func mustSigner(tb testing.TB) *fixedSigner {
	tb.Helper()
	s, err := corpusSigner()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var (
	fuzzTime = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	fuzzPlan = &pdfcore.Plan{Signers: []pdfcore.Signer{
		{Label: "A", Name: "Jan Peeters", Method: pdfcore.MethodItsme, Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 300, LLY: 60, URX: 520, URY: 100}}},
		{Label: "B", Name: "Marie Dubois", Method: pdfcore.MethodPen},
	}}
)

// typed fails unless err is nil or a *pdfcore.Error with a code.
func typed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && pdfcore.CodeOf(err) == "" {
		t.Fatalf("%s: untyped error %v", what, err)
	}
}

// ourSignature finds the signature Prepare added: the one in field that covers the file.
func ourSignature(rep *pdfcore.Report, field string) *pdfcore.SignatureReport {
	for i := range rep.Signatures {
		if s := &rep.Signatures[i]; s.Field == field && s.CoversWholeDocument {
			return s
		}
	}
	return nil
}

// FuzzPrepare: whatever the document, Open, Preflight and Prepare give a typed error or a
// prepared update; a prepared update must take a CMS made for its digest, and the signed
// result must read back with that signature intact. The input never changes.
func FuzzPrepare(f *testing.F) {
	s := mustSigner(f)
	for _, c := range malformed.Cases(nil) {
		if c.Family == "control" && !c.Big && c.Name != "control/4000-revisions" {
			f.Add(c.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := bytes.Clone(data)
		defer func() {
			if !bytes.Equal(before, data) {
				t.Fatal("the input was changed")
			}
		}()
		doc, err := pdfcore.Open(data)
		typed(t, "Open", err)
		if err != nil {
			return
		}
		_, err = pdfcore.Preflight(doc, fuzzPlan, "A")
		typed(t, "Preflight", err)
		p, err := pdfcore.Prepare(doc, fuzzPlan, "A", s.chain, pdfcore.Options{Time: fuzzTime})
		typed(t, "Prepare", err)
		if err != nil {
			return
		}
		br := p.ByteRange
		if br[0] != 0 || br[1] <= int64(len(data)) || br[2] <= br[1] || br[2]+br[3] != p.Size() {
			t.Fatalf("ByteRange %v for a %d-byte result of a %d-byte input", br, p.Size(), len(data))
		}
		der, err := cms.Sign(p.Digest, p.Hash, s.chain, s.key)
		if err != nil {
			t.Fatal(err)
		}
		update, err := pdfcore.EmbedUpdate(p, der)
		if err != nil {
			t.Fatalf("EmbedUpdate of a CMS made for the digest: %v", err)
		}
		signed := append(bytes.Clone(data), update...)
		rep, err := pdfcore.Verify(signed, pdfcore.VerifyOptions{})
		if err != nil {
			t.Fatalf("our signed output does not verify: %v", err)
		}
		ours := ourSignature(rep, p.Field)
		if ours == nil || ours.Integrity != "valid" || !ours.CoversRevision {
			t.Fatalf("our signature in the output: %+v", ours)
		}
	})
}

// embedFixture is one prepared document and the CMS that signs it.
type embedFixture struct {
	doc  *pdfcore.Document
	p    *pdfcore.Prepared
	good []byte
}

var fuzzEmbedFixture = sync.OnceValues(func() (*embedFixture, error) {
	s, err := corpusSigner()
	if err != nil {
		return nil, err
	}
	var control []byte
	for _, c := range malformed.Cases(nil) {
		if c.Name == "control/classic" {
			control = c.Bytes()
		}
	}
	doc, err := pdfcore.Open(control)
	if err != nil {
		return nil, err
	}
	p, err := pdfcore.Prepare(doc, fuzzPlan, "A", s.chain, pdfcore.Options{Time: fuzzTime, Reserve: 8 << 10})
	if err != nil {
		return nil, err
	}
	good, err := cms.Sign(p.Digest, p.Hash, s.chain, s.key)
	return &embedFixture{doc: doc, p: p, good: good}, err
})

// FuzzEmbed: whatever CMS a relay returns for a real prepared document, Check and
// EmbedUpdate agree, refuse it with a typed code or accept it, never change the prepared
// update, and only accept a CMS whose signature the result verifies.
func FuzzEmbed(f *testing.F) {
	fx, err := fuzzEmbedFixture()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fx.good)
	f.Add(fx.good[:len(fx.good)/2])
	f.Add(append(bytes.Clone(fx.good), 0, 0, 0, 0))
	f.Add([]byte{0x30, 0x80, 0, 0})
	update := bytes.Clone(fx.p.Update)
	f.Fuzz(func(t *testing.T, der []byte) {
		errCheck := pdfcore.Check(fx.p, der)
		out, err := pdfcore.EmbedUpdate(fx.p, der)
		if (errCheck == nil) != (err == nil) {
			t.Fatalf("Check says %v, EmbedUpdate %v", errCheck, err)
		}
		if !bytes.Equal(update, fx.p.Update) {
			t.Fatal("the prepared update was changed")
		}
		if err != nil {
			switch pdfcore.CodeOf(err) {
			case pdfcore.CodeBadCMS, pdfcore.CodeDigestMismatch, pdfcore.CodeContentsTooSmall:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(out) != len(update) {
			t.Fatalf("the signed update has %d bytes, the prepared one %d", len(out), len(update))
		}
		original, err := fx.doc.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		rep, err := pdfcore.Verify(append(bytes.Clone(original), out...), pdfcore.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ours := ourSignature(rep, fx.p.Field); ours == nil || ours.Integrity != "valid" {
			t.Fatalf("an accepted CMS does not verify in the result: %+v", ours)
		}
	})
}

// TestWriteFuzzSeeds writes the committed seed corpora of the document and CMS fuzz
// targets (run with VEILSIGN_WRITE_FUZZ_SEEDS=1; the files are deterministic).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("VEILSIGN_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set VEILSIGN_WRITE_FUZZ_SEEDS=1 to rewrite the seed corpora")
	}
	const maxSeed = 16 << 10
	small := func(names ...string) map[string][]byte {
		out := map[string][]byte{}
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "pdf", n))
			if err != nil {
				t.Fatal(err)
			}
			out["corpus-"+strings.TrimSuffix(n, ".pdf")] = b
		}
		return out
	}
	generated := map[string][]byte{}
	for _, c := range malformedCases(t) {
		if c.Big {
			continue
		}
		if b := c.Bytes(); len(b) <= maxSeed {
			generated[c.Name] = b
		}
	}
	pick := func(dst map[string][]byte, match func(name string) bool) {
		for n, b := range generated {
			if match(n) {
				dst[n] = b
			}
		}
	}
	// FuzzOpen: one structure of each kind, broken every way the generator knows.
	open := small("handmade-hybrid-xrefstm.pdf", "handmade-pdf20-xref-stream-objstm.pdf", "pdfcpu-0.15-create-xref-stream-objstm.pdf",
		"ghostscript-10-linearized-fastwebview.pdf", "qpdf-11-linearized-objstm.pdf")
	pick(open, func(n string) bool {
		if len(generated[n]) > 8<<10 {
			return false
		}
		if !strings.Contains(n, ".pdf") {
			return true // synthetic
		}
		return !strings.HasPrefix(n, "truncated/") && (strings.Contains(n, "@handmade-pdf20") || strings.Contains(n, "@pdfcpu-0.15-create"))
	})
	writeSeeds(t, filepath.Join("internal", "pdfread", "testdata", "fuzz", "FuzzOpen"), open)
	// FuzzPrepare: documents that open, and the structures around pages, forms and fields.
	prep := small("handmade-empty-sigfields.pdf", "handmade-inherited-mediabox-resources-rotate.pdf", "handmade-last-page-no-contents.pdf",
		"handmade-mediabox-nonzero-origin.pdf", "handmade-cropbox-smaller-than-mediabox.pdf", "signed-pdfsig-existing-field.pdf",
		"debian-texlive-dvipdfm-aladdin-gs550-pdf12.pdf", "reportlab-3.6-acroform-filled.pdf", "reportlab-3.6-rotated-90-270-mixed-sizes.pdf")
	pick(prep, func(n string) bool {
		for _, p := range []string{"control/", "page-tree/", "page/", "form/", "length/", "object-stream/", "nesting/reference", "signature/", "duplicates/", "misc/", "prev/to-xref"} {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	})
	writeSeeds(t, filepath.Join("testdata", "fuzz", "FuzzPrepare"), prep)
	// FuzzVerify: signed files and every way of breaking a signature dictionary.
	ver := small("signed-pdfsig-existing-field.pdf", "signed-pdfsig-2-signatures.pdf", "handmade-empty-sigfields.pdf")
	pick(ver, func(n string) bool {
		for _, p := range []string{"byterange/", "contents/", "signature/", "form/field-v", "form/perms", "prev/two-cycle-appended@signed", "revisions/"} {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	})
	writeSeeds(t, filepath.Join("testdata", "fuzz", "FuzzVerify"), ver)
	// FuzzEmbed: the CMS for the fixture document, and broken forms of it.
	fx, err := fuzzEmbedFixture()
	if err != nil {
		t.Fatal(err)
	}
	g := fx.good
	emb := map[string][]byte{
		"valid": g, "padded": append(bytes.Clone(g), make([]byte, 64)...), "truncated": g[:len(g)-10],
		"header-only": g[:4], "empty": {}, "indefinite-empty": {0x30, 0x80, 0, 0},
		"flipped-signature": flipByte(g, len(g)-20), "flipped-digest": flipByte(g, bytes.Index(g, fx.p.Digest)+3),
		"oversize": append(bytes.Clone(g), bytes.Repeat([]byte{1}, 9<<10)...),
	}
	for name, b := range cmsFromSigned(t) {
		emb[name] = b
	}
	writeSeeds(t, filepath.Join("testdata", "fuzz", "FuzzEmbed"), emb)
	// cms.FuzzParse: the CMS of every signed corpus file (BER from NSS, DER from OpenSSL).
	writeSeeds(t, filepath.Join("cms", "testdata", "fuzz", "FuzzParse"), cmsFromSigned(t))
	// cms.FuzzTimestamp: tokens of the dev TSA (SHA-256 and SHA-512 imprints) and broken
	// forms of them. The dev PKI is new in each run, so these differ run to run; they seed
	// the structure, the target makes its own valid token.
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	seal := pki.Seal()
	sig, err := cms.Sign(fx.p.Digest, crypto.SHA256, seal.Chain, seal.Key)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string][]byte{}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
		imp, err := cms.TimestampImprint(sig, h)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := pki.Timestamp(imp, h, fuzzTime)
		if err != nil {
			t.Fatal(err)
		}
		ts[fmt.Sprintf("token-%v", h)] = tok
		ts[fmt.Sprintf("token-%v-truncated", h)] = tok[:len(tok)-7]
		ts[fmt.Sprintf("token-%v-flipped", h)] = flipByte(tok, len(tok)-30)
	}
	writeSeeds(t, filepath.Join("cms", "testdata", "fuzz", "FuzzTimestamp"), ts)
}

func flipByte(b []byte, i int) []byte {
	out := bytes.Clone(b)
	if i >= 0 && i < len(out) {
		out[i] ^= 0x55
	}
	return out
}

// cmsFromSigned extracts the /Contents of every signature in the signed corpus files.
func cmsFromSigned(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "pdf", "*.pdf"))
	for _, fn := range files {
		data, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		for i, at := 0, 0; ; i++ {
			k := bytes.Index(data[at:], []byte("/Contents <"))
			if k < 0 {
				break
			}
			start := at + k + len("/Contents <")
			end := bytes.IndexByte(data[start:], '>')
			if end < 0 {
				break
			}
			at = start + end
			var b []byte
			if _, err := fmt.Sscanf(string(data[start:start+end]), "%x", &b); err != nil || len(b) < 64 || b[0] != 0x30 {
				continue
			}
			b = bytes.TrimRight(b, "\x00")
			if len(b) > 16<<10 {
				continue
			}
			out[fmt.Sprintf("cms-%s-%d", strings.TrimSuffix(filepath.Base(fn), ".pdf"), i)] = b
		}
	}
	return out
}

// writeSeeds replaces dir's seed files with seeds, in the go test fuzz v1 format.
func writeSeeds(t *testing.T, dir string, seeds map[string][]byte) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(seeds))
	for n := range seeds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		file := "seed-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '_'
		}, n)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seeds[n])
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: %d seeds", dir, len(names))
}
