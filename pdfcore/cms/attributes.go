package cms

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// maxAttributes bounds the work spent on hostile attribute sets; real signatures carry
// three to six signed and one or two unsigned attributes.
const maxAttributes = 32

// SignedAttributes returns the DER SET OF Attribute that a PAdES baseline signer signs:
// content-type id-data, message-digest (digest of the PDF byte ranges, made with h) and
// signing-certificate-v2 naming leaf. There is deliberately no signing-time: PAdES carries
// the claimed time in the signature dictionary's /M, and a trusted time in a time-stamp.
//
// The result is the form that is hashed (tag SET); Assemble stores it with the [0] tag.
func SignedAttributes(digest []byte, h crypto.Hash, leaf *x509.Certificate) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, newError(CodeBadInput, "the document digest has %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	if leaf == nil || len(leaf.Raw) == 0 {
		return nil, newError(CodeBadInput, "no signing certificate given")
	}
	attrs := [][]byte{
		encodeAttribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		encodeAttribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
		encodeAttribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) { addSigningCertV2(b, h, leaf) }),
	}
	return encodeSet(asn1.SET, attrs)
}

// ToBeSigned returns the hash a remote signer (CSC signHash) must sign: the digest of the
// DER signed attributes. For RSA PKCS#1 v1.5 the signer wraps it in a DigestInfo itself.
func ToBeSigned(signedAttrs []byte, h crypto.Hash) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	in := cryptobyte.String(signedAttrs)
	var set cryptobyte.String
	if !in.ReadASN1(&set, asn1.SET) || !in.Empty() {
		return nil, newError(CodeBadInput, "the signed attributes are not one DER SET (use the output of SignedAttributes)")
	}
	return hashBytes(h, signedAttrs), nil
}

func encodeAttribute(oid encasn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(asn1.SET, value)
	})
	return b.BytesOrPanic()
}

// encodeSet writes a SET OF with its elements in DER order (X.690 §11.6: ascending by
// encoding), which is what makes the signed attributes' hash reproducible by verifiers
// that re-encode them.
func encodeSet(tag asn1.Tag, elems [][]byte) ([]byte, error) {
	sorted := slices.Clone(elems)
	slices.SortFunc(sorted, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range sorted {
			b.AddBytes(e)
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, wrapError(CodeBadInput, err, "cannot encode the attributes")
	}
	return out, nil
}

// addSigningCertV2 writes SigningCertificateV2 (RFC 5035) with one ESSCertIDv2 for leaf.
// The hash algorithm is omitted for SHA-256, its DEFAULT, as DER requires.
func addSigningCertV2(b *cryptobyte.Builder, h crypto.Hash, leaf *x509.Certificate) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if h != crypto.SHA256 {
					addHashAlgID(b, h)
				}
				b.AddASN1OctetString(hashBytes(h, leaf.Raw))
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
						b.AddASN1(asn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddBytes(leaf.RawIssuer)
						})
					})
					b.AddASN1BigInt(leaf.SerialNumber)
				})
			})
		})
	})
}

// signedAttrs is what Parse extracts from the signed attributes.
type signedAttrs struct {
	contentType   encasn1.ObjectIdentifier
	messageDigest []byte
	signingCertV2 []byte // the attribute value, nil when absent
	signingCertV1 []byte // the attribute value, nil when absent
	signingTime   time.Time
}

// parseSignedAttrs reads the content of the signed attributes SET. RFC 5652 §11 requires
// content-type and message-digest exactly once with one value; a repeated attribute type
// is refused so that no two readers can disagree on which value counts. Attributes this
// package does not know (S/MIME capabilities, Adobe revocation data, policies…) are
// skipped; signing-time is read for information only.
func parseSignedAttrs(set cryptobyte.String) (*signedAttrs, error) {
	var out signedAttrs
	seen := map[string]bool{}
	for n := 0; !set.Empty(); n++ {
		if n == maxAttributes {
			return nil, newError(CodeAttributeInvalid, "more than %d signed attributes", maxAttributes)
		}
		oid, value, err := readAttribute(&set)
		if err != nil {
			return nil, err
		}
		key := oid.String()
		if seen[key] {
			return nil, newError(CodeAttributeInvalid, "signed attribute %s appears twice", key)
		}
		seen[key] = true
		switch {
		case oid.Equal(oidAttrContentType):
			if !value.ReadASN1ObjectIdentifier(&out.contentType) || !value.Empty() {
				return nil, newError(CodeAttributeInvalid, "the content-type attribute must hold exactly one object identifier")
			}
		case oid.Equal(oidAttrMessageDigest):
			if !value.ReadASN1Bytes(&out.messageDigest, asn1.OCTET_STRING) || !value.Empty() {
				return nil, newError(CodeAttributeInvalid, "the message-digest attribute must hold exactly one octet string")
			}
		case oid.Equal(oidAttrSigningCertV2):
			var v cryptobyte.String
			if !value.ReadASN1Element(&v, asn1.SEQUENCE) || !value.Empty() {
				return nil, newError(CodeAttributeInvalid, "the signing-certificate-v2 attribute must hold exactly one value")
			}
			out.signingCertV2 = v
		case oid.Equal(oidAttrSigningCertV1):
			var v cryptobyte.String
			if !value.ReadASN1Element(&v, asn1.SEQUENCE) || !value.Empty() {
				return nil, newError(CodeAttributeInvalid, "the signing-certificate attribute must hold exactly one value")
			}
			out.signingCertV1 = v
		case oid.Equal(oidAttrSigningTime):
			// Informational: an unreadable time (some old producers write odd UTCTime forms)
			// leaves it zero rather than refusing the signature.
			var t time.Time
			if (value.PeekASN1Tag(asn1.UTCTime) && value.ReadASN1UTCTime(&t) ||
				value.PeekASN1Tag(asn1.GeneralizedTime) && value.ReadASN1GeneralizedTime(&t)) && value.Empty() {
				out.signingTime = t
			}
		}
	}
	if out.contentType == nil {
		return nil, newError(CodeAttributeInvalid, "the content-type signed attribute is missing")
	}
	if out.messageDigest == nil {
		return nil, newError(CodeAttributeInvalid, "the message-digest signed attribute is missing")
	}
	return &out, nil
}

// readAttribute reads one Attribute and returns its type and the content of its value SET.
func readAttribute(s *cryptobyte.String) (encasn1.ObjectIdentifier, cryptobyte.String, error) {
	var attr, values cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !s.ReadASN1(&attr, asn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
		!attr.ReadASN1(&values, asn1.SET) || !attr.Empty() {
		return nil, nil, malformed("an attribute is not readable")
	}
	return oid, values, nil
}

// matchSigningCert reports whether the first ESSCertIDv2 (v2, RFC 5035) or ESSCertID (v1,
// RFC 2634, SHA-1 certificate hash) — the one that names the signing certificate — matches
// leaf: same certificate hash and, if given, same issuer and serial number.
func matchSigningCert(value []byte, leaf *x509.Certificate, v2 bool) (bool, error) {
	name := "signing-certificate"
	if v2 {
		name = "signing-certificate-v2"
	}
	bad := newError(CodeAttributeInvalid, "the %s attribute is not readable", name)
	in := cryptobyte.String(value)
	var sc, certs, id cryptobyte.String
	if !in.ReadASN1(&sc, asn1.SEQUENCE) || !sc.ReadASN1(&certs, asn1.SEQUENCE) || !certs.ReadASN1(&id, asn1.SEQUENCE) {
		return false, bad
	}
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256
		if id.PeekASN1Tag(asn1.SEQUENCE) {
			var err error
			if h, err = readHashAlgID(&id); err != nil {
				return false, err
			}
		}
	}
	var certHash []byte
	if !id.ReadASN1Bytes(&certHash, asn1.OCTET_STRING) {
		return false, bad
	}
	if leaf == nil || subtle.ConstantTimeCompare(certHash, hashBytes(h, leaf.Raw)) != 1 {
		return false, nil
	}
	if id.Empty() {
		return true, nil
	}
	var issuerSerial, names cryptobyte.String
	serial := new(big.Int)
	if !id.ReadASN1(&issuerSerial, asn1.SEQUENCE) || !id.Empty() ||
		!issuerSerial.ReadASN1(&names, asn1.SEQUENCE) || !issuerSerial.ReadASN1Integer(serial) || !issuerSerial.Empty() {
		return false, bad
	}
	if serial.Cmp(leaf.SerialNumber) != 0 {
		return false, nil
	}
	for !names.Empty() {
		var name cryptobyte.String
		var tag asn1.Tag
		if !names.ReadAnyASN1(&name, &tag) {
			return false, bad
		}
		if tag == asn1.Tag(4).ContextSpecific().Constructed() && bytes.Equal(name, leaf.RawIssuer) {
			return true, nil
		}
	}
	return false, nil
}
