//go:build cgo

package softhsm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"fmt"
	"math/big"
	"strings"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// Admin is a logged-in read-write session on one token, for personalising it. Close lets
// go of the module, so that a signer can load it afresh afterwards.
type Admin struct {
	ctx  *pkcs11.Ctx
	sh   pkcs11.SessionHandle
	slot uint
}

// Slot is the number of the slot that holds the token.
func (a *Admin) Slot() uint { return a.slot }

// Open loads module (with SOFTHSM2_CONF already set), finds the token labelled label and
// logs in as its user.
func Open(module, label, userPIN string) (*Admin, error) {
	c := pkcs11.New(module)
	if c == nil {
		return nil, fmt.Errorf("softhsm: cannot load %s", module)
	}
	fail := func(err error) (*Admin, error) {
		c.Finalize()
		c.Destroy()
		return nil, err
	}
	if err := c.Initialize(); err != nil {
		c.Destroy()
		return nil, fmt.Errorf("softhsm: %s: %w", module, err)
	}
	slots, err := c.GetSlotList(true)
	if err != nil {
		return fail(fmt.Errorf("softhsm: slots: %w", err))
	}
	for _, s := range slots {
		info, err := c.GetTokenInfo(s)
		if err != nil || strings.TrimRight(info.Label, " \x00") != label {
			continue
		}
		sh, err := c.OpenSession(s, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			return fail(fmt.Errorf("softhsm: open session: %w", err))
		}
		if err := c.Login(sh, pkcs11.CKU_USER, userPIN); err != nil {
			c.CloseSession(sh)
			return fail(fmt.Errorf("softhsm: login: %w", err))
		}
		return &Admin{ctx: c, sh: sh, slot: s}, nil
	}
	return fail(fmt.Errorf("softhsm: no token labelled %q", label))
}

// Close logs out and unloads the module.
func (a *Admin) Close() {
	a.ctx.Logout(a.sh)
	a.ctx.CloseSession(a.sh)
	a.ctx.Finalize()
	a.ctx.Destroy()
}

// keyTemplates are the attributes of a key pair made on the token: the private half is
// sensitive and not extractable, as on a card or an HSM.
func keyTemplates(label string, id []byte, keyType uint) (pub, priv []*pkcs11.Attribute) {
	attr := pkcs11.NewAttribute
	pub = []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), attr(pkcs11.CKA_KEY_TYPE, keyType),
		attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id)}
	priv = []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), attr(pkcs11.CKA_KEY_TYPE, keyType),
		attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_SENSITIVE, true),
		attr(pkcs11.CKA_EXTRACTABLE, false), attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id)}
	return pub, priv
}

// GenerateRSA makes an RSA-2048 key pair on the token. With pinPerSignature the private
// key wants the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE), like an eID
// card's non-repudiation key.
func (a *Admin) GenerateRSA(label string, id []byte, pinPerSignature bool) (*rsa.PublicKey, error) {
	pubT, privT := keyTemplates(label, id, pkcs11.CKK_RSA)
	pubT = append(pubT,
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	if pinPerSignature {
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, true))
	}
	pubH, _, err := a.ctx.GenerateKeyPair(a.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		return nil, fmt.Errorf("softhsm: generate RSA key %q: %w", label, err)
	}
	attrs, err := a.ctx.GetAttributeValue(a.sh, pubH, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("softhsm: read RSA key %q: %w", label, err)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(new(big.Int).SetBytes(attrs[1].Value).Int64())}, nil
}

// GenerateEC makes an ECDSA P-256 key pair on the token, as an HSM holds a seal key.
func (a *Admin) GenerateEC(label string, id []byte) (*ecdsa.PublicKey, error) {
	params, err := encasn1.Marshal(encasn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}) // prime256v1
	if err != nil {
		return nil, err
	}
	pubT, privT := keyTemplates(label, id, pkcs11.CKK_EC)
	pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
	pubH, _, err := a.ctx.GenerateKeyPair(a.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)}, pubT, privT)
	if err != nil {
		return nil, fmt.Errorf("softhsm: generate EC key %q: %w", label, err)
	}
	attrs, err := a.ctx.GetAttributeValue(a.sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, fmt.Errorf("softhsm: read EC key %q: %w", label, err)
	}
	// CKA_EC_POINT is the DER OCTET STRING holding the uncompressed point; some modules
	// give the bare point.
	in := cryptobyte.String(attrs[0].Value)
	var point []byte
	if !in.ReadASN1Bytes(&point, asn1.OCTET_STRING) || !in.Empty() {
		point = attrs[0].Value
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("softhsm: CKA_EC_POINT of %q: %w", label, err)
	}
	return pub, nil
}

// StoreCertificate puts a public certificate object on the token; the one with the same
// CKA_ID as a key pair is that key's certificate.
func (a *Admin) StoreCertificate(label string, id []byte, cert *x509.Certificate) error {
	serial, err := encasn1.Marshal(cert.SerialNumber)
	if err != nil {
		return err
	}
	attr := pkcs11.NewAttribute
	if _, err := a.ctx.CreateObject(a.sh, []*pkcs11.Attribute{attr(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		attr(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509), attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, false),
		attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id), attr(pkcs11.CKA_SUBJECT, cert.RawSubject),
		attr(pkcs11.CKA_ISSUER, cert.RawIssuer), attr(pkcs11.CKA_SERIAL_NUMBER, serial), attr(pkcs11.CKA_VALUE, cert.Raw)}); err != nil {
		return fmt.Errorf("softhsm: store certificate %q: %w", label, err)
	}
	return nil
}

// CardKeyID is the CKA_ID of the key made by AddCardKey and of its certificate.
var CardKeyID = []byte{0x03}

// AddCardKey personalises the token as the Belgian eID card's issuer does: an RSA key
// made on the token that wants the PIN for every signature, labelled label, a qualified
// certificate for person from pki, and the CA certificates beside it (labels "CA" and
// "Root"), since a card carries its chain. It returns the chain, leaf first.
func (a *Admin) AddCardKey(label string, pki *devpki.PKI, person devpki.Person) ([]*x509.Certificate, error) {
	pub, err := a.GenerateRSA(label, CardKeyID, true)
	if err != nil {
		return nil, err
	}
	id, err := pki.IssueQualifiedWithKey(person, PublicOnly{pub})
	if err != nil {
		return nil, err
	}
	labels := []string{label, "CA", "Root"}
	for i, cert := range id.Chain {
		cid := CardKeyID
		if i > 0 {
			cid = []byte{byte(0x0f + i)}
		}
		if err := a.StoreCertificate(labels[min(i, len(labels)-1)], cid, cert); err != nil {
			return nil, err
		}
	}
	return id.Chain, nil
}
