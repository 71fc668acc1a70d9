package devpki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"golang.org/x/crypto/ocsp"
)

var devURLs = URLs{OCSP: "http://127.0.0.1:8089/ocsp", CRL: "http://127.0.0.1:8089/crl/qualified.crl", RootCRL: "http://127.0.0.1:8089/crl/root.crl"}

func person() Person {
	return Person{GivenName: "Jan", Surname: "Peeters", SerialNumber: NationalNumber(time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), 7, true)}
}

// TestURLs: certificates carry the OCSP and CRL URLs only when the PKI has them.
func TestURLs(t *testing.T) {
	p, err := NewWithURLs(devURLs)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	leaf, ca := id.Chain[0], id.Chain[1]
	for _, c := range []struct {
		cert      *x509.Certificate
		ocsp, crl string
	}{{leaf, devURLs.OCSP, devURLs.CRL}, {ca, devURLs.OCSP, devURLs.RootCRL}, {p.TSA().Certificate(), devURLs.OCSP, devURLs.CRL}, {p.Seal().Certificate(), devURLs.OCSP, devURLs.CRL}} {
		if len(c.cert.OCSPServer) != 1 || c.cert.OCSPServer[0] != c.ocsp || len(c.cert.CRLDistributionPoints) != 1 || c.cert.CRLDistributionPoints[0] != c.crl {
			t.Errorf("%s: OCSP %v CRL DP %v", c.cert.Subject.CommonName, c.cert.OCSPServer, c.cert.CRLDistributionPoints)
		}
	}
	plain := newPKI(t)
	id, err = plain.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Chain[0].OCSPServer)+len(id.Chain[0].CRLDistributionPoints)+len(id.Chain[1].OCSPServer) != 0 {
		t.Fatal("a PKI without URLs wrote some")
	}
	plain.SetURLs(devURLs)
	id, err = plain.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Chain[0].OCSPServer) != 1 {
		t.Fatal("SetURLs did not reach the next certificate")
	}
	// The blob is unchanged by URLs: an older reader and writer agree.
	blob, err := plain.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(blob); err != nil {
		t.Fatal(err)
	}
}

// TestOCSP: good, revoked and unknown responses parse and verify with the issuing CA.
func TestOCSP(t *testing.T) {
	p := newPKI(t)
	id, err := p.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	revokedAt := at.Add(-time.Hour)
	for _, st := range []CertStatus{{Status: StatusGood}, {Status: StatusRevoked, RevokedAt: revokedAt, Reason: ocsp.KeyCompromise}, {Status: StatusUnknown}} {
		der, err := p.OCSPResponse(id.Certificate(), st, at)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(der, id.Certificate(), p.QualifiedCA())
		if err != nil {
			t.Fatalf("status %d: %v", st.Status, err)
		}
		if r.Status != st.Status || !r.ThisUpdate.Equal(at) || r.SerialNumber.Cmp(id.Certificate().SerialNumber) != 0 {
			t.Fatalf("status %d: got %+v", st.Status, r)
		}
		if st.Status == StatusRevoked && (!r.RevokedAt.Equal(revokedAt) || r.RevocationReason != ocsp.KeyCompromise) {
			t.Fatalf("revoked at %v reason %d", r.RevokedAt, r.RevocationReason)
		}
	}
	// The qualified CA's own status comes from the root.
	der, err := p.OCSPResponse(p.QualifiedCA(), CertStatus{Status: StatusGood}, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ocsp.ParseResponseForCert(der, p.QualifiedCA(), p.Root()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.OCSPResponse(newPKI(t).Seal().Certificate(), CertStatus{Status: StatusGood}, at); err == nil {
		t.Fatal("a certificate of another PKI got a response")
	}
	if _, err := p.OCSPResponse(id.Certificate(), CertStatus{Status: StatusRevoked}, at); err == nil {
		t.Fatal("revoked without a time was accepted")
	}
}

// TestOCSPRespond answers requests as the relay's HTTP responder will.
func TestOCSPRespond(t *testing.T) {
	p := newPKI(t)
	id, err := p.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	revoked := id.Certificate().SerialNumber
	status := func(s *big.Int) CertStatus {
		if s.Cmp(revoked) == 0 {
			return CertStatus{Status: StatusRevoked, RevokedAt: time.Now().Add(-time.Hour)}
		}
		return CertStatus{Status: StatusGood}
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		req, err := ocsp.CreateRequest(id.Certificate(), p.QualifiedCA(), &ocsp.RequestOptions{Hash: h})
		if err != nil {
			t.Fatal(err)
		}
		der, err := p.OCSPRespond(req, status, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(der, id.Certificate(), p.QualifiedCA())
		if err != nil || r.Status != ocsp.Revoked || r.IssuerHash != h {
			t.Fatalf("%v: %+v %v", h, r, err)
		}
	}
	other := newPKI(t)
	req, _ := ocsp.CreateRequest(other.Seal().Certificate(), other.QualifiedCA(), nil)
	if der, _ := p.OCSPRespond(req, status, time.Time{}); string(der) != string(ocsp.UnauthorizedErrorResponse) {
		t.Fatalf("a foreign CA's request: %x", der)
	}
	if der, _ := p.OCSPRespond([]byte("not a request"), status, time.Time{}); string(der) != string(ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("garbage: %x", der)
	}
}

// TestCRL: the qualified CA's and the root's CRLs verify and list what was revoked.
func TestCRL(t *testing.T) {
	p := newPKI(t)
	at := time.Now().UTC().Truncate(time.Second)
	gone := Revoked{Serial: big.NewInt(4242), At: at.Add(-time.Hour), Reason: 1}
	der, err := p.CRL([]Revoked{gone}, at)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(p.QualifiedCA()); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(gone.Serial) != 0 ||
		!crl.RevokedCertificateEntries[0].RevocationTime.Equal(gone.At.Truncate(time.Second)) || crl.Number.Int64() != at.Unix() {
		t.Fatalf("CRL %+v", crl)
	}
	der, err = p.RootCRL(nil, at)
	if err != nil {
		t.Fatal(err)
	}
	crl, err = x509.ParseRevocationList(der)
	if err != nil || crl.CheckSignatureFrom(p.Root()) != nil || len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("root CRL: %v", err)
	}
}

// TestOCSPOpenSSL has openssl, which nobody here wrote, read and verify a response.
func TestOCSPOpenSSL(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	p := newPKI(t)
	id, err := p.IssueQualified(person())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pemOf := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	root := write("root.pem", p.RootPEM())
	ca := write("ca.pem", pemOf(p.QualifiedCA()))
	leaf := write("leaf.pem", pemOf(id.Certificate()))
	at := time.Now().Add(-time.Minute)
	for _, c := range []struct {
		st   CertStatus
		want string
	}{{CertStatus{Status: StatusGood}, ": good"}, {CertStatus{Status: StatusRevoked, RevokedAt: at.Add(-time.Hour), Reason: 1}, ": revoked"}, {CertStatus{Status: StatusUnknown}, ": unknown"}} {
		der, err := p.OCSPResponse(id.Certificate(), c.st, at)
		if err != nil {
			t.Fatal(err)
		}
		resp := write("resp.der", der)
		out, err := exec.Command(openssl, "ocsp", "-respin", resp, "-resp_text", "-noverify").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OCSP Response Status: successful") {
			t.Fatalf("openssl ocsp -resp_text: %v\n%s", err, out)
		}
		out, err = exec.Command(openssl, "ocsp", "-respin", resp, "-CAfile", root, "-issuer", ca, "-cert", leaf).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), c.want) {
			t.Fatalf("openssl ocsp verify (%s): %v\n%s", c.want, err, out)
		}
	}
}
