package cms

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
)

// Timestamp is a signature time-stamp: an RFC 3161 token over the signature value (PAdES
// B-T). The token's own signature is checked when it carries the TSA certificate; trust in
// the TSA is the caller's business.
type Timestamp struct {
	// Token is the TimeStampToken, a DER ContentInfo.
	Token []byte
	// Time is the TSA's genTime.
	Time time.Time
	// TSA is the certificate that signed the token, TSAName its subject.
	TSA     *x509.Certificate
	TSAName string
	// Certificates are those the token carries.
	Certificates []*x509.Certificate
	// Hash and Imprint are the token's message imprint; ImprintValid tells whether it is the
	// hash of the signature value it is attached to.
	Hash         crypto.Hash
	Imprint      []byte
	ImprintValid bool
	// Err, when not nil, says why the token cannot be trusted to be what it claims (a
	// CodeTimestampInvalid *Error); the other fields may then be partial.
	Err error
}

// TimestampImprint returns the message imprint an RFC 3161 request for a signature
// time-stamp must carry: the hash, with h, of the SignerInfo's signature value.
func TimestampImprint(cmsDER []byte, h crypto.Hash) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	sig, err := Parse(cmsDER)
	if err != nil {
		return nil, err
	}
	return hashBytes(h, sig.SignatureValue), nil
}

// AddTimestamp returns cmsDER with tokenDER (a TimeStampToken) added as the unsigned
// attribute id-aa-signatureTimeStampToken. Nothing signed changes. The token must be
// readable, correctly signed and carry the imprint of this signature value; a signature
// that already has a time-stamp is refused. A BER cmsDER comes back in its DER form.
func AddTimestamp(cmsDER, tokenDER []byte) ([]byte, error) {
	sig, err := Parse(cmsDER)
	if err != nil {
		return nil, err
	}
	if sig.Timestamp != nil {
		return nil, newError(CodeTimestampPresent, "the signature already has a signature time-stamp")
	}
	in := cryptobyte.String(tokenDER)
	var token cryptobyte.String
	if !in.ReadASN1Element(&token, 0x30) || !in.Empty() {
		return nil, newError(CodeTimestampInvalid, "the time-stamp token is not one DER ContentInfo")
	}
	ts := parseTimestamp(token, sig.SignatureValue)
	if ts.Err != nil {
		return nil, ts.Err
	}
	if !ts.ImprintValid {
		return nil, newError(CodeTimestampMismatch, "the time-stamp token was issued for another signature value")
	}
	sig.sd.si.unsigned = append(sig.sd.si.unsigned, encodeAttribute(oidAttrSignatureTSToken, func(b *cryptobyte.Builder) { b.AddBytes(token) }))
	out, err := sig.sd.marshal()
	if err != nil {
		return nil, err
	}
	// Re-read what we wrote, so the caller never embeds something Parse would refuse.
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseTimestamp reads a token and compares its imprint with the hash of sigValue. Errors
// go into Timestamp.Err: a broken time-stamp must not hide whether the signature itself is
// valid.
func parseTimestamp(token []byte, sigValue []byte) *Timestamp {
	ts := ParseTimestampToken(token)
	if ts.Err == nil {
		ts.ImprintValid = subtle.ConstantTimeCompare(hashBytes(ts.Hash, sigValue), ts.Imprint) == 1
	}
	return ts
}

// ParseTimestampToken reads a TimeStampToken (a DER ContentInfo) on its own, as a PDF
// document time-stamp (SubFilter ETSI.RFC3161) carries it, and checks its signature with the
// TSA certificate it must carry. What it time-stamps is unknown here, so ImprintValid stays
// false until Covers says the imprint is the caller's digest. Errors go into Timestamp.Err.
func ParseTimestampToken(token []byte) (ts *Timestamp) {
	ts = &Timestamp{Token: bytes.Clone(token)}
	// The parser is not ours; hostile tokens must not take a verifier down with a panic.
	defer func() {
		if r := recover(); r != nil {
			ts.Err = newError(CodeTimestampInvalid, "the time-stamp token is not readable (%v)", r)
		}
	}()
	p7, err := pkcs7.Parse(ts.Token)
	if err != nil {
		ts.Err = wrapError(CodeTimestampInvalid, err, "the time-stamp token is not readable")
		return ts
	}
	ts.TSA = p7.GetOnlySigner()
	if ts.TSA == nil {
		ts.Err = newError(CodeTimestampInvalid, "the time-stamp token does not carry the TSA certificate, so its signature cannot be checked")
		return ts
	}
	ts.TSAName = ts.TSA.Subject.String()
	if !hasTimeStampingEKU(ts.TSA) {
		// RFC 3161 §2.3: a TSA certificate has exactly the time-stamping extended key usage.
		ts.Err = newError(CodeTimestampInvalid, "the time-stamp is signed by %q, which is not a time-stamping certificate", ts.TSAName)
		return ts
	}
	// timestamp.Parse verifies the token's signature (the TSA certificate is present).
	parsed, err := timestamp.Parse(ts.Token)
	if err != nil {
		ts.Err = wrapError(CodeTimestampInvalid, err, "the time-stamp token is not valid")
		return ts
	}
	ts.Time = parsed.Time
	ts.Certificates = parsed.Certificates
	ts.Hash = parsed.HashAlgorithm
	ts.Imprint = parsed.HashedMessage
	if checkHash(ts.Hash) != nil {
		ts.Err = newError(CodeTimestampInvalid, "the time-stamp uses the hash %v, which is not accepted", ts.Hash)
	}
	return ts
}

// Covers reports whether the token's message imprint is digest, made with h: for a document
// time-stamp, the hash of the PDF byte ranges. It also sets ImprintValid.
func (ts *Timestamp) Covers(digest []byte, h crypto.Hash) bool {
	ts.ImprintValid = ts.Err == nil && ts.Hash == h && len(digest) == len(ts.Imprint) &&
		subtle.ConstantTimeCompare(digest, ts.Imprint) == 1
	return ts.ImprintValid
}

// String summarises a time-stamp for logs.
func (ts *Timestamp) String() string {
	return fmt.Sprintf("time-stamp %s by %q (imprint valid: %v)", ts.Time.UTC().Format(time.RFC3339), ts.TSAName, ts.ImprintValid)
}

func hasTimeStampingEKU(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageTimeStamping {
			return true
		}
	}
	return false
}
