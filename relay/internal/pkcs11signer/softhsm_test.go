//go:build cgo

package pkcs11signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
)

const (
	tokenLabel = "veilsign-test"
	userPIN    = "1234"
	soPIN      = "5678"
	ecLabel    = "hsm-p256"
)

// softhsmModules are where Debian (and a source build) put SoftHSM's PKCS#11 library.
var softhsmModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// fixture is a SoftHSM token holding an eID-like RSA key ("Signature", PIN asked again
// for every signature) with its certificate and the CA certificates, and an HSM-like
// ECDSA P-256 key whose certificate comes from another PKI whose CAs are not on the token.
type fixture struct {
	module  string
	slot    uint
	pki     *devpki.PKI // issued "Signature"
	pki2    *devpki.PKI // issued ecLabel
	rsa     []*x509.Certificate
	ec      []*x509.Certificate
	orphans []*x509.Certificate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	util := testtool.Require(t, "softhsm2-util")
	f := &fixture{}
	for _, m := range softhsmModules {
		if _, err := os.Stat(m); err == nil {
			f.module = m
			break
		}
	}
	if f.module == "" {
		if testtool.InCI() {
			t.Fatalf("softhsm2-util is installed but libsofthsm2.so is not in %v", softhsmModules)
		}
		t.Skipf("SKIPPED: libsofthsm2.so not found in %v", softhsmModules)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	if out, err := exec.Command(util, "--init-token", "--free", "--label", tokenLabel, "--pin", userPIN, "--so-pin", soPIN).CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}

	var err error
	if f.pki, err = devpki.New(); err != nil {
		t.Fatal(err)
	}
	if f.pki2, err = devpki.New(); err != nil {
		t.Fatal(err)
	}

	// Set the token up through PKCS#11 itself, then let go of the module before the
	// Signers load it.
	c := pkcs11.New(f.module)
	if c == nil {
		t.Fatalf("cannot load %s", f.module)
	}
	defer c.Destroy()
	if err := c.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer c.Finalize()
	slots, err := c.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range slots {
		if info, err := c.GetTokenInfo(s); err == nil && trimLabel(info.Label) == tokenLabel {
			f.slot, found = s, true
		}
	}
	if !found {
		t.Fatalf("token %q not found after softhsm2-util --init-token", tokenLabel)
	}
	sh, err := c.OpenSession(f.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseSession(sh)
	if err := c.Login(sh, pkcs11.CKU_USER, userPIN); err != nil {
		t.Fatal(err)
	}
	defer c.Logout(sh)

	anna := devpki.Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Locality: "Brussel"}
	rsaPub := generateRSA(t, c, sh, EIDCertLabel, []byte{0x03})
	id, err := f.pki.IssueQualifiedWithKey(anna, publicOnly{rsaPub})
	if err != nil {
		t.Fatal(err)
	}
	f.rsa = id.Chain
	importCert(t, c, sh, EIDCertLabel, []byte{0x03}, id.Chain[0])
	importCert(t, c, sh, "CA", []byte{0x10}, id.Chain[1])
	importCert(t, c, sh, "Root", []byte{0x11}, id.Chain[2])

	ecPub := generateEC(t, c, sh, ecLabel, []byte{0x20})
	id, err = f.pki2.IssueQualifiedWithKey(devpki.Person{GivenName: "Jan", Surname: "Janssens", SerialNumber: "89112433518"}, publicOnly{ecPub})
	if err != nil {
		t.Fatal(err)
	}
	f.ec = id.Chain
	importCert(t, c, sh, ecLabel, []byte{0x20}, id.Chain[0])

	// A certificate whose key is not on the token.
	f.orphans = f.pki.Seal().Chain
	importCert(t, c, sh, "orphan", []byte{0x99}, f.orphans[0])
	return f
}

// publicOnly lets devpki issue a certificate for a key that stays on the token: the CA
// signs, so the subject key only has to tell its public half.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the private key is on the token")
}

func keyTemplates(label string, id []byte, keyType uint) (pub, priv []*pkcs11.Attribute) {
	pub = []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	priv = []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	return pub, priv
}

// generateRSA makes an RSA-2048 key pair on the token that, like an eID signature key,
// needs the PIN for every signature (CKA_ALWAYS_AUTHENTICATE).
func generateRSA(t *testing.T, c *pkcs11.Ctx, sh pkcs11.SessionHandle, label string, id []byte) *rsa.PublicKey {
	t.Helper()
	pubT, privT := keyTemplates(label, id, pkcs11.CKK_RSA)
	pubT = append(pubT,
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, true))
	pubH, _, err := c.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		t.Fatalf("C_GenerateKeyPair RSA: %v", err)
	}
	attrs, err := c.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(new(big.Int).SetBytes(attrs[1].Value).Int64())}
}

// generateEC makes an ECDSA P-256 key pair on the token.
func generateEC(t *testing.T, c *pkcs11.Ctx, sh pkcs11.SessionHandle, label string, id []byte) *ecdsa.PublicKey {
	t.Helper()
	params, err := encasn1.Marshal(encasn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}) // prime256v1
	if err != nil {
		t.Fatal(err)
	}
	pubT, privT := keyTemplates(label, id, pkcs11.CKK_EC)
	pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
	pubH, _, err := c.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		t.Fatalf("C_GenerateKeyPair EC: %v", err)
	}
	attrs, err := c.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	if err != nil {
		t.Fatal(err)
	}
	// CKA_EC_POINT is the DER OCTET STRING holding the uncompressed point.
	in := cryptobyte.String(attrs[0].Value)
	var point []byte
	if !in.ReadASN1Bytes(&point, asn1.OCTET_STRING) || !in.Empty() {
		point = attrs[0].Value
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatalf("CKA_EC_POINT %x: %v", attrs[0].Value, err)
	}
	return pub
}

func importCert(t *testing.T, c *pkcs11.Ctx, sh pkcs11.SessionHandle, label string, id []byte, cert *x509.Certificate) {
	t.Helper()
	serial, err := encasn1.Marshal(cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, cert.Raw),
	}); err != nil {
		t.Fatalf("C_CreateObject certificate %q: %v", label, err)
	}
}

// recorder is the page: it keeps the states reported.
type recorder struct {
	mu     sync.Mutex
	states []string
}

func (r *recorder) Status(state, url, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, state)
}

func (r *recorder) OTP(ctx context.Context) (string, error) {
	return "", errors.New("no OTP for PKCS#11")
}

func newSigner(t *testing.T, cfg Config) *Signer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// signCMS runs the relay's flow: signed attributes for a digest of random content, the
// backend signs their hash, cms.Assemble builds the CMS, which is parsed and verified. It
// returns the CMS and the content.
func signCMS(t *testing.T, b backend.Backend, h crypto.Hash) ([]byte, []byte, []*x509.Certificate) {
	t.Helper()
	ctx := context.Background()
	chain, cred, err := b.Certificate(ctx, backend.Signer{Name: "Anna Peeters"}, &recorder{})
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	content := make([]byte, 4096)
	rand.Read(content)
	w := h.New()
	w.Write(content)
	digest := w.Sum(nil)
	attrs, err := cms.SignedAttributes(digest, h, chain[0])
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := cms.ToBeSigned(attrs, h)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := b.Sign(ctx, backend.Request{Chain: chain, Hash: tbs, HashAlg: h, Label: "contract.pdf", Credential: cred}, rec)
	if err != nil {
		t.Fatalf("Sign %v: %v", h, err)
	}
	if want, _ := signatureAlgorithm(chain[0].PublicKey, h); res.Algorithm != want {
		t.Fatalf("algorithm %v, want %v", res.Algorithm, want)
	}
	if b.Method() == MethodEID && !slices.Equal(rec.states, []string{"awaiting-approval", "signing"}) {
		t.Errorf("eid states %v, want awaiting-approval then signing", rec.states)
	}
	der, err := cms.Assemble(attrs, h, res.Algorithm, res.Signature, chain)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	sig, err := cms.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := sig.CheckDigest(digest); err != nil {
		t.Fatal(err)
	}
	return der, content, chain
}

// opensslVerify checks the detached CMS with openssl, trusting root; cas are the
// intermediates the CMS does not carry (openssl 3.0's cms has no -untrusted, so they go
// into the CA file next to the root).
func opensslVerify(t *testing.T, der, content []byte, root *x509.Certificate, cas ...*x509.Certificate) {
	t.Helper()
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var trusted []byte
	for _, c := range append([]*x509.Certificate{root}, cas...) {
		trusted = append(trusted, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	args := []string{"cms", "-verify", "-binary", "-inform", "DER",
		"-in", write("sig.der", der), "-content", write("content.bin", content),
		"-CAfile", write("trusted.pem", trusted),
		"-purpose", "any", "-out", filepath.Join(dir, "out.bin")}
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification successful") {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
}

func TestSoftHSM(t *testing.T) {
	f := newFixture(t)
	eid := Config{Method: MethodEID, Module: f.module, TokenLabel: tokenLabel,
		PINFunc: func(context.Context) (string, error) { return userPIN, nil }}
	slot := f.slot
	hsm := Config{Method: MethodX509, Module: f.module, Slot: &slot, PIN: userPIN, KeyLabel: ecLabel}

	t.Run("eid RSA chain", func(t *testing.T) {
		s := newSigner(t, eid)
		if s.Method() != "eid" {
			t.Fatalf("method %q", s.Method())
		}
		chain, cred, err := s.Certificate(context.Background(), backend.Signer{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cred != EIDCertLabel || len(chain) != 3 {
			t.Fatalf("credential %q, chain of %d, want %q and leaf, CA, root", cred, len(chain), EIDCertLabel)
		}
		for i := range chain {
			if !chain[i].Equal(f.rsa[i]) {
				t.Fatalf("chain[%d] is %s, want %s", i, chain[i].Subject, f.rsa[i].Subject)
			}
		}
	})

	t.Run("eid RSA sign", func(t *testing.T) {
		s := newSigner(t, eid)
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			der, content, _ := signCMS(t, s, h)
			opensslVerify(t, der, content, f.pki.Root())
		}
	})

	t.Run("x509 ECDSA leaf only", func(t *testing.T) {
		s := newSigner(t, hsm)
		if s.Method() != "x509" {
			t.Fatalf("method %q", s.Method())
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			der, content, chain := signCMS(t, s, h)
			if len(chain) != 1 || !chain[0].Equal(f.ec[0]) {
				t.Fatalf("chain of %d, want the leaf alone (its CAs are not on the token)", len(chain))
			}
			opensslVerify(t, der, content, f.pki2.Root(), f.ec[1])
		}
	})

	t.Run("wrong PIN", func(t *testing.T) {
		for name, cfg := range map[string]Config{
			"config":   {Method: MethodX509, Module: f.module, PIN: "0000", KeyLabel: ecLabel},
			"callback": {Method: MethodEID, Module: f.module, PINFunc: func(context.Context) (string, error) { return "4321", nil }},
		} {
			s := newSigner(t, cfg)
			_, err := s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil)
			if !errors.Is(err, backend.ErrRefused) || !isRV(err, pkcs11.CKR_PIN_INCORRECT) || !strings.Contains(err.Error(), "wrong PIN") {
				t.Errorf("%s: wrong PIN gave %v, want ErrRefused with CKR_PIN_INCORRECT", name, err)
			}
		}
		s := newSigner(t, Config{Method: MethodX509, Module: f.module, KeyLabel: ecLabel})
		if _, err := s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil); err == nil || !strings.Contains(err.Error(), "no PIN is configured") {
			t.Errorf("no PIN and no PIN pad gave %v", err)
		}
		s = newSigner(t, Config{Method: MethodEID, Module: f.module,
			PINFunc: func(context.Context) (string, error) { return "", errors.New("the signer closed the dialog") }})
		if _, err := s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil); !errors.Is(err, backend.ErrRefused) {
			t.Errorf("a cancelled PIN prompt gave %v, want ErrRefused", err)
		}
	})

	t.Run("unknown labels", func(t *testing.T) {
		s := newSigner(t, Config{Method: MethodX509, Module: f.module, PIN: userPIN, KeyLabel: "Nope"})
		_, _, err := s.Certificate(context.Background(), backend.Signer{}, nil)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"Nope"`) || !strings.Contains(err.Error(), `"Signature"`) {
			t.Errorf("unknown label gave %v, want ErrNotFound naming the label and the labels present", err)
		}
		_, err = s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Sign with an unknown label gave %v, want ErrNotFound", err)
		}

		s = newSigner(t, Config{Method: MethodX509, Module: f.module, PIN: userPIN, CertLabel: "orphan"})
		if _, _, err := s.Certificate(context.Background(), backend.Signer{}, nil); err != nil {
			t.Fatal(err)
		}
		_, err = s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no private key") {
			t.Errorf("certificate without key gave %v, want ErrNotFound", err)
		}

		s = newSigner(t, Config{Method: MethodEID, Module: f.module, TokenLabel: "BELPIC"})
		if _, _, err := s.Certificate(context.Background(), backend.Signer{}, nil); !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), tokenLabel) {
			t.Errorf("absent token gave %v, want ErrUnavailable listing the tokens present", err)
		}
		bad := uint(4242)
		s = newSigner(t, Config{Method: MethodEID, Module: f.module, Slot: &bad})
		if _, _, err := s.Certificate(context.Background(), backend.Signer{}, nil); !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("empty slot gave %v, want ErrUnavailable", err)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		s := newSigner(t, eid)
		ctx := context.Background()
		if _, err := s.Sign(ctx, backend.Request{Hash: make([]byte, 20), HashAlg: crypto.SHA1}, nil); err == nil {
			t.Error("SHA-1 signed")
		}
		if _, err := s.Sign(ctx, backend.Request{Hash: make([]byte, 20), HashAlg: crypto.SHA256}, nil); err == nil {
			t.Error("a 20-byte SHA-256 hash signed")
		}
		// The certificate the signature was prepared for is not on the token (another card).
		_, err := s.Sign(ctx, backend.Request{Chain: f.ec, Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil)
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "card changed") {
			t.Errorf("another certificate gave %v", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Certificate(cancelled, backend.Signer{}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context gave %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		signers := []*Signer{newSigner(t, eid), newSigner(t, hsm)}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := signers[i%2]
				chain, cred, err := s.Certificate(context.Background(), backend.Signer{}, nil)
				if err != nil {
					errs <- err
					return
				}
				hash := make([]byte, 32)
				rand.Read(hash)
				res, err := s.Sign(context.Background(), backend.Request{Chain: chain, Hash: hash, HashAlg: crypto.SHA256, Credential: cred}, &recorder{})
				if err == nil {
					err = verifyRaw(chain[0].PublicKey, hash, crypto.SHA256, res.Signature)
				}
				if err != nil {
					errs <- fmt.Errorf("signer %d: %w", i%2, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("reload after close", func(t *testing.T) {
		s, err := New(hsm)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Certificate(context.Background(), backend.Signer{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Certificate(context.Background(), backend.Signer{}, nil); err == nil {
			t.Fatal("a closed signer worked")
		}
		modules.Lock()
		n := len(modules.m)
		modules.Unlock()
		if n != 0 {
			t.Fatalf("%d modules still loaded after the last Close", n)
		}
		s2 := newSigner(t, hsm) // loads and initialises the module again
		signCMS(t, s2, crypto.SHA256)
	})
}

func TestMissingModule(t *testing.T) {
	dir := t.TempDir()
	notLib := filepath.Join(dir, "libnot-a-module.so")
	if err := os.WriteFile(notLib, []byte("not a shared object"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "libmissing.so"), notLib} {
		s := newSigner(t, Config{Method: MethodEID, Module: path})
		_, _, err := s.Certificate(context.Background(), backend.Signer{}, nil)
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Certificate gave %v, want ErrUnavailable naming the module", path, err)
		}
		_, err = s.Sign(context.Background(), backend.Request{Hash: make([]byte, 32), HashAlg: crypto.SHA256}, nil)
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s: Sign gave %v, want ErrUnavailable", path, err)
		}
	}
}
