package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// MaxSize is the largest CMS Parse accepts. PAdES signatures are a few kilobytes to a few
// hundred (chains, embedded revocation data); the bound keeps hostile input cheap.
const MaxSize = 4 << 20

// maxCertificates bounds certificate parsing; a real chain plus a TSA chain is under ten.
const maxCertificates = 64

// Signature is a parsed detached CMS signature. Parse only reads; Verify and CheckDigest
// check. Trust in the certificates (chain to a trusted root, revocation, qualified status)
// is the caller's business: this package knows no trust anchors.
type Signature struct {
	// Raw is the DER ContentInfo, without the zero padding of a PDF /Contents string.
	Raw []byte
	// Certificates are those carried in SignedData, in their order.
	Certificates []*x509.Certificate
	// Signer is the certificate the SignerInfo's sid names; nil if none of Certificates.
	Signer *x509.Certificate
	// DigestAlgorithm hashes both the document byte ranges and the signed attributes.
	DigestAlgorithm crypto.Hash
	// MessageDigest is the message-digest signed attribute: the digest of the byte ranges.
	MessageDigest []byte
	// SignatureAlgorithm is the scheme of SignatureValue.
	SignatureAlgorithm x509.SignatureAlgorithm
	// SignatureValue is the raw signature over SignedAttributes.
	SignatureValue []byte
	// SignedAttributes is the DER SET OF Attribute as it is hashed and signed.
	SignedAttributes []byte
	// HasSigningCertV2 tells whether the signing-certificate-v2 attribute is present, and
	// SigningCertMatch whether it names Signer.
	HasSigningCertV2 bool
	SigningCertMatch bool
	// Timestamp is the signature time-stamp (unsigned attribute), nil when there is none.
	Timestamp *Timestamp

	contentType  encasn1.ObjectIdentifier // content-type signed attribute
	eContentType encasn1.ObjectIdentifier // EncapsulatedContentInfo type
	alg          sigAlgInfo
	pssSalt      int
	sd           signedData
}

// Parse reads a detached CMS signature in DER. Trailing zero bytes (the padding of a PDF
// /Contents string) are ignored; anything else after the ContentInfo is refused. BER is not
// accepted. Exactly one SignerInfo is required, as PAdES prescribes.
func Parse(der []byte) (*Signature, error) {
	if len(der) > MaxSize {
		return nil, malformed("the signature is %d bytes, more than the %d accepted", len(der), MaxSize)
	}
	in := cryptobyte.String(der)
	var ci cryptobyte.String
	if !in.ReadASN1Element(&ci, asn1.SEQUENCE) {
		return nil, malformed("not a DER ContentInfo")
	}
	for _, c := range in {
		if c != 0 {
			return nil, malformed("data after the ContentInfo")
		}
	}
	sig := &Signature{Raw: bytes.Clone(ci)}

	body := cryptobyte.String(sig.Raw)
	var info, explicit, sd cryptobyte.String
	var ctype encasn1.ObjectIdentifier
	if !body.ReadASN1(&info, asn1.SEQUENCE) || !info.ReadASN1ObjectIdentifier(&ctype) {
		return nil, malformed("not a DER ContentInfo")
	}
	if !ctype.Equal(oidSignedData) {
		return nil, malformed("the content type is %v, not SignedData", ctype)
	}
	if !info.ReadASN1(&explicit, asn1.Tag(0).ContextSpecific().Constructed()) || !info.Empty() ||
		!explicit.ReadASN1(&sd, asn1.SEQUENCE) || !explicit.Empty() {
		return nil, malformed("the SignedData is not readable")
	}
	if err := sig.readSignedData(sd); err != nil {
		return nil, err
	}
	return sig, nil
}

func (sig *Signature) readSignedData(sd cryptobyte.String) error {
	var digestAlgs, encap, encapBody, signerInfos cryptobyte.String
	if !sd.ReadASN1Integer(&sig.sd.version) || !sd.ReadASN1(&digestAlgs, asn1.SET) ||
		!sd.ReadASN1Element(&encap, asn1.SEQUENCE) {
		return malformed("the SignedData header is not readable")
	}
	if sig.sd.version < 1 || sig.sd.version > 5 {
		return malformed("SignedData version %d is not defined", sig.sd.version)
	}
	sig.sd.digestAlgs = digestAlgs
	sig.sd.encap = encap
	if !encap.ReadASN1(&encapBody, asn1.SEQUENCE) || !encapBody.ReadASN1ObjectIdentifier(&sig.eContentType) {
		return malformed("the EncapsulatedContentInfo is not readable")
	}
	if !encapBody.Empty() {
		return malformed("the signature embeds its content; a PDF signature must be detached")
	}

	var certs, crls cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, asn1.Tag(0).ContextSpecific().Constructed()) {
		return malformed("the certificates are not readable")
	}
	if hasCerts {
		sig.sd.certs = bytes.Clone(certs)
		if err := sig.readCertificates(certs); err != nil {
			return err
		}
	}
	if sd.PeekASN1Tag(asn1.Tag(1).ContextSpecific().Constructed()) {
		if !sd.ReadASN1Element(&crls, asn1.Tag(1).ContextSpecific().Constructed()) {
			return malformed("the CRLs are not readable")
		}
		sig.sd.crls = crls
	}
	if !sd.ReadASN1(&signerInfos, asn1.SET) || !sd.Empty() {
		return malformed("the SignerInfos are not readable")
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, asn1.SEQUENCE) {
		return malformed("there is no SignerInfo")
	}
	if !signerInfos.Empty() {
		return malformed("there is more than one SignerInfo; PAdES allows exactly one")
	}
	return sig.readSignerInfo(si)
}

// readCertificates parses the X.509 certificates; other CertificateChoices (attribute
// certificates) are kept in the raw bytes but not parsed.
func (sig *Signature) readCertificates(certs cryptobyte.String) error {
	for n := 0; !certs.Empty(); n++ {
		if n == maxCertificates {
			return malformed("more than %d certificates", maxCertificates)
		}
		var elem cryptobyte.String
		var tag asn1.Tag
		if !certs.ReadAnyASN1Element(&elem, &tag) {
			return malformed("a certificate is not readable")
		}
		if tag != asn1.SEQUENCE {
			continue
		}
		c, err := x509.ParseCertificate(elem)
		if err != nil {
			return wrapError(CodeMalformed, err, "certificate %d cannot be read", n+1)
		}
		sig.Certificates = append(sig.Certificates, c)
	}
	return nil
}

func (sig *Signature) readSignerInfo(si cryptobyte.String) error {
	s := &sig.sd.si
	var sid cryptobyte.String
	var sidTag asn1.Tag
	if !si.ReadASN1Integer(&s.version) || !si.ReadAnyASN1Element(&sid, &sidTag) {
		return malformed("the SignerInfo is not readable")
	}
	s.sid = sid
	if err := sig.findSigner(sid, sidTag); err != nil {
		return err
	}

	var digestAlg cryptobyte.String
	digestIn := si
	if !si.ReadASN1Element(&digestAlg, asn1.SEQUENCE) {
		return malformed("the SignerInfo digest algorithm is not readable")
	}
	s.digestAlg = digestAlg
	h, err := readHashAlgID(&digestIn)
	if err != nil {
		return err
	}
	sig.DigestAlgorithm = h

	var attrsElem cryptobyte.String
	if !si.ReadASN1Element(&attrsElem, asn1.Tag(0).ContextSpecific().Constructed()) {
		return newError(CodeAttributeInvalid, "the signature has no signed attributes; PAdES requires them")
	}
	// The signature covers the attributes with their universal SET tag, not [0] (RFC 5652
	// §5.4); the length octets are the same, so only the first byte changes.
	sig.SignedAttributes = bytes.Clone(attrsElem)
	sig.SignedAttributes[0] = 0x31
	var attrs cryptobyte.String
	attrsIn := attrsElem
	attrsIn.ReadASN1(&attrs, asn1.Tag(0).ContextSpecific().Constructed())
	s.signedAttrs = attrs
	parsed, err := parseSignedAttrs(attrs)
	if err != nil {
		return err
	}
	sig.contentType = parsed.contentType
	sig.MessageDigest = parsed.messageDigest
	if len(sig.MessageDigest) != h.Size() {
		return newError(CodeAttributeInvalid, "the message-digest has %d bytes, %v makes %d", len(sig.MessageDigest), h, h.Size())
	}
	if parsed.signingCertV2 != nil {
		sig.HasSigningCertV2 = true
		if sig.SigningCertMatch, err = matchSigningCertV2(parsed.signingCertV2, sig.Signer); err != nil {
			return err
		}
	}

	var sigAlg cryptobyte.String
	sigAlgIn := si
	if !si.ReadASN1Element(&sigAlg, asn1.SEQUENCE) {
		return malformed("the signature algorithm is not readable")
	}
	s.sigAlg = sigAlg
	if sig.alg, sig.pssSalt, err = readSigAlgID(&sigAlgIn, h); err != nil {
		return err
	}
	sig.SignatureAlgorithm = sig.alg.alg
	if !si.ReadASN1Bytes(&s.signature, asn1.OCTET_STRING) || len(s.signature) == 0 {
		return malformed("the signature value is not readable")
	}
	sig.SignatureValue = s.signature

	var unsigned cryptobyte.String
	var hasUnsigned bool
	if !si.ReadOptionalASN1(&unsigned, &hasUnsigned, asn1.Tag(1).ContextSpecific().Constructed()) || !si.Empty() {
		return malformed("data after the signature value is not readable")
	}
	if hasUnsigned {
		return sig.readUnsignedAttrs(unsigned)
	}
	return nil
}

// findSigner resolves the SignerIdentifier: issuerAndSerialNumber (version 1, what we
// write) or subjectKeyIdentifier (version 3, which other producers use).
func (sig *Signature) findSigner(sid cryptobyte.String, tag asn1.Tag) error {
	switch tag {
	case asn1.SEQUENCE:
		var ias, issuer cryptobyte.String
		serial := new(big.Int)
		if !sid.ReadASN1(&ias, asn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, asn1.SEQUENCE) ||
			!ias.ReadASN1Integer(serial) || !ias.Empty() {
			return malformed("the signer's issuerAndSerialNumber is not readable")
		}
		for _, c := range sig.Certificates {
			if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
				sig.Signer = c
				return nil
			}
		}
	case asn1.Tag(0).ContextSpecific():
		var ski cryptobyte.String
		if !sid.ReadASN1(&ski, asn1.Tag(0).ContextSpecific()) || len(ski) == 0 {
			return malformed("the signer's subjectKeyIdentifier is not readable")
		}
		for _, c := range sig.Certificates {
			if bytes.Equal(c.SubjectKeyId, ski) {
				sig.Signer = c
				return nil
			}
		}
	default:
		return malformed("the signer identifier is neither issuerAndSerialNumber nor subjectKeyIdentifier")
	}
	return nil
}

func (sig *Signature) readUnsignedAttrs(set cryptobyte.String) error {
	for n := 0; !set.Empty(); n++ {
		if n == maxAttributes {
			return malformed("more than %d unsigned attributes", maxAttributes)
		}
		var elem cryptobyte.String
		if !set.ReadASN1Element(&elem, asn1.SEQUENCE) {
			return malformed("an unsigned attribute is not readable")
		}
		sig.sd.si.unsigned = append(sig.sd.si.unsigned, elem)
		attr := elem
		oid, values, err := readAttribute(&attr)
		if err != nil {
			return err
		}
		if !oid.Equal(oidAttrSignatureTSToken) {
			continue
		}
		var token cryptobyte.String
		if sig.Timestamp != nil || !values.ReadASN1Element(&token, asn1.SEQUENCE) || !values.Empty() {
			// Two time-stamps could disagree; a reader must not have to pick one.
			sig.Timestamp = &Timestamp{Token: bytes.Clone(token), Err: newError(CodeTimestampInvalid, "the signature carries more than one signature time-stamp, or an unreadable one")}
			continue
		}
		sig.Timestamp = parseTimestamp(token, sig.SignatureValue)
	}
	return nil
}
