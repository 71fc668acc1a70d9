package tsa

import (
	"bytes"
	"crypto"
	_ "crypto/sha1" // ESS certificate identifiers may use SHA-1
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidSignedData    = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSigningCert   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2 = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

// expectation is what a token must say to answer one request.
type expectation struct {
	hash    crypto.Hash
	imprint []byte
	nonce   *big.Int
	policy  encasn1.ObjectIdentifier // nil: any
	roots   *x509.CertPool           // nil: no chain check
	// earliest and latest bound genTime; they already include the allowed clock skew.
	earliest, latest time.Time
}

// checkReply reads a TimeStampResp and returns its token when the status grants it and the
// token answers want. Errors wrap ErrRejected or ErrInvalidResponse.
func checkReply(body []byte, want *expectation) ([]byte, error) {
	resp, err := parseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if resp.status != statusGranted && resp.status != statusGrantedWithMods {
		return nil, fmt.Errorf("%w: status %s", ErrRejected, resp.describe())
	}
	if resp.token == nil {
		return nil, fmt.Errorf("%w: status %s but no token", ErrInvalidResponse, statusName(resp.status))
	}
	if err := checkToken(resp.token, want); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	return resp.token, nil
}

// checkToken verifies a TimeStampToken against want.
func checkToken(token []byte, want *expectation) (err error) {
	// The parsers are not ours; a hostile TSA must not take the relay down with a panic.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the token is not readable (%v)", r)
		}
	}()
	if err := checkContentTypes(token); err != nil {
		return err
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return fmt.Errorf("the token is not readable: %v", err)
	}
	if len(p7.Signers) != 1 {
		return fmt.Errorf("the token has %d signers, not one", len(p7.Signers))
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return errors.New("the token does not carry the TSA certificate although certReq was set")
	}
	name := signer.Subject.String()
	if !timeStampingOnly(signer) {
		return fmt.Errorf("the token is signed by %q, which is not a time-stamping certificate (its extended key usage must be timeStamping alone, RFC 3161 §2.3)", name)
	}
	if err := checkSigningCertificate(p7, signer); err != nil {
		return err
	}
	// With the certificate present, timestamp.Parse checks the signature over TSTInfo.
	ts, err := timestamp.Parse(token)
	if err != nil {
		return fmt.Errorf("the token's signature by %q does not verify: %v", name, err)
	}
	if ts.HashAlgorithm != want.hash || !bytes.Equal(ts.HashedMessage, want.imprint) {
		return fmt.Errorf("the token's message imprint (%v %x) is not the one requested (%v %x)",
			ts.HashAlgorithm, ts.HashedMessage, want.hash, want.imprint)
	}
	if ts.Nonce == nil {
		return errors.New("the token carries no nonce")
	}
	if ts.Nonce.Cmp(want.nonce) != 0 {
		return fmt.Errorf("the token's nonce %x is not the one sent (%x)", ts.Nonce, want.nonce)
	}
	if want.policy != nil && !ts.Policy.Equal(want.policy) {
		return fmt.Errorf("the token's policy %v is not the one requested (%v)", ts.Policy, want.policy)
	}
	at := ts.Time
	if at.Before(want.earliest) || at.After(want.latest) {
		return fmt.Errorf("the token's genTime %s is outside %s…%s", stamp(at), stamp(want.earliest), stamp(want.latest))
	}
	if at.Before(signer.NotBefore) || at.After(signer.NotAfter) {
		return fmt.Errorf("the token's genTime %s is outside the validity of %q (%s…%s)",
			stamp(at), name, stamp(signer.NotBefore), stamp(signer.NotAfter))
	}
	if want.roots != nil {
		inter := x509.NewCertPool()
		for _, c := range p7.Certificates {
			inter.AddCert(c)
		}
		_, err := signer.Verify(x509.VerifyOptions{
			Roots:         want.roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		})
		if err != nil {
			return fmt.Errorf("the TSA certificate %q is not trusted: %v", name, err)
		}
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// timeStampingOnly reports whether c carries the timeStamping extended key usage and no
// other (RFC 3161 §2.3).
func timeStampingOnly(c *x509.Certificate) bool {
	return len(c.ExtKeyUsage) == 1 && c.ExtKeyUsage[0] == x509.ExtKeyUsageTimeStamping && len(c.UnknownExtKeyUsage) == 0
}

// checkContentTypes makes sure the token is a SignedData whose content is a TSTInfo: a
// certificate with the right usage must not be able to pass off another signed object.
func checkContentTypes(token []byte) error {
	in := cryptobyte.String(token)
	var ci, explicit, sd, encap cryptobyte.String
	var outer, inner encasn1.ObjectIdentifier
	if !in.ReadASN1(&ci, asn1.SEQUENCE) || !in.Empty() || !ci.ReadASN1ObjectIdentifier(&outer) {
		return errors.New("the token is not one DER ContentInfo")
	}
	if !outer.Equal(oidSignedData) {
		return fmt.Errorf("the token is a %v, not a SignedData", outer)
	}
	if !ci.ReadASN1(&explicit, asn1.Tag(0).ContextSpecific().Constructed()) || !explicit.ReadASN1(&sd, asn1.SEQUENCE) ||
		!sd.SkipASN1(asn1.INTEGER) || !sd.SkipASN1(asn1.SET) || !sd.ReadASN1(&encap, asn1.SEQUENCE) ||
		!encap.ReadASN1ObjectIdentifier(&inner) {
		return errors.New("the token's SignedData is malformed")
	}
	if !inner.Equal(oidTSTInfo) {
		return fmt.Errorf("the token signs a %v, not a TSTInfo", inner)
	}
	return nil
}

// checkSigningCertificate compares the ESS signing-certificate attribute (RFC 2634, or its
// v2 of RFC 5035 that RFC 5816 allows) with the certificate that signed: RFC 3161 §2.4.2
// requires it, so a TSA certificate cannot be swapped for another with the same key.
func checkSigningCertificate(p7 *pkcs7.PKCS7, signer *x509.Certificate) error {
	var raw encasn1.RawValue
	v2 := true
	if err := p7.UnmarshalSignedAttribute(oidSigningCertV2, &raw); err != nil {
		v2 = false
		if err := p7.UnmarshalSignedAttribute(oidSigningCert, &raw); err != nil {
			return errors.New("the token has no ESS signing-certificate attribute")
		}
	}
	bad := errors.New("the token's ESS signing-certificate attribute is malformed")
	in := cryptobyte.String(raw.FullBytes)
	var sc, ids, id cryptobyte.String
	if !in.ReadASN1(&sc, asn1.SEQUENCE) || !sc.ReadASN1(&ids, asn1.SEQUENCE) || !ids.ReadASN1(&id, asn1.SEQUENCE) {
		return bad
	}
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256 // the DEFAULT
		if id.PeekASN1Tag(asn1.SEQUENCE) {
			var alg cryptobyte.String
			var oid encasn1.ObjectIdentifier
			if !id.ReadASN1(&alg, asn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
				return bad
			}
			if h = hashFromOID(oid); h == 0 {
				return fmt.Errorf("the token's ESS certificate identifier uses the unknown hash %v", oid)
			}
		}
	}
	var certHash []byte
	if !id.ReadASN1Bytes(&certHash, asn1.OCTET_STRING) {
		return bad
	}
	d := h.New()
	d.Write(signer.Raw)
	if !bytes.Equal(d.Sum(nil), certHash) {
		return fmt.Errorf("the token's ESS signing-certificate attribute names another certificate than %q", signer.Subject.String())
	}
	if id.PeekASN1Tag(asn1.SEQUENCE) {
		var is cryptobyte.String
		serial := new(big.Int)
		if !id.ReadASN1(&is, asn1.SEQUENCE) || !is.SkipASN1(asn1.SEQUENCE) || !is.ReadASN1Integer(serial) {
			return bad
		}
		if serial.Cmp(signer.SerialNumber) != 0 {
			return fmt.Errorf("the token's ESS signing-certificate attribute names serial %x, the signer has %x", serial, signer.SerialNumber)
		}
	}
	return nil
}
