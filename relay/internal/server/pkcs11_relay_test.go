//go:build cgo

package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
	"github.com/veilsign/veilsign/relay/internal/softhsm"
	"github.com/veilsign/veilsign/relay/protocol"
)

const (
	hsmLabel = "veilsign-relay"
	hsmPIN   = "1234"
)

// eidToken initialises a SoftHSM2 token in a temporary directory holding an eID-like RSA
// key ("Signature", PIN for every signature) certified by pki, with the CA certificates,
// and returns the module path.
func eidToken(t *testing.T, pki *devpki.PKI) string {
	t.Helper()
	testtool.Require(t, "softhsm2-util")
	util, module, err := softhsm.Find()
	if err != nil {
		if testtool.InCI() {
			t.Fatal(err)
		}
		t.Skipf("SKIPPED: %v", err)
	}
	conf, err := softhsm.Init(util, t.TempDir(), hsmLabel, hsmPIN, "5678")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	card, err := softhsm.Open(module, hsmLabel, hsmPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if _, err := card.AddCardKey(pkcs11signer.EIDCertLabel, pki, devpki.Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Locality: "Brussel"}); err != nil {
		t.Fatal(err)
	}
	return module
}

// TestPKCS11ThroughRelay signs a testdata PDF with an eID-like key on a SoftHSM2 token,
// through the relay over loopback: identify, prepare with the token's chain, sign, embed;
// the result verifies (B-T, trusted) in our verifier and in pdfsig.
func TestPKCS11ThroughRelay(t *testing.T) {
	pki := sharedPKI(t)
	module := eidToken(t, pki)
	eid, err := pkcs11signer.New(pkcs11signer.Config{Method: pkcs11signer.MethodEID, Module: module, TokenLabel: hsmLabel, PIN: hsmPIN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eid.Close(); err != nil {
			t.Error(err)
		}
	})
	r := newMiniRelay(t, nil, eid)
	ctx := testCtx(t)
	var states []string
	c := &client.Client{URL: r.wsURL(), Token: issueToken(t, "bt_eid", []string{"eid"}, 2),
		OnStatus: func(st protocol.Status) { states = append(states, st.State) }}
	if err := c.Dial(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{{Label: "A", Name: "Anna Peeters", Method: pdfcore.MethodEID,
		Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 320, LLY: 60, URX: 540, URY: 100}}}}}
	pdf := signStep(t, ctx, c, readPDF(t, "libreoffice-7.4-writer-xref-table.pdf"), plan, "A", "eid", protocol.Signer{Name: "Anna Peeters"}, pdfcore.Options{})
	t.Logf("statuses: %v", states)

	rep, err := pdfcore.Verify(pdf, pdfcore.VerifyOptions{Roots: pki.Roots()})
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	s := rep.Signatures[0]
	if !s.Timestamp.Valid || s.Level != "B-T" || !s.CertificateTrusted || s.Signer.SerialNumber == "" {
		t.Fatalf("signature: timestamp %+v level %s trusted %v signer %+v", s.Timestamp, s.Level, s.CertificateTrusted, s.Signer)
	}
	pdfsig := testtool.Require(t, "pdfsig")
	path := filepath.Join(t.TempDir(), "eid.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(pdfsig, path).CombinedOutput()
	if strings.Count(string(out), "Signature is Valid.") != 1 {
		t.Fatalf("pdfsig:\n%s", out)
	}
	if n := audits(t, r.st, c.Session()); n != 1 {
		t.Fatalf("%d signatures booked, want 1", n)
	}
}
