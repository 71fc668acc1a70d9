package pdfcore

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// ltvTime is a signing time a little in the past, so that OCSP responses issued "now" are
// issued after it, as they would be in the field.
var ltvTime = time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)

// validationFor builds the DSS content for a signature by the shared test signer: the chains
// of the signer and of the TSA, a dev OCSP response about the signer (st at ocspAt), and the
// qualified CA's CRL.
func validationFor(t testing.TB, st devpki.CertStatus, ocspAt time.Time, crlRevoked []devpki.Revoked) ValidationData {
	t.Helper()
	pki, id := testPKI()
	var vd ValidationData
	for _, c := range append(append([]*x509.Certificate(nil), id.Chain...), pki.TSA().Chain[0]) {
		vd.Certs = append(vd.Certs, c.Raw)
	}
	resp, err := pki.OCSPResponse(id.Certificate(), st, ocspAt)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := pki.CRL(crlRevoked, ocspAt)
	if err != nil {
		t.Fatal(err)
	}
	vd.OCSPs = [][]byte{resp}
	vd.CRLs = [][]byte{crl}
	return vd
}

// addDSS appends a DSS update to data.
func addDSS(t testing.TB, data []byte, vd ValidationData) []byte {
	t.Helper()
	doc, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	update, err := AddValidationData(doc, vd)
	if err != nil {
		t.Fatalf("AddValidationData: %v", err)
	}
	if update == nil {
		t.Fatal("AddValidationData added nothing")
	}
	return append(bytes.Clone(data), update...)
}

// addDocTimestamp appends a document time-stamp by the dev TSA at at.
func addDocTimestamp(t testing.TB, data []byte, at time.Time) []byte {
	t.Helper()
	pki, _ := testPKI()
	doc, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PrepareDocTimestamp(doc, TimestampOptions{})
	if err != nil {
		t.Fatalf("PrepareDocTimestamp: %v", err)
	}
	tok, err := pki.Timestamp(p.Digest, p.Hash, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Embed(p, tok)
	if err != nil {
		t.Fatalf("Embed(token): %v", err)
	}
	return out
}

func verifyLevel(t testing.TB, data []byte, want string) *Report {
	t.Helper()
	pki, _ := testPKI()
	rep, err := Verify(data, VerifyOptions{Roots: pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid {
		t.Fatalf("not valid (%s): %+v", rep.Summary, rep.Signatures)
	}
	if s := rep.Signatures[0]; s.Level != want {
		t.Fatalf("level %s, want %s (%+v)", s.Level, want, s)
	}
	return rep
}

// TestLongTermLevels signs at B-T, adds a DSS (B-LT) and a document time-stamp (B-LTA) on
// files whose last cross-reference section is a table, a stream, a hybrid, and one that
// another tool signed.
func TestLongTermLevels(t *testing.T) {
	for _, name := range []string{"libreoffice-7.4-writer-xref-table.pdf", "pdftex-1.40-objstm-xref-stream.pdf",
		"handmade-hybrid-xrefstm.pdf", "signed-pdfsig-existing-field.pdf"} {
		t.Run(name, func(t *testing.T) {
			_, id := testPKI()
			plan := &Plan{Signers: []Signer{{Label: "A", Name: "Zoë Ångström-Łukasiewicz", Method: MethodItsme}}}
			signed, _ := signWith(t, readTestdata(t, name), plan, "A", id, Options{Time: ltvTime})
			ours := func(rep *Report) SignatureReport { // our signature, after a foreign one
				for _, s := range rep.Signatures {
					if s.Method == "itsme" {
						return s
					}
				}
				t.Fatal("our signature is not reported")
				return SignatureReport{}
			}
			rep, err := Verify(signed, VerifyOptions{})
			if err != nil || ours(rep).Level != "B-T" || ours(rep).Revocation != nil {
				t.Fatalf("signed: %+v %v", rep, err)
			}
			lt := addDSS(t, signed, validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now(), nil))
			rep, _ = Verify(lt, VerifyOptions{})
			s := ours(rep)
			if !rep.Valid || s.Level != "B-LT" || s.Revocation == nil || s.Revocation.Status != "good" {
				t.Fatalf("after the DSS: valid=%v %s level %s revocation %+v changes %+v", rep.Valid, rep.Summary, s.Level, s.Revocation, s.ChangesAfter)
			}
			if c := s.ChangesAfter[len(s.ChangesAfter)-1]; c.Kind != ChangeDSSAdded || !c.Allowed || len(s.ChangesAfter) != 1 {
				t.Fatalf("the DSS update is reported as %+v", s.ChangesAfter)
			}
			lta := addDocTimestamp(t, lt, time.Now())
			rep, _ = Verify(lta, VerifyOptions{})
			if !rep.Valid || ours(rep).Level != "B-LTA" {
				t.Fatalf("after the document time-stamp: %s %+v", rep.Summary, rep.Signatures)
			}
			dts := rep.Signatures[len(rep.Signatures)-1]
			if dts.Method != "timestamp" || dts.Integrity != "valid" || !dts.Timestamp.Valid || !strings.Contains(dts.Timestamp.TSA, "veilsign Dev TSA") ||
				dts.Signer.CommonName != "veilsign Dev TSA" || !dts.CoversWholeDocument || dts.Revision != rep.Revisions {
				t.Fatalf("document time-stamp reported as %+v", dts)
			}
			for _, c := range ours(rep).ChangesAfter {
				if !c.Allowed || (c.Kind != ChangeDSSAdded && c.Kind != ChangeDocumentTimestamp) {
					t.Fatalf("change after signing: %+v", c)
				}
			}
		})
	}
}

// TestValidationDataMerge: a second DSS update keeps what the first wrote, adds only what
// is new, and adds nothing at all when nothing is new.
func TestValidationDataMerge(t *testing.T) {
	pki, id := testPKI()
	signed := signA(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf"))
	vd := validationFor(t, devpki.CertStatus{Status: devpki.StatusGood}, time.Now(), nil)
	lt := addDSS(t, signed, vd)
	doc := mustOpen(t, lt)
	u1, _ := AddValidationData(mustOpen(t, signed), vd)
	if u2, _ := AddValidationData(mustOpen(t, signed), vd); !bytes.Equal(u1, u2) {
		t.Fatal("AddValidationData is not a pure function of its inputs")
	}
	p1, _ := PrepareDocTimestamp(doc, TimestampOptions{})
	if p2, _ := PrepareDocTimestamp(doc, TimestampOptions{}); !bytes.Equal(p1.Update, p2.Update) || !bytes.Equal(p1.Digest, p2.Digest) {
		t.Fatal("PrepareDocTimestamp is not a pure function of its inputs")
	}
	if u, err := AddValidationData(doc, vd); err != nil || u != nil {
		t.Fatalf("the same data again: %d bytes, %v", len(u), err)
	}
	tsaResp, err := pki.OCSPResponse(pki.TSA().Certificate(), devpki.CertStatus{Status: devpki.StatusGood}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	more := addDSS(t, lt, ValidationData{Certs: [][]byte{id.Chain[0].Raw}, OCSPs: [][]byte{tsaResp, vd.OCSPs[0]}})
	v := newVerifier(mustOpen(t, more), VerifyOptions{})
	d := v.dssAt(len(v.revs) - 1)
	if len(d.certs) != len(vd.Certs) || len(d.ocsps) != 2 || len(d.crls) != 1 {
		t.Fatalf("merged DSS: %d certs, %d OCSP, %d CRL", len(d.certs), len(d.ocsps), len(d.crls))
	}
	verifyLevel(t, more, "B-LT")
	for _, bad := range []ValidationData{{}, {Certs: [][]byte{[]byte("nope")}}, {OCSPs: [][]byte{tsaResp[:20]}}, {CRLs: [][]byte{{0x30, 0}}}} {
		if _, err := AddValidationData(doc, bad); CodeOf(err) != CodeBadValidationData {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	chains, err := CertificateChains(mustOpen(t, more))
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) != 2 || len(chains[0]) != 3 || chains[0][0].Subject.CommonName != id.Chain[0].Subject.CommonName || chains[1][0].Subject.CommonName != "veilsign Dev TSA" {
		t.Fatalf("chains: %v", chains)
	}
}
