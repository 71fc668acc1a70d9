//go:build cgo

package pkcs11signer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/softhsm"
)

const (
	tokenLabel = "veilsign-test"
	userPIN    = "1234"
	soPIN      = "5678"
	ecLabel    = "hsm-p256"
)

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
	testtool.Require(t, "softhsm2-util")
	util, module, err := softhsm.Find()
	if err != nil {
		if testtool.InCI() {
			t.Fatal(err)
		}
		t.Skipf("SKIPPED: %v", err)
	}
	f := &fixture{module: module}
	conf, err := softhsm.Init(util, t.TempDir(), tokenLabel, userPIN, soPIN)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	if f.pki, err = devpki.New(); err != nil {
		t.Fatal(err)
	}
	if f.pki2, err = devpki.New(); err != nil {
		t.Fatal(err)
	}

	// Set the token up through PKCS#11 itself, then let go of the module before the
	// Signers load it.
	card, err := softhsm.Open(module, tokenLabel, userPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	f.slot = card.Slot()
	anna := devpki.Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Locality: "Brussel"}
	if f.rsa, err = card.AddCardKey(EIDCertLabel, f.pki, anna); err != nil {
		t.Fatal(err)
	}
	ecPub, err := card.GenerateEC(ecLabel, []byte{0x20})
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.pki2.IssueQualifiedWithKey(devpki.Person{GivenName: "Jan", Surname: "Janssens", SerialNumber: "89112433518"}, softhsm.PublicOnly{Key: ecPub})
	if err != nil {
		t.Fatal(err)
	}
	f.ec = id.Chain
	if err := card.StoreCertificate(ecLabel, []byte{0x20}, id.Chain[0]); err != nil {
		t.Fatal(err)
	}
	// A certificate whose key is not on the token.
	f.orphans = f.pki.Seal().Chain
	if err := card.StoreCertificate("orphan", []byte{0x99}, f.orphans[0]); err != nil {
		t.Fatal(err)
	}
	return f
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
