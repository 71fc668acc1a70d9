package pdfcore

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfwrite"
	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
	"golang.org/x/crypto/ocsp"
)

// TestRevokedSigner: embedded OCSP responses and CRLs that say the signer's certificate was
// revoked before the signature's time-stamp make the signature invalid; a revocation after
// it does not.
func TestRevokedSigner(t *testing.T) {
	_, id := testPKI()
	plan := &Plan{Signers: []Signer{{Label: "A", Name: "Jan Peeters", Method: MethodItsme}}}
	signed, _ := signWith(t, readTestdata(t, "pdftex-1.40-objstm-xref-stream.pdf"), plan, "A", id, Options{Time: ltvTime})
	before := ltvTime.Add(-time.Hour)
	after := ltvTime.Add(5 * time.Minute)
	serial := id.Certificate().SerialNumber
	for _, c := range []struct {
		name     string
		st       devpki.CertStatus
		crl      []devpki.Revoked
		valid    bool
		status   string
		withDocT bool
	}{
		{"ocsp revoked before", devpki.CertStatus{Status: devpki.StatusRevoked, RevokedAt: before, Reason: ocsp.KeyCompromise}, nil, false, "revoked", false},
		{"crl revoked before", devpki.CertStatus{Status: devpki.StatusGood}, []devpki.Revoked{{Serial: serial, At: before}}, false, "revoked", false},
		{"ocsp revoked after", devpki.CertStatus{Status: devpki.StatusRevoked, RevokedAt: after}, nil, true, "good", false},
		{"ocsp unknown", devpki.CertStatus{Status: devpki.StatusUnknown}, nil, true, "good", false}, // the CRL says good
		{"revoked before, then time-stamped", devpki.CertStatus{Status: devpki.StatusRevoked, RevokedAt: before}, nil, false, "revoked", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := addDSS(t, signed, validationFor(t, c.st, time.Now(), c.crl))
			if c.withDocT {
				out = addDocTimestamp(t, out, time.Now())
			}
			rep, err := Verify(out, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Signatures[0]
			if rep.Valid != c.valid || s.Revocation == nil || s.Revocation.Status != c.status {
				t.Fatalf("valid=%v integrity %s (%s) revocation %+v", rep.Valid, s.Integrity, s.Reason, s.Revocation)
			}
			if !c.valid && (s.Integrity != "invalid" || !strings.Contains(s.Reason, "revoked") || rep.Summary != SummaryInvalid) {
				t.Fatalf("integrity %s, reason %q, summary %q", s.Integrity, s.Reason, rep.Summary)
			}
			if c.valid && s.Level != "B-LT" {
				t.Fatalf("level %s", s.Level)
			}
		})
	}
	// Evidence from another CA proves nothing: the signature stays valid, its status missing.
	other, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.OCSPResponse(other.Seal().Certificate(), devpki.CertStatus{Status: devpki.StatusRevoked, RevokedAt: before}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := addDSS(t, signed, ValidationData{Certs: [][]byte{id.Chain[1].Raw}, OCSPs: [][]byte{forged}})
	rep, _ := Verify(out, VerifyOptions{})
	if s := rep.Signatures[0]; !rep.Valid || s.Revocation.Status != "missing" || s.Level != "B-T" {
		t.Fatalf("foreign evidence: %s %+v level %s", rep.Summary, s.Revocation, s.Level)
	}
}

// TestDocTimestampLevels: a document time-stamp alone carries a signature without its own
// time-stamp to B-T (ETSI EN 319 142-1 6.3), and a DSS before it to B-LTA; a document
// time-stamp is allowed after a DocMDP P=1 certification.
func TestDocTimestampLevels(t *testing.T) {
	_, id := testPKI()
	doc := mustOpen(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf"))
	p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: ltvTime})
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.Sign(p.Digest, p.Hash, id.Chain, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := Embed(p, der)
	if err != nil {
		t.Fatal(err)
	}
	verifyLevel(t, bb, "B-B")
	verifyLevel(t, addDocTimestamp(t, bb, time.Now()), "B-T")
	lt := addDSS(t, addDocTimestamp(t, bb, time.Now()), validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now(), nil))
	verifyLevel(t, lt, "B-LT")
	verifyLevel(t, addDocTimestamp(t, lt, time.Now()), "B-LTA")

	certified := readTestdata(t, "fail-certified-p1.pdf")
	out := addDocTimestamp(t, addDSS(t, certified, validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now(), nil)), time.Now())
	rep, err := Verify(out, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Signatures {
		for _, c := range s.ChangesAfter {
			if !c.Allowed {
				t.Fatalf("after a P=1 certification, %s: %+v", s.Field, c)
			}
		}
		if s.Integrity != "valid" {
			t.Fatalf("%s: %s", s.Field, s.Reason)
		}
	}
}

// TestEmbedTimestampChecks: Embed takes only a token for the prepared digest that fits.
func TestEmbedTimestampChecks(t *testing.T) {
	pki, id := testPKI()
	doc := mustOpen(t, signA(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")))
	p, err := PrepareDocTimestamp(doc, TimestampOptions{Reserve: 8192})
	if err != nil {
		t.Fatal(err)
	}
	if !p.DocTimestamp() || p.Layout.Kind != LayoutDocTimestamp || p.Field != "Timestamp 1" {
		t.Fatalf("prepared %+v", p.Layout)
	}
	other := sha256.Sum256([]byte("another document"))
	wrong, _ := pki.Timestamp(other[:], crypto.SHA256, time.Now())
	sig, _ := cms.Sign(p.Digest, crypto.SHA256, id.Chain, id.Key)
	right, _ := pki.Timestamp(p.Digest, crypto.SHA256, time.Now())
	for _, c := range []struct {
		name  string
		token []byte
		code  Code
	}{
		{"another digest", wrong, CodeDigestMismatch},
		{"a signature, not a token", sig, CodeBadCMS},
		{"garbage", []byte{0x30, 0x03, 1, 2, 3}, CodeBadCMS},
		{"empty", nil, CodeBadCMS},
		{"too large", bytes.Repeat([]byte{0x30}, 8193), CodeContentsTooSmall},
	} {
		if _, err := Embed(p, c.token); CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if _, err := Embed(p, right); err != nil {
		t.Fatalf("the right token: %v", err)
	}
	if _, err := PrepareDocTimestamp(doc, TimestampOptions{Hash: crypto.SHA1}); CodeOf(err) != CodeBadPlan {
		t.Fatalf("SHA-1: %v", err)
	}
	p2, _ := PrepareDocTimestamp(doc, TimestampOptions{Hash: crypto.SHA512})
	tok, _ := pki.Timestamp(p2.Digest, crypto.SHA512, time.Now())
	out, err := Embed(p2, tok)
	if err != nil {
		t.Fatal(err)
	}
	if rep, _ := Verify(out, VerifyOptions{}); !rep.Valid || rep.Signatures[1].Integrity != "valid" {
		t.Fatalf("SHA-512 document time-stamp: %+v", rep.Signatures)
	}
}

// TestLongTermAttacks: what is allowed under the name of validation data is only
// validation data, and a document time-stamp is checked like a signature.
func TestLongTermAttacks(t *testing.T) {
	signed := signA(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf"))
	lt := addDSS(t, signed, validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now(), nil))
	lta := addDocTimestamp(t, lt, time.Now())
	withDSS := func(change func(dss types.Dict, u *pdfwrite.Update)) func(f *pdfread.File, u *pdfwrite.Update) {
		return func(f *pdfread.File, u *pdfwrite.Update) {
			cat, catNum, _ := f.Root()
			old, _ := f.Dict(cat["DSS"])
			dss := clone(old)
			change(dss, u)
			n := u.Alloc()
			u.SetObject(n, dss)
			c := clone(cat)
			c["DSS"] = ref(n)
			u.SetObject(catNum, c)
		}
	}
	for _, c := range []struct {
		name    string
		forged  []byte
		kind    string // a disallowed change to report
		invalid string // or: the index of a signature reported invalid
	}{
		{"content hidden in the DSS", appendUpdate(t, lt, withDSS(func(d types.Dict, u *pdfwrite.Update) {
			n := u.Alloc()
			u.Set(n, rawobj.Stream("", overlay("PAID"), false))
			d["Shadow"] = ref(n)
		})), ChangeCatalog, ""},
		{"DSS array of non-streams", appendUpdate(t, lt, withDSS(func(d types.Dict, u *pdfwrite.Update) {
			d["Certs"] = types.Array{types.Integer(1)}
		})), ChangeCatalog, ""},
		{"DSS removed", appendUpdate(t, lt, func(f *pdfread.File, u *pdfwrite.Update) {
			cat, catNum, _ := f.Root()
			c := clone(cat)
			delete(c, "DSS")
			u.SetObject(catNum, c)
		}), ChangeCatalog, ""},
		{"time-stamped bytes changed", func() []byte {
			out := bytes.Clone(lta)
			i := bytes.LastIndex(out, []byte("/T(Timestamp 1)"))
			copy(out[i:], "/T(Timestamp X)")
			return out
		}(), "", "Timestamp 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Verify(c.forged, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid {
				t.Fatalf("the forged document verifies: %+v", rep.Signatures)
			}
			if c.invalid != "" {
				for _, s := range rep.Signatures {
					if strings.HasPrefix(s.Field, "Timestamp") && s.Integrity == "invalid" && strings.Contains(s.Reason, "changed") {
						return
					}
				}
				t.Fatalf("no invalid document time-stamp: %+v", rep.Signatures)
			}
			for _, ch := range rep.Signatures[0].ChangesAfter {
				if ch.Kind == c.kind && !ch.Allowed {
					return
				}
			}
			t.Fatalf("no disallowed %s: %+v", c.kind, rep.Signatures[0].ChangesAfter)
		})
	}
	// The DSS redefined in place (as pyHanko extends one) is still a DSS update.
	inPlace := appendUpdate(t, lt, func(f *pdfread.File, u *pdfwrite.Update) {
		cat, _, _ := f.Root()
		r := cat["DSS"].(types.IndirectRef)
		old, _ := f.Dict(r)
		d := clone(old)
		n := u.Alloc()
		u.Set(n, rawobj.Stream("", id2Raw(), false))
		d["Certs"] = append(append(types.Array{}, old["Certs"].(types.Array)...), ref(n))
		u.SetObject(r.ObjectNumber.Value(), d)
	})
	rep, _ := Verify(inPlace, VerifyOptions{})
	if !rep.Valid {
		t.Fatalf("DSS updated in place: %+v", rep.Signatures[0].ChangesAfter)
	}
}

func id2Raw() []byte {
	pki, _ := testPKI()
	return pki.Seal().Certificate().Raw
}

// TestLevelNeedsLaterEvidence: a CRL already in the DSS when a second signer of the same CA
// signs does not make that signature B-LT; a CRL added after it does.
func TestLevelNeedsLaterEvidence(t *testing.T) {
	pki, id := testPKI()
	plan := &Plan{Signers: []Signer{
		{Label: "A", Name: "Jan Peeters", Method: MethodItsme},
		{Label: "B", Name: "Marie Dubois", Method: MethodTAN},
	}}
	out, _ := signWith(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf"), plan, "A", id, Options{Time: ltvTime})
	out = addDSS(t, out, validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now().Add(-time.Minute), nil))
	out, _ = signWith(t, out, plan, "B", pki.Seal(), Options{Time: ltvTime.Add(time.Minute)})
	rep, _ := Verify(out, VerifyOptions{})
	if a, b := rep.Signatures[0], rep.Signatures[1]; !rep.Valid || a.Level != "B-LT" || b.Level != "B-T" || b.Revocation == nil || b.Revocation.Status != "good" {
		t.Fatalf("A %s, B %s %+v (%s)", a.Level, b.Level, b.Revocation, rep.Summary)
	}
	crl, err := pki.CRL(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out = addDSS(t, out, ValidationData{CRLs: [][]byte{crl}})
	rep, _ = Verify(out, VerifyOptions{})
	if b := rep.Signatures[1]; !rep.Valid || b.Level != "B-LT" {
		t.Fatalf("B %s after a new CRL (%s)", b.Level, rep.Summary)
	}
}
