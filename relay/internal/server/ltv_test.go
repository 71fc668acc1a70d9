package server_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/ltv"
	"github.com/veilsign/veilsign/relay/protocol"
)

// recording is a Source that keeps what the relay handed out, to check each item after.
type recording struct {
	ltv.Source
	ocsps [][]byte
}

func (r *recording) ValidationData(ctx context.Context, chain []*x509.Certificate) (pdfcore.ValidationData, error) {
	vd, err := r.Source.ValidationData(ctx, chain)
	r.ocsps = append(r.ocsps, vd.OCSPs...)
	return vd, err
}

// signAt signs one itsme signature through the relay at level (B-B or B-T from the relay,
// then B-LT and B-LTA by the validation-data and timestamp messages).
func signAt(t *testing.T, ctx context.Context, c *client.Client, src ltv.Source, pdf []byte, name, level string, identified func([]*x509.Certificate)) []byte {
	t.Helper()
	chain, err := c.Identify(ctx, "itsme", protocol.Signer{Name: name})
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	if identified != nil {
		identified(chain)
	}
	doc, err := pdfcore.Open(pdf)
	if err != nil {
		t.Fatal(err)
	}
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{{Label: "A", Name: name, Method: pdfcore.MethodItsme}}}
	p, err := pdfcore.Prepare(doc, plan, "A", chain, pdfcore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayLevel := "B-T"
	if level == "B-B" {
		relayLevel = "B-B"
	}
	der, got, err := c.Sign(ctx, p.Digest, "sha256", "Contract", relayLevel)
	if err != nil || got != relayLevel {
		t.Fatalf("sign at %s: %v (level %q)", relayLevel, err, got)
	}
	out, err := pdfcore.Embed(p, der)
	if err != nil {
		t.Fatal(err)
	}
	more, err := ltv.Extend(ctx, out, level, src, ltv.Options{Hash: crypto.SHA256, Warn: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("extend to %s: %v", level, err)
	}
	return append(out, more...)
}

// TestSignEveryLevel signs testdata at B-B, B-T, B-LT and B-LTA through a relay whose dev
// PKI names an OCSP responder and CRLs served on 127.0.0.1; the verifier reports the level
// asked for, openssl accepts every embedded OCSP response, and pdfsig still finds the
// signature valid after the DSS and document time-stamp updates.
func TestSignEveryLevel(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	pdfsig := testtool.Require(t, "pdfsig")
	e := newRelay(t, envOptions{ltv: true})
	ctx := testCtx(t)
	dir := t.TempDir()
	roots := filepath.Join(dir, "root.pem")
	others := filepath.Join(dir, "ca.pem")
	os.WriteFile(roots, e.pki.RootPEM(), 0o644)
	// openssl looks for the responder (the CA that issued the certificate) here.
	os.WriteFile(others, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.pki.QualifiedCA().Raw}), e.pki.RootPEM()...), 0o644)
	for _, level := range ltv.Levels {
		t.Run(level, func(t *testing.T) {
			c := e.client(ctx, e.token("lvl-"+level, []string{"itsme"}, 2))
			src := &recording{Source: ltv.Relay{C: c}}
			pdf := signAt(t, ctx, c, src, readPDF(t, "libreoffice-7.4-writer-xref-table.pdf"), "Jan Peeters", level, nil)
			rep, err := pdfcore.Verify(pdf, pdfcore.VerifyOptions{Roots: e.pki.Roots()})
			if err != nil || !rep.Valid {
				t.Fatalf("verify: %v %+v", err, rep)
			}
			var sig *pdfcore.SignatureReport
			for i := range rep.Signatures {
				if rep.Signatures[i].Field == "A" || rep.Signatures[i].Method == "itsme" {
					sig = &rep.Signatures[i]
				}
			}
			if sig == nil || sig.Level != level || !sig.CertificateTrusted {
				t.Fatalf("signature report %+v, want level %s", sig, level)
			}
			if level == "B-LT" || level == "B-LTA" {
				if sig.Revocation == nil || sig.Revocation.Status != "good" {
					t.Fatalf("revocation %+v", sig.Revocation)
				}
				if len(src.ocsps) == 0 {
					t.Fatal("no OCSP response was embedded")
				}
				for i, der := range src.ocsps {
					path := filepath.Join(dir, level+"-ocsp.der")
					os.WriteFile(path, der, 0o644)
					out, err := exec.Command(openssl, "ocsp", "-respin", path, "-CAfile", roots, "-verify_other", others, "-no_nonce").CombinedOutput()
					if err != nil || !strings.Contains(string(out), "Response verify OK") {
						t.Fatalf("openssl ocsp -respin (response %d): %v\n%s", i+1, err, out)
					}
				}
			}
			path := filepath.Join(dir, level+".pdf")
			os.WriteFile(path, pdf, 0o644)
			out, _ := exec.Command(pdfsig, path).CombinedOutput()
			if !strings.Contains(string(out), "Signature Field Name: Signature A") || strings.Count(string(out), "Signature is Valid.") < 1 ||
				strings.Contains(string(out), "Signature is Invalid") || strings.Contains(string(out), "Digest Mismatch") {
				t.Fatalf("pdfsig after %s:\n%s", level, out)
			}
		})
	}
}

// TestRevokedSigner: the signer's certificate is revoked before the signature is made; the
// relay's OCSP response says so, and the verifier reports the signature invalid.
func TestRevokedSigner(t *testing.T) {
	e := newRelay(t, envOptions{ltv: true})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("revoked", []string{"itsme"}, 2))
	revoke := func(chain []*x509.Certificate) {
		e.revocation.Revoke(chain[0].SerialNumber, time.Now().Add(-time.Minute))
	}
	pdf := signAt(t, ctx, c, ltv.Relay{C: c}, readPDF(t, "libreoffice-7.4-writer-xref-table.pdf"), "Piet Janssens", "B-LT", revoke)
	rep, err := pdfcore.Verify(pdf, pdfcore.VerifyOptions{Roots: e.pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) == 0 {
		t.Fatalf("a revoked signer's signature is valid: %+v", rep)
	}
	s := rep.Signatures[0]
	if s.Integrity != "invalid" || !strings.Contains(s.Reason, "revoked") || s.Revocation == nil || s.Revocation.Status != "revoked" {
		t.Fatalf("report %+v (revocation %+v)", s, s.Revocation)
	}
}

// TestValidationDataRefusals: a chain of another PKI is refused with a typed error; so is a
// session without a relay fetcher; the timestamp message checks its digest.
func TestValidationDataRefusals(t *testing.T) {
	e := newRelay(t, envOptions{ltv: true})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("untrusted", []string{"pen"}, 1))
	other, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = c.ValidationData(ctx, other.Seal().Chain)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUntrustedChain || pe.Retryable {
		t.Fatalf("untrusted chain: %v", err)
	}
	if _, err := (ltv.Relay{C: c}).ValidationData(ctx, other.Seal().Chain); !errors.Is(err, ltv.ErrUntrusted) {
		t.Fatalf("ltv.Relay: %v", err)
	}
	// The session stays usable: a trusted chain is served.
	ocsps, _, certs, err := c.ValidationData(ctx, e.pki.Seal().Chain)
	if err != nil || len(ocsps) == 0 || len(certs) != 3 {
		t.Fatalf("trusted chain: %v (%d OCSP, %d certs)", err, len(ocsps), len(certs))
	}
	tok, err := c.Timestamp(ctx, randomDigest(), "sha256")
	if err != nil || len(tok) == 0 {
		t.Fatalf("timestamp: %v", err)
	}
	if _, err := c.Timestamp(ctx, randomDigest(), "sha384"); !errors.As(err, &pe) || pe.Code != protocol.CodeBadDigest {
		t.Fatalf("timestamp with a wrong digest length: %v", err)
	}

	plain := newRelay(t, envOptions{})
	pc := plain.client(ctx, plain.token("nofetch", []string{"pen"}, 1))
	if _, _, _, err := pc.ValidationData(ctx, plain.pki.Seal().Chain); !errors.As(err, &pe) || pe.Code != protocol.CodeUnavailable {
		t.Fatalf("relay without a fetcher: %v", err)
	}
}
