// Package devpki is an in-memory development PKI shaped like a qualified trust service
// provider such as itsme®: a root, a "qualified" issuing CA, a seal certificate for the
// service's own (pen, SMS-TAN) signatures, a time-stamping authority, and qualified
// natural-person certificates on demand. Nothing here is trusted outside development and
// tests; nothing touches files or the network, so it also runs in WASM. Callers persist a
// PKI with Marshal and Unmarshal.
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Validity periods: long enough that a persisted dev PKI outlives a project, short enough
// to look like real certificates.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 3 * 365 * 24 * time.Hour
	// backdate makes certificates valid from a year before they are made: it absorbs clock
	// skew between the machine that issues and the one that checks, and lets tests sign at
	// fixed times (golden reports) with a PKI made now. With one hour, every test signing
	// at 10:42 on the day of a fixed date failed once the clock passed 11:42 that day.
	backdate = 366 * 24 * time.Hour
)

// organisation appears in every subject so nobody mistakes these certificates for real ones.
const organisation = "veilsign (development only)"

// Identity is a certificate chain, leaf first and root last, with the leaf's private key.
type Identity struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Certificate returns the leaf.
func (id *Identity) Certificate() *x509.Certificate { return id.Chain[0] }

func (id *Identity) clone() *Identity {
	return &Identity{Chain: slices.Clone(id.Chain), Key: id.Key}
}

// PKI holds the CA hierarchy and the service identities. Its methods may be called
// concurrently.
type PKI struct {
	root, ca, seal, tsa *Identity

	mu   sync.RWMutex
	urls URLs // where revocation data is served; written into certificates issued later
}

// New creates a fresh PKI: "veilsign Dev Root CA" (ECDSA P-384) issues "veilsign Dev
// Qualified CA" (ECDSA P-384, the test QTSP), which issues "veilsign Dev Seal" (ECDSA P-256)
// and "veilsign Dev TSA" (ECDSA P-256). ECDSA keeps New fast enough to call in every test.
func New() (*PKI, error) { return NewWithURLs(URLs{}) }

// NewWithURLs is New with the revocation URLs set before anything is issued, so that the
// qualified CA, the seal and the TSA certificates carry them too (see URLs).
func NewWithURLs(u URLs) (*PKI, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	root, err := issue(&x509.Certificate{
		Subject:               devName("veilsign Dev Root CA"),
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, rootKey)
	if err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca, err := issue(&x509.Certificate{
		Subject:               devName("veilsign Dev Qualified CA"),
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity - 24*time.Hour), // inside the root's validity
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		OCSPServer:            u.ocsp(),
		CRLDistributionPoints: u.crl(u.RootCRL),
	}, root, caKey)
	if err != nil {
		return nil, err
	}
	p := &PKI{root: root, ca: ca, urls: u}
	if p.seal, err = p.issueService("veilsign Dev Seal", x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment, nil); err != nil {
		return nil, err
	}
	// RFC 3161 §2.3: the TSA certificate has exactly one, critical, extended key usage
	// time-stamping. crypto/x509 never marks it critical, so it is written here.
	eku, err := criticalTimeStampingEKU()
	if err != nil {
		return nil, err
	}
	if p.tsa, err = p.issueService("veilsign Dev TSA", x509.KeyUsageDigitalSignature, []pkix.Extension{eku}); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) issueService(cn string, usage x509.KeyUsage, extra []pkix.Extension) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	u := p.URLs()
	return issue(&x509.Certificate{
		Subject:               devName(cn),
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(leafValidity),
		BasicConstraintsValid: true,
		KeyUsage:              usage,
		ExtraExtensions:       extra,
		OCSPServer:            u.ocsp(),
		CRLDistributionPoints: u.crl(u.CRL),
	}, p.ca, key)
}

// Root returns the root certificate.
func (p *PKI) Root() *x509.Certificate { return p.root.Chain[0] }

// Roots returns a pool holding only the dev root, for x509.VerifyOptions.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root())
	return pool
}

// RootPEM returns the root certificate in PEM, e.g. for `openssl … -CAfile`.
func (p *PKI) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root().Raw})
}

// Seal returns the service's seal identity (chain seal, qualified CA, root).
func (p *PKI) Seal() *Identity { return p.seal.clone() }

// TSA returns the time-stamping identity (chain TSA, qualified CA, root), for a relay that
// serves RFC 3161 itself.
func (p *PKI) TSA() *Identity { return p.tsa.clone() }

// issue signs template with parent's key (self-signed when parent is nil) and returns the
// new identity with its chain.
func issue(template *x509.Certificate, parent *Identity, key crypto.Signer) (*Identity, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	template.SerialNumber = serial
	template.SubjectKeyId = ski
	template.NotBefore = template.NotBefore.UTC().Truncate(time.Second)
	template.NotAfter = template.NotAfter.UTC().Truncate(time.Second)
	issuerCert, issuerKey := template, key
	var chain []*x509.Certificate
	if parent != nil {
		issuerCert, issuerKey = parent.Chain[0], parent.Key
		chain = parent.Chain
	}
	der, err := x509.CreateCertificate(rand.Reader, template, issuerCert, key.Public(), issuerKey)
	if err != nil {
		return nil, fmt.Errorf("devpki: issue %q: %w", template.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Identity{Chain: append([]*x509.Certificate{cert}, chain...), Key: key}, nil
}

// randomSerial returns a positive 127-bit serial: RFC 5280 allows 20 octets, CA/B rules
// want at least 64 random bits.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] = b[0]&0x7f | 0x40 // positive and never shorter than 16 octets
	return new(big.Int).SetBytes(b), nil
}

// subjectKeyID follows RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the
// subjectPublicKey bit string.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(spki)
	var seq cryptobyte.String
	var bits []byte
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.SkipASN1(asn1.SEQUENCE) || !seq.ReadASN1BitStringAsBytes(&bits) {
		return nil, errors.New("devpki: cannot read the public key")
	}
	sum := sha256.Sum256(bits)
	return sum[:20], nil
}

func devName(cn string) pkix.Name {
	return pkix.Name{Country: []string{"BE"}, Organization: []string{organisation}, CommonName: cn}
}

var oidExtKeyUsage = []int{2, 5, 29, 37}
var oidKPTimeStamping = []int{1, 3, 6, 1, 5, 5, 7, 3, 8}

func criticalTimeStampingEKU() (pkix.Extension, error) {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidKPTimeStamping) })
	v, err := b.Bytes()
	return pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: v}, err
}
