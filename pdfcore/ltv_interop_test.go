package pdfcore_test

// TestLongTermInterop signs testdata at B-T with a dev PKI whose certificates name OCSP and
// CRL URLs, adds a DSS (B-LT) and a document time-stamp (B-LTA), and after each update has
// tools nobody here wrote look at the result: pdfsig (earlier signatures still valid), qpdf
// --check, openssl ocsp on every OCSP response pdfcpu reads out of the DSS, and pdfcpu's
// signature validation (the DSS revocation evidence is present). VEILSIGN_PYHANKO names
// ../shared/tools/pyhanko-validate to run pyHanko's change analysis as well (that script
// validates /Sig signatures only and says so of the document time-stamp);
// VEILSIGN_LTV_KEEP names a directory where each stage and the dev root are written.

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

func TestLongTermInterop(t *testing.T) {
	pdfsig := testtool.Require(t, "pdfsig")
	qpdf := testtool.Require(t, "qpdf")
	openssl := testtool.Require(t, "openssl")
	pki, err := devpki.NewWithURLs(devpki.URLs{OCSP: "http://127.0.0.1:1/ocsp", CRL: "http://127.0.0.1:1/qualified.crl", RootCRL: "http://127.0.0.1:1/root.crl"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := pki.IssueQualified(devpki.Person{GivenName: "Zoë", Surname: "Ångström-Łukasiewicz",
		SerialNumber: devpki.NationalNumber(time.Date(1987, 3, 14, 0, 0, 0, 0, time.UTC), 42, false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Certificate().OCSPServer) == 0 {
		t.Fatal("the signer's certificate names no OCSP responder")
	}
	dir := t.TempDir()
	if keep := os.Getenv("VEILSIGN_LTV_KEEP"); keep != "" {
		dir = keep
	}
	pemFile := func(name string, c *x509.Certificate) string {
		return writeTemp(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	root := writeTemp(t, dir, "root.pem", pki.RootPEM())
	certs := map[string][3]string{ // OCSP response subject → openssl -issuer, -cert
		id.Certificate().Subject.CommonName:        {pemFile("ca.pem", pki.QualifiedCA()), pemFile("leaf.pem", id.Certificate())},
		pki.QualifiedCA().Subject.CommonName:       {root, pemFile("ca-as-leaf.pem", pki.QualifiedCA())},
		pki.TSA().Certificate().Subject.CommonName: {pemFile("ca2.pem", pki.QualifiedCA()), pemFile("tsa.pem", pki.TSA().Certificate())},
	}
	model.ConfigPath = "disable"
	model.TrustedCertDir = t.TempDir()
	writeTemp(t, model.TrustedCertDir, "root.pem", pki.RootPEM())
	signedAt := time.Now().Add(-10 * time.Minute)
	for _, name := range []string{"libreoffice-7.4-writer-xref-table.pdf", "pdftex-1.40-objstm-xref-stream.pdf", "signed-pdfsig-existing-field.pdf", "qpdf-11-linearized-objstm.pdf"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("..", "testdata", "pdf", name))
			if err != nil {
				t.Fatal(err)
			}
			bt := ltvSign(t, pki, id, in, signedAt)
			vd := pdfcore.ValidationData{}
			for _, c := range []*x509.Certificate{id.Chain[0], id.Chain[1], id.Chain[2], pki.TSA().Certificate()} {
				vd.Certs = append(vd.Certs, c.Raw)
			}
			// Issued just before the signing time, as responders that pre-produce their
			// answers do: pyHanko judges the signature at its time-stamp and wants status
			// information current then (thisUpdate not after it).
			revAt := signedAt.Add(-time.Minute)
			for _, c := range []*x509.Certificate{id.Certificate(), pki.QualifiedCA(), pki.TSA().Certificate()} {
				r, err := pki.OCSPResponse(c, devpki.CertStatus{Status: devpki.StatusGood}, revAt)
				if err != nil {
					t.Fatal(err)
				}
				vd.OCSPs = append(vd.OCSPs, r)
			}
			crl, _ := pki.CRL(nil, revAt)
			rootCRL, _ := pki.RootCRL(nil, revAt)
			vd.CRLs = [][]byte{crl, rootCRL}
			update, err := pdfcore.AddValidationData(mustOpenExt(t, bt), vd)
			if err != nil {
				t.Fatal(err)
			}
			lt := append(bytes.Clone(bt), update...)
			p, err := pdfcore.PrepareDocTimestamp(mustOpenExt(t, lt), pdfcore.TimestampOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := pki.Timestamp(p.Digest, p.Hash, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			lta, err := pdfcore.Embed(p, tok)
			if err != nil {
				t.Fatal(err)
			}
			for _, stage := range []struct {
				name, level string
				pdf         []byte
			}{{"B-T", "B-T", bt}, {"DSS", "B-LT", lt}, {"document time-stamp", "B-LTA", lta}} {
				path := writeTemp(t, dir, strings.ReplaceAll(stage.name, " ", "-")+"-"+name, stage.pdf)
				// The corpus's foreign signer is not under the dev root: judge integrity and
				// changes, and trust for ours only.
				rep, err := pdfcore.Verify(stage.pdf, pdfcore.VerifyOptions{Roots: pki.Roots()})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range rep.Signatures {
					if s.Integrity != "valid" {
						t.Fatalf("%s: %s: %s", stage.name, s.Field, s.Reason)
					}
					for _, c := range s.ChangesAfter {
						if !c.Allowed {
							t.Fatalf("%s: %s: %+v", stage.name, s.Field, c)
						}
					}
				}
				ours := rep.Signatures[len(rep.Signatures)-1]
				if stage.level == "B-LTA" {
					ours = rep.Signatures[len(rep.Signatures)-2]
				}
				if ours.Level != stage.level || !ours.CertificateTrusted {
					t.Errorf("%s: our verifier says %s, trusted %v", stage.name, ours.Level, ours.CertificateTrusted)
				}
				ltvPdfsig(t, pdfsig, path, stage.name, len(rep.Signatures), stage.name != "DSS")
				if code, warn, out := qpdfCheck(t, qpdf, path); code != 0 && code != 3 {
					t.Errorf("%s: qpdf --check exit %d %v\n%s", stage.name, code, warn, out)
				}
				if stage.name == "B-T" {
					continue
				}
				ltvOpenSSL(t, openssl, dir, root, stage.pdf, certs)
				ltvPdfcpu(t, stage.pdf, stage.name, id.Certificate())
				if tool := os.Getenv("VEILSIGN_PYHANKO"); tool != "" {
					out, err := exec.Command(tool, path).CombinedOutput()
					t.Logf("%s: pyHanko: %s", stage.name, out)
					if err != nil && !strings.Contains(string(out), "Signature object type must be /Sig") {
						t.Errorf("%s: pyHanko: %v", stage.name, err)
					}
				}
			}
		})
	}
}

// ltvSign signs in at B-T as one itsme signer.
func ltvSign(t *testing.T, pki *devpki.PKI, id *devpki.Identity, in []byte, at time.Time) []byte {
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{{Label: "A", Name: nameA, Method: pdfcore.MethodItsme}}}
	p, err := pdfcore.Prepare(mustOpenExt(t, in), plan, "A", id.Chain, pdfcore.Options{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.Sign(p.Digest, p.Hash, id.Chain, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := cms.TimestampImprint(der, p.Hash)
	tok, err := pki.Timestamp(imp, p.Hash, at)
	if err != nil {
		t.Fatal(err)
	}
	if der, err = cms.AddTimestamp(der, tok); err != nil {
		t.Fatal(err)
	}
	out, err := pdfcore.Embed(p, der)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustOpenExt(t *testing.T, b []byte) *pdfcore.Document {
	t.Helper()
	d, err := pdfcore.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// ltvPdfsig: every CMS signature stays valid in poppler; poppler (22.x) does not verify
// ETSI.RFC3161 document time-stamps ("not yet been verified"), so of those it must only
// see the whole file covered.
func ltvPdfsig(t *testing.T, pdfsig, path, stage string, want int, lastTotal bool) {
	r := run(t, pdfsig, path)
	sigs := signedOnly(parsePdfsig(r.Stdout + r.Stderr))
	if len(sigs) != want {
		t.Fatalf("%s: pdfsig sees %d signatures, want %d:\n%s", stage, len(sigs), want, r.Stdout)
	}
	for i, s := range sigs {
		last := i == len(sigs)-1 && lastTotal
		switch {
		case s.Validation == "Signature is Valid.":
		case strings.HasPrefix(s.Field, "Timestamp") && s.Validation == "Signature has not yet been verified.":
		default:
			t.Errorf("%s: pdfsig: %s: %q", stage, s.Field, s.Validation)
		}
		if last != s.Total {
			t.Errorf("%s: pdfsig: %s total=%v", stage, s.Field, s.Total)
		}
	}
}

// dssStreams reads the DSS with pdfcpu, a reader nobody here wrote.
func dssStreams(t *testing.T, pdf []byte, key string) [][]byte {
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATESIGNATURES
	ctx, err := pdfcpu.Read(bytes.NewReader(pdf), conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.XRefTable(ctx); err != nil {
		t.Fatalf("pdfcpu validate: %v", err)
	}
	if ctx.DSS == nil {
		t.Fatal("pdfcpu finds no DSS")
	}
	entry, _ := ctx.DSS.Find(key)
	arr, err := ctx.DereferenceArray(entry)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, o := range arr {
		sd, _, err := ctx.DereferenceStreamDict(o)
		if err != nil || sd == nil || sd.Decode() != nil {
			t.Fatalf("DSS /%s: %v", key, err)
		}
		out = append(out, sd.Content)
	}
	return out
}

// ltvOpenSSL: openssl reads each embedded OCSP response and verifies it with the dev root.
func ltvOpenSSL(t *testing.T, openssl, dir, root string, pdf []byte, certs map[string][3]string) {
	ocsps := dssStreams(t, pdf, "OCSPs")
	if len(ocsps) != 3 {
		t.Fatalf("%d OCSP responses in the DSS", len(ocsps))
	}
	verified := 0
	for i, der := range ocsps {
		f := writeTemp(t, dir, fmt.Sprintf("ocsp-%d.der", i), der)
		r := run(t, openssl, "ocsp", "-respin", f, "-resp_text", "-noverify")
		if r.Code != 0 || !strings.Contains(r.Stdout, "OCSP Response Status: successful") {
			t.Fatalf("openssl ocsp -resp_text: %d %s %s", r.Code, r.Stdout, r.Stderr)
		}
		for _, c := range certs {
			v := run(t, openssl, "ocsp", "-respin", f, "-CAfile", root, "-issuer", c[0], "-cert", c[1])
			if v.Code == 0 && strings.Contains(v.Stdout+v.Stderr, "Response verify OK") && strings.Contains(v.Stdout, ": good") {
				verified++
				break
			}
		}
	}
	if verified != len(ocsps) {
		t.Fatalf("openssl verified %d of %d OCSP responses", verified, len(ocsps))
	}
}

// ltvPdfcpu: pdfcpu's validation finds the signature intact and reports the DSS's OCSP
// response and CRL for the signer's certificate as archived evidence.
func ltvPdfcpu(t *testing.T, pdf []byte, stage string, leaf *x509.Certificate) {
	results, err := pdfcpuValidate(pdf)
	if err != nil {
		t.Fatalf("%s: pdfcpu: %v", stage, err)
	}
	found := false
	for _, r := range results {
		if r.Type == model.SigTypeDTS {
			t.Logf("%s: pdfcpu on the document time-stamp: status %v, reason %q, problems %v", stage, r.Status, r.Reason, r.Problems)
			if p := pdfcpuIntegrityProblem(r); p != "" {
				t.Errorf("%s: pdfcpu: document time-stamp: %s", stage, p)
			}
			continue
		}
		if p := pdfcpuIntegrityProblem(r); p != "" {
			t.Errorf("%s: pdfcpu: %s", stage, p)
		}
		for _, s := range r.Details.Signers {
			c := s.Certificate
			if c == nil || c.SerialNumber != leaf.SerialNumber.Text(16) && !strings.EqualFold(c.SerialNumber, leaf.SerialNumber.Text(16)) {
				continue
			}
			rev := c.Revocation
			ocspOK := rev.OCSP != nil && rev.OCSP.Source == model.RevocationEvidenceSourceArchived && rev.OCSP.Authenticated == model.True
			for _, o := range rev.OCSPs {
				ocspOK = ocspOK || o.Source == model.RevocationEvidenceSourceArchived && o.Authenticated == model.True
			}
			t.Logf("%s: pdfcpu: status %v, archived OCSP authenticated %v, CRLs %d, revocation: %s; reason %q", stage, r.Status, ocspOK, len(rev.CRLs), rev, r.Reason)
			if ocspOK {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("%s: pdfcpu does not report the embedded OCSP response for the signer", stage)
	}
}
