package pdfcore

import (
	"bytes"
	"crypto/x509"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationReport is what the validation data embedded in the document (every revision's
// DSS) says about the signer's certificate — the TSA's for a document time-stamp — at the
// time the signature is proven to exist. It is present only when the document has a DSS.
type RevocationReport struct {
	// Status: good, revoked (before CheckedAt: the signature is invalid), unknown (the
	// responder does not know the certificate), or missing (no evidence for it).
	Status string `json:"status"`
	// Source of the deciding evidence: ocsp or crl.
	Source string `json:"source,omitempty"`
	// Updated is the evidence's thisUpdate; RevokedAt the revocation time, if any.
	Updated   string `json:"updated,omitempty"`
	RevokedAt string `json:"revokedAt,omitempty"`
	// CheckedAt is the time judged: the earliest valid time-stamp over the signature, or the
	// time of verification when there is none.
	CheckedAt string `json:"checkedAt"`
}

// dssItem is one parsed DSS stream: a certificate, a CRL (with its entries indexed by
// serial), or an OCSP response (with the serial it answers for, when it answers for one).
type dssItem struct {
	der     []byte
	cert    *x509.Certificate
	crl     *x509.RevocationList
	revoked map[string]time.Time // CRL entries: serial → revocation time
	serial  *big.Int             // OCSP: nil when the response covers several certificates
}

func parseItem(b []byte, key string) *dssItem {
	it := &dssItem{der: b}
	switch key {
	case "Certs":
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil
		}
		it.cert = c
	case "CRLs":
		c, err := x509.ParseRevocationList(b)
		if err != nil {
			return nil
		}
		it.crl, it.revoked = c, map[string]time.Time{}
		for _, e := range c.RevokedCertificateEntries {
			if e.SerialNumber != nil {
				it.revoked[e.SerialNumber.String()] = e.RevocationTime
			}
		}
	case "OCSPs":
		// Read without an issuer: only to learn the serial; the signature is checked once
		// a certificate with that serial asks.
		if r, err := ocsp.ParseResponseForCert(b, nil, nil); err == nil {
			it.serial = r.SerialNumber
		} else if !successfulOCSP(b) {
			return nil
		}
	}
	return it
}

// proof is one OCSP response or CRL that speaks, verifiably, about a certificate.
type proof struct {
	source     string
	status     int // ocsp.Good, Revoked or Unknown
	thisUpdate time.Time
	revokedAt  time.Time
}

type proofKey struct {
	item *dssItem
	cert *x509.Certificate
}

// evidence collects what the OCSP responses and CRLs say about cert, keeping only those
// signed by its issuer (or, for OCSP, by a responder the issuer delegated to, RFC 6960
// 4.2.2.2). Each (item, certificate) pair is judged once per verification.
func (v *verifier) evidence(cert, issuer *x509.Certificate, ocsps, crls []*dssItem) []proof {
	if issuer == nil {
		return nil
	}
	var out []proof
	for _, it := range ocsps {
		if it.serial != nil && it.serial.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		if p := v.judged(it, cert, func() *proof { return ocspProof(it, cert, issuer) }); p != nil {
			out = append(out, *p)
		}
	}
	for _, it := range crls {
		if !bytes.Equal(it.crl.RawIssuer, cert.RawIssuer) {
			continue
		}
		if p := v.judged(it, cert, func() *proof { return crlProof(it, cert, issuer) }); p != nil {
			out = append(out, *p)
		}
	}
	return out
}

func (v *verifier) judged(it *dssItem, cert *x509.Certificate, judge func() *proof) *proof {
	k := proofKey{it, cert}
	if p, ok := v.proofs[k]; ok {
		return p
	}
	p := judge()
	v.proofs[k] = p
	return p
}

func ocspProof(it *dssItem, cert, issuer *x509.Certificate) *proof {
	resp, err := ocsp.ParseResponseForCert(it.der, cert, issuer)
	if err != nil {
		return nil
	}
	if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) && !hasEKU(rc, x509.ExtKeyUsageOCSPSigning) {
		return nil // signed by a certificate of the issuer that is not an OCSP responder
	}
	return &proof{"ocsp", resp.Status, resp.ThisUpdate, resp.RevokedAt}
}

func crlProof(it *dssItem, cert, issuer *x509.Certificate) *proof {
	if it.crl.CheckSignatureFrom(issuer) != nil {
		return nil
	}
	p := &proof{source: "crl", status: ocsp.Good, thisUpdate: it.crl.ThisUpdate}
	if at, ok := it.revoked[cert.SerialNumber.String()]; ok {
		p.status, p.revokedAt = ocsp.Revoked, at
	}
	return p
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}

// revocation judges cert at time at from the validation data of every revision's DSS (a
// DSS may predate the signature: evidence proves itself by its signature, not by where it
// sits). A revocation at or before at wins over any good status; then the freshest good.
func (v *verifier) revocation(cert, issuer *x509.Certificate, at time.Time) RevocationReport {
	rr := RevocationReport{Status: "missing", CheckedAt: formatTime(at)}
	var ocsps, crls []*dssItem
	seen := map[*dssItem]bool{}
	for _, d := range v.distinctDSS() {
		if !d.mayCover(cert) {
			continue
		}
		for _, it := range d.ocsps {
			if !seen[it] {
				seen[it] = true
				ocsps = append(ocsps, it)
			}
		}
		for _, it := range d.crls {
			if !seen[it] {
				seen[it] = true
				crls = append(crls, it)
			}
		}
	}
	var good, unknown, later *proof
	for _, p := range v.evidence(cert, issuer, ocsps, crls) {
		switch {
		case p.status == ocsp.Revoked && !p.revokedAt.After(at):
			rr.Status, rr.Source, rr.Updated, rr.RevokedAt = "revoked", p.source, formatTime(p.thisUpdate), formatTime(p.revokedAt)
			return rr
		case p.status == ocsp.Revoked:
			// revoked after the signature was proven to exist: it stays valid
			if later == nil || p.revokedAt.Before(later.revokedAt) {
				later = &p
			}
		case p.status == ocsp.Good:
			if good == nil || p.thisUpdate.After(good.thisUpdate) {
				good = &p
			}
		default:
			unknown = &p
		}
	}
	switch {
	case good != nil || later != nil:
		p := good
		if p == nil {
			p = later
		}
		rr.Status, rr.Source, rr.Updated = "good", p.source, formatTime(p.thisUpdate)
		if later != nil {
			rr.RevokedAt = formatTime(later.revokedAt)
		}
	case unknown != nil:
		rr.Status, rr.Source, rr.Updated = "unknown", unknown.source, formatTime(unknown.thisUpdate)
	}
	return rr
}
