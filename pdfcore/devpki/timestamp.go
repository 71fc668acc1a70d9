package devpki

import (
	"crypto"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"fmt"
	"time"

	"github.com/digitorus/timestamp"
)

// TSAPolicy is the policy OID the dev TSA puts in its tokens. It lives under 2.999, the arc
// ITU-T X.660 reserves for examples, so it can never be mistaken for a real TSA policy.
var TSAPolicy = encasn1.ObjectIdentifier{2, 999, 3161, 1}

// Timestamp returns an RFC 3161 TimeStampToken (DER ContentInfo) for imprint, a digest
// made with h, dated at (now when zero). It is signed by the dev TSA, carries a random
// serial number, TSAPolicy, an accuracy of one second, and the TSA certificate with its
// issuing CA.
func (p *PKI) Timestamp(imprint []byte, h crypto.Hash, at time.Time) ([]byte, error) {
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, fmt.Errorf("devpki: time-stamps use SHA-256, SHA-384 or SHA-512, not %v", h)
	}
	if len(imprint) != h.Size() {
		return nil, fmt.Errorf("devpki: the imprint has %d bytes, %v makes %d", len(imprint), h, h.Size())
	}
	if at.IsZero() {
		at = time.Now()
	}
	req := timestamp.Timestamp{
		HashAlgorithm: h,
		HashedMessage: imprint,
		// DER GeneralizedTime must be UTC ("Z"); the library writes whatever zone it gets.
		Time:              at.UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		Policy:            TSAPolicy,
		AddTSACertificate: true,
		Certificates:      []*x509.Certificate{p.ca.Chain[0]},
	}
	resp, err := req.CreateResponseWithOpts(p.tsa.Chain[0], p.tsa.Key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devpki: time-stamp: %w", err)
	}
	// The response wraps the token in a status; callers embed only the token.
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("devpki: time-stamp response: %w", err)
	}
	return parsed.RawToken, nil
}
