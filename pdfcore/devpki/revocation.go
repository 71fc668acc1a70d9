package devpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// URLs are where a relay serves this PKI's revocation data over HTTP. Certificates issued
// while they are set carry them: the OCSP URL in the authority information access extension
// of every certificate (RFC 5280 4.2.2.1), CRL in the CRL distribution points of what the
// qualified CA issues, RootCRL in those of the qualified CA certificate itself (issued by
// the root). Empty fields are left out; the zero value (the default) writes none. URLs are
// configuration, not key material: Marshal does not keep them, callers set them again.
type URLs struct {
	OCSP    string
	CRL     string
	RootCRL string
}

func (u URLs) ocsp() []string {
	if u.OCSP == "" {
		return nil
	}
	return []string{u.OCSP}
}

func (u URLs) crl(url string) []string {
	if url == "" {
		return nil
	}
	return []string{url}
}

// SetURLs sets the revocation URLs written into certificates issued from now on; the CA,
// seal and TSA certificates made by New keep what they have (use NewWithURLs for those).
func (p *PKI) SetURLs(u URLs) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.urls = u
}

// URLs returns the revocation URLs in use.
func (p *PKI) URLs() URLs {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.urls
}

// Certificate status values for CertStatus, as RFC 6960 4.2.1 names them.
const (
	StatusGood    = ocsp.Good
	StatusRevoked = ocsp.Revoked
	StatusUnknown = ocsp.Unknown
)

// CertStatus is what the OCSP responder says of one certificate. RevokedAt and Reason (an
// RFC 5280 CRLReason code, 0 unspecified) matter only for StatusRevoked.
type CertStatus struct {
	Status    int
	RevokedAt time.Time
	Reason    int
}

// ocspValidity is how long a response is fresh (nextUpdate - thisUpdate).
const ocspValidity = 24 * time.Hour

// crlValidity is the time to the next CRL (nextUpdate - thisUpdate).
const crlValidity = 7 * 24 * time.Hour

// OCSPResponse returns a signed OCSP response (RFC 6960, DER OCSPResponse, basic response
// type) for cert with status st, its thisUpdate at (now when zero). It is signed by the CA
// that issued cert (the root for the qualified CA certificate, the qualified CA for the
// others), which RFC 6960 4.2.2.2 allows without a delegated responder certificate.
// x/crypto/ocsp stamps producedAt with the current minute.
func (p *PKI) OCSPResponse(cert *x509.Certificate, st CertStatus, at time.Time) ([]byte, error) {
	issuer, err := p.issuerOf(cert)
	if err != nil {
		return nil, err
	}
	return p.respond(issuer, cert.SerialNumber, crypto.SHA1, st, at)
}

// OCSPRespond answers a DER OCSP request as an HTTP responder would: status gives the
// status of each serial number the request asks about (a relay looks it up in its own
// records). A request that cannot be read gets the malformedRequest response and one about
// a CA of another PKI the unauthorized response (RFC 6960 2.3), both without error: they are
// answers, not failures.
func (p *PKI) OCSPRespond(request []byte, status func(serial *big.Int) CertStatus, at time.Time) ([]byte, error) {
	req, err := ocsp.ParseRequest(request)
	if err != nil {
		return bytes.Clone(ocsp.MalformedRequestErrorResponse), nil
	}
	for _, id := range []*Identity{p.ca, p.root} {
		name, key, err := certIDHashes(id.Chain[0], req.HashAlgorithm)
		if err != nil {
			return bytes.Clone(ocsp.MalformedRequestErrorResponse), nil
		}
		if bytes.Equal(name, req.IssuerNameHash) && bytes.Equal(key, req.IssuerKeyHash) {
			return p.respond(id, req.SerialNumber, req.HashAlgorithm, status(req.SerialNumber), at)
		}
	}
	return bytes.Clone(ocsp.UnauthorizedErrorResponse), nil
}

func (p *PKI) respond(issuer *Identity, serial *big.Int, h crypto.Hash, st CertStatus, at time.Time) ([]byte, error) {
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)
	tmpl := ocsp.Response{
		Status:       st.Status,
		SerialNumber: serial,
		ThisUpdate:   at,
		NextUpdate:   at.Add(ocspValidity),
		IssuerHash:   h,
	}
	switch st.Status {
	case StatusGood, StatusUnknown:
	case StatusRevoked:
		if st.RevokedAt.IsZero() {
			return nil, errors.New("devpki: a revoked status needs the revocation time")
		}
		tmpl.RevokedAt = st.RevokedAt.UTC().Truncate(time.Second)
		tmpl.RevocationReason = st.Reason
	default:
		return nil, fmt.Errorf("devpki: unknown certificate status %d", st.Status)
	}
	ca := issuer.Chain[0]
	der, err := ocsp.CreateResponse(ca, ca, tmpl, issuer.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: OCSP response: %w", err)
	}
	return der, nil
}

// certIDHashes are the issuerNameHash and issuerKeyHash of an OCSP CertID (RFC 6960 4.1.1):
// the hash of the issuer's DER subject, and of its public key bits.
func certIDHashes(issuer *x509.Certificate, h crypto.Hash) (name, key []byte, err error) {
	if !h.Available() {
		return nil, nil, fmt.Errorf("devpki: hash %v is not available", h)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, err
	}
	hn := h.New()
	hn.Write(issuer.RawSubject)
	hk := h.New()
	hk.Write(spki.PublicKey.RightAlign())
	return hn.Sum(nil), hk.Sum(nil), nil
}

// issuerOf finds which of the PKI's CAs issued cert.
func (p *PKI) issuerOf(cert *x509.Certificate) (*Identity, error) {
	if cert == nil {
		return nil, errors.New("devpki: no certificate")
	}
	for _, id := range []*Identity{p.ca, p.root} {
		c := id.Chain[0]
		if bytes.Equal(cert.RawIssuer, c.RawSubject) && cert.CheckSignatureFrom(c) == nil {
			return id, nil
		}
	}
	return nil, fmt.Errorf("devpki: %q was not issued by this PKI", cert.Subject.CommonName)
}

// Revoked is one entry of a CRL.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	// Reason is an RFC 5280 CRLReason code; 0 (unspecified) writes no reason extension.
	Reason int
}

// CRL returns a DER CRL (RFC 5280 5, version 2) of the qualified CA listing revoked, with
// thisUpdate at (now when zero) and nextUpdate a week later. Its CRL number is at in Unix
// seconds, so later CRLs have larger numbers without the PKI keeping a counter.
func (p *PKI) CRL(revoked []Revoked, at time.Time) ([]byte, error) {
	return crlOf(p.ca, revoked, at)
}

// RootCRL is CRL for the certificates the root issued (the qualified CA).
func (p *PKI) RootCRL(revoked []Revoked, at time.Time) ([]byte, error) {
	return crlOf(p.root, revoked, at)
}

func crlOf(issuer *Identity, revoked []Revoked, at time.Time) ([]byte, error) {
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		if r.Serial == nil || r.At.IsZero() {
			return nil, errors.New("devpki: a CRL entry needs a serial number and a revocation time")
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC().Truncate(time.Second), ReasonCode: r.Reason})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(at.Unix()),
		ThisUpdate:                at,
		NextUpdate:                at.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}, issuer.Chain[0], issuer.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: CRL: %w", err)
	}
	return der, nil
}

// QualifiedCA returns the issuing CA certificate (for `openssl ocsp -issuer`, or to check a
// CRL's signature).
func (p *PKI) QualifiedCA() *x509.Certificate { return p.ca.Chain[0] }
