//go:build cgo

package democard

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/miekg/pkcs11"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/devstore"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
)

// keyID is the CKA_ID shared by the signature key and its certificate.
var keyID = []byte{0x03}

// New makes a fresh card in dir (emptied first) with a certificate from pki, and returns
// the "eid" backend that signs with it. SOFTHSM2_CONF is set for this process: the demo
// relay loads no other SoftHSM token. It returns ErrNoSoftHSM when SoftHSM2 is missing.
func New(dir string, pki *devpki.PKI) (backend.Backend, error) {
	util, module, err := findSoftHSM()
	if err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"), 0o600); err != nil {
		return nil, err
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	soPIN := make([]byte, 8)
	rand.Read(soPIN)
	if out, err := exec.Command(util, "--init-token", "--free", "--label", TokenLabel, "--pin", PIN, "--so-pin", fmt.Sprintf("%x", soPIN)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("democard: softhsm2-util --init-token: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if err := personalise(module, pki); err != nil {
		return nil, err
	}
	s, err := pkcs11signer.New(pkcs11signer.Config{Method: pkcs11signer.MethodEID, Module: module, TokenLabel: TokenLabel, PINFunc: askPIN})
	if err != nil {
		return nil, err
	}
	return reader{s}, nil
}

// personalise does what the card's issuer does: a key pair made on the card, a
// certificate for it, and the CA certificates beside it. The module is let go of before
// the backend loads it.
func personalise(module string, pki *devpki.PKI) error {
	c := pkcs11.New(module)
	if c == nil {
		return fmt.Errorf("democard: cannot load %s", module)
	}
	defer c.Destroy()
	if err := c.Initialize(); err != nil {
		return fmt.Errorf("democard: %s: %w", module, err)
	}
	defer c.Finalize()
	slot, err := findToken(c)
	if err != nil {
		return err
	}
	sh, err := c.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("democard: open session: %w", err)
	}
	defer c.CloseSession(sh)
	if err := c.Login(sh, pkcs11.CKU_USER, PIN); err != nil {
		return fmt.Errorf("democard: login: %w", err)
	}
	defer c.Logout(sh)
	pub, err := generateKey(c, sh)
	if err != nil {
		return err
	}
	id, err := pki.IssueQualifiedWithKey(devstore.Person(Holder), publicHalf{pub})
	if err != nil {
		return err
	}
	// Leaf, CA, root: the card carries the chain, as an eID card carries its CAs.
	labels := []string{pkcs11signer.EIDCertLabel, "CA", "Root"}
	for i, cert := range id.Chain {
		cid := keyID
		if i > 0 {
			cid = []byte{byte(0x10 + i)}
		}
		if err := storeCert(c, sh, labels[min(i, len(labels)-1)], cid, cert); err != nil {
			return err
		}
	}
	return nil
}

func findToken(c *pkcs11.Ctx) (uint, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("democard: slots: %w", err)
	}
	for _, s := range slots {
		if info, err := c.GetTokenInfo(s); err == nil && strings.TrimRight(info.Label, " \x00") == TokenLabel {
			return s, nil
		}
	}
	return 0, errors.New("democard: the token just initialised is not there")
}

// generateKey makes the RSA-2048 signature key on the token: not extractable, and like an
// eID card's non-repudiation key it wants the PIN again for each signature.
func generateKey(c *pkcs11.Ctx, sh pkcs11.SessionHandle) (*rsa.PublicKey, error) {
	common := func(class uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, pkcs11signer.EIDCertLabel),
			pkcs11.NewAttribute(pkcs11.CKA_ID, keyID),
		}
	}
	pubT := append(common(pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	privT := append(common(pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, true))
	pubH, _, err := c.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		return nil, fmt.Errorf("democard: generate the key: %w", err)
	}
	attrs, err := c.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("democard: read the public key: %w", err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(new(big.Int).SetBytes(attrs[1].Value).Int64())}, nil
}

func storeCert(c *pkcs11.Ctx, sh pkcs11.SessionHandle, label string, id []byte, cert *x509.Certificate) error {
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return err
	}
	_, err = c.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, cert.Raw),
	})
	if err != nil {
		return fmt.Errorf("democard: store certificate %q: %w", label, err)
	}
	return nil
}

// publicHalf lets the dev CA certify a key that never leaves the token.
type publicHalf struct{ pub crypto.PublicKey }

func (p publicHalf) Public() crypto.PublicKey { return p.pub }
func (p publicHalf) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("democard: the private key is on the card")
}
