package tsa

import (
	"crypto"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// The ESS signing-certificate attribute must name the certificate that signed.
func TestSigningCertificateMismatch(t *testing.T) {
	pki := newPKI(t)
	req := &tsRequest{hash: crypto.SHA256, imprint: randomImprint(t, crypto.SHA256), nonce: big.NewInt(7)}
	resp, err := parseResponse(grant(t, req, tokenSpec{signer: pki.TSA()}))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(resp.token)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSigningCertificate(p7, pki.TSA().Certificate()); err != nil {
		t.Fatal(err)
	}
	if err := checkSigningCertificate(p7, pki.Seal().Certificate()); err == nil || !strings.Contains(err.Error(), "names another certificate") {
		t.Fatalf("another certificate: %v", err)
	}
}

// Whatever a TSA sends, checking it returns an error or a token, never a panic.
func FuzzCheckReply(f *testing.F) {
	pki := newPKI(f)
	imprint := make([]byte, 32)
	nonce := big.NewInt(0x1234567890)
	req := &tsRequest{hash: crypto.SHA256, imprint: imprint, nonce: nonce}
	f.Add(grant(f, req, tokenSpec{signer: pki.TSA()}))
	rej, _ := marshalResponse(statusRejection, failBadAlg, "no", nil)
	f.Add(rej)
	want := &expectation{hash: crypto.SHA256, imprint: imprint, nonce: nonce, roots: pki.Roots(),
		earliest: time.Now().Add(-time.Hour), latest: time.Now().Add(time.Hour)}
	f.Fuzz(func(t *testing.T, body []byte) {
		token, err := checkReply(body, want)
		if (err == nil) == (token == nil) {
			t.Fatalf("token %x with error %v", token, err)
		}
	})
}

// Whatever a client sends, the dev server answers 200 with a TimeStampResp.
func FuzzServer(f *testing.F) {
	pki := newPKI(f)
	h := NewServer(pki, nil)
	good, _ := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 32), Certificates: true, Nonce: big.NewInt(1)}).Marshal()
	f.Add(good)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", mediaQuery)
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d", rec.Code)
		}
		resp, err := parseResponse(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if (resp.status == statusGranted) != (resp.token != nil) {
			t.Fatalf("status %d with token %v", resp.status, resp.token != nil)
		}
	})
}
