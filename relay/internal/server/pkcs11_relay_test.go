//go:build cgo

package server_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
	"github.com/veilsign/veilsign/relay/protocol"
)

const (
	hsmLabel = "veilsign-relay"
	hsmPIN   = "1234"
)

// pubOnly lets devpki certify a key that never leaves the token.
type pubOnly struct{ pub crypto.PublicKey }

func (p pubOnly) Public() crypto.PublicKey { return p.pub }
func (p pubOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the private key is on the token")
}

// eidToken initialises a SoftHSM2 token in a temporary directory holding an eID-like RSA
// key ("Signature", PIN for every signature) certified by pki, with the CA certificates,
// and returns the module path.
func eidToken(t *testing.T, pki *devpki.PKI) string {
	t.Helper()
	util := testtool.Require(t, "softhsm2-util")
	module := ""
	for _, m := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		if testtool.InCI() {
			t.Fatal("softhsm2-util is installed but libsofthsm2.so is not")
		}
		t.Skip("SKIPPED: libsofthsm2.so not found")
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	if out, err := exec.Command(util, "--init-token", "--free", "--label", hsmLabel, "--pin", hsmPIN, "--so-pin", "5678").CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	p := pkcs11.New(module)
	if p == nil {
		t.Fatalf("cannot load %s", module)
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil || len(slots) == 0 {
		t.Fatalf("slots %v: %v", slots, err)
	}
	sh, err := p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseSession(sh)
	if err := p.Login(sh, pkcs11.CKU_USER, hsmPIN); err != nil {
		t.Fatal(err)
	}
	defer p.Logout(sh)

	id := []byte{0x03}
	attr := pkcs11.NewAttribute
	pubH, _, err := p.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)},
		[]*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_LABEL, pkcs11signer.EIDCertLabel),
			attr(pkcs11.CKA_ID, id), attr(pkcs11.CKA_MODULUS_BITS, 2048), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1})},
		[]*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_SENSITIVE, true),
			attr(pkcs11.CKA_EXTRACTABLE, false), attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_LABEL, pkcs11signer.EIDCertLabel),
			attr(pkcs11.CKA_ID, id), attr(pkcs11.CKA_ALWAYS_AUTHENTICATE, true)})
	if err != nil {
		t.Fatalf("C_GenerateKeyPair: %v", err)
	}
	vals, err := p.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{attr(pkcs11.CKA_MODULUS, nil), attr(pkcs11.CKA_PUBLIC_EXPONENT, nil)})
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(vals[0].Value), E: int(new(big.Int).SetBytes(vals[1].Value).Int64())}
	ident, err := pki.IssueQualifiedWithKey(devpki.Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Locality: "Brussel"}, pubOnly{pub})
	if err != nil {
		t.Fatal(err)
	}
	put := func(label string, id []byte, cert *x509.Certificate) {
		serial, err := encasn1.Marshal(cert.SerialNumber)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.CreateObject(sh, []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
			attr(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509), attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, false),
			attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id), attr(pkcs11.CKA_SUBJECT, cert.RawSubject),
			attr(pkcs11.CKA_ISSUER, cert.RawIssuer), attr(pkcs11.CKA_SERIAL_NUMBER, serial), attr(pkcs11.CKA_VALUE, cert.Raw)}); err != nil {
			t.Fatalf("C_CreateObject %q: %v", label, err)
		}
	}
	put(pkcs11signer.EIDCertLabel, id, ident.Chain[0])
	put("CA", []byte{0x10}, ident.Chain[1])
	put("Root", []byte{0x11}, ident.Chain[2])
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
