package cms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// MaxSize is the largest CMS Parse accepts. PAdES signatures are a few kilobytes to a few
// hundred (chains, embedded revocation data); the bound keeps hostile input cheap.
const MaxSize = 4 << 20

// maxCertificates bounds certificate parsing; a real chain plus a TSA chain is under ten.
const maxCertificates = 64

// Signature is a parsed CMS signature. Parse only reads; Verify and CheckDigest check, and
// PAdESBaseline tells whether the CMS also meets the PAdES baseline profile. Trust in the
// certificates (chain to a trusted root, revocation, qualified status) is the caller's
// business: this package knows no trust anchors.
type Signature struct {
	// Raw is the ContentInfo as given (DER, or the original BER), without the zero padding
	// of a PDF /Contents string.
	Raw []byte
	// Certificates are those carried in SignedData, in their order.
	Certificates []*x509.Certificate
	// Signer is the certificate the SignerInfo's sid names; nil if none of Certificates.
	Signer *x509.Certificate
	// DigestAlgorithm hashes both the document byte ranges and the signed attributes.
	// SHA-1 is accepted here, in signatures made elsewhere, but never for signing.
	DigestAlgorithm crypto.Hash
	// MessageDigest is the digest of the content that was signed: the message-digest signed
	// attribute or, in a signature without signed attributes, the digest an RSA PKCS#1 v1.5
	// signature value carries (set only when that signature value verifies). The content is
	// the PDF byte ranges, or EncapsulatedContent when the signature embeds it.
	MessageDigest []byte
	// SignatureAlgorithm is the scheme of SignatureValue.
	SignatureAlgorithm x509.SignatureAlgorithm
	// SignatureValue is the raw signature over SignedAttributes (over the content digest
	// when there are no signed attributes).
	SignatureValue []byte
	// HasSignedAttributes is false for the old form where the signature value signs the
	// content digest directly.
	HasSignedAttributes bool
	// SignedAttributes is the DER SET OF Attribute as it is hashed and signed (RFC 5652
	// §5.4); for BER input it is the DER re-encoding. Nil without signed attributes.
	SignedAttributes []byte
	// HasSigningCertV2 tells whether the signing-certificate-v2 attribute (RFC 5035) is
	// present, and SigningCertMatch whether it names Signer.
	HasSigningCertV2 bool
	SigningCertMatch bool
	// HasSigningCertV1 tells whether the ESS signing-certificate attribute (RFC 2634, SHA-1
	// certificate hash) is present, and SigningCertV1Match whether it names Signer.
	HasSigningCertV1   bool
	SigningCertV1Match bool
	// SigningTime is the signing-time signed attribute (the signer's claim, not a trusted
	// time); zero when absent or unreadable.
	SigningTime time.Time
	// EncapsulatedContent is the content embedded in the SignedData (SubFilter
	// adbe.pkcs7.sha1 embeds the SHA-1 digest of the byte ranges); nil when detached.
	EncapsulatedContent []byte
	// Timestamp is the signature time-stamp (unsigned attribute), nil when there is none.
	Timestamp *Timestamp

	contentType  encasn1.ObjectIdentifier // content-type signed attribute
	eContentType encasn1.ObjectIdentifier // EncapsulatedContentInfo type
	embedded     bool                     // eContent present
	alg          sigAlgInfo
	pssSalt      int
	sd           signedData
}

// Parse reads a CMS signature. DER is read directly; anything else is normalised from BER
// (indefinite lengths, constructed strings, long-form lengths) into DER first and read
// again, with Raw kept as given. Trailing zero bytes (the padding of a PDF /Contents string)
// are ignored, also after an indefinite-length ContentInfo; anything else after it is
// refused. Exactly one SignerInfo is required, as PDF signatures have.
func Parse(der []byte) (*Signature, error) {
	if len(der) > MaxSize {
		return nil, malformed("the signature is %d bytes, more than the %d accepted", len(der), MaxSize)
	}
	in := cryptobyte.String(der)
	var ci cryptobyte.String
	var derErr error
	if !in.ReadASN1Element(&ci, asn1.SEQUENCE) {
		derErr = malformed("not a DER ContentInfo")
	} else if !allZero(in) {
		derErr = malformed("data after the ContentInfo")
	} else {
		raw := bytes.Clone(ci)
		sig, err := parseContentInfo(raw)
		if err == nil {
			sig.Raw = raw
			return sig, nil
		}
		derErr = err
	}

	norm, n, err := normalizeBER(der)
	if err != nil {
		if CodeOf(derErr) == CodeMalformed {
			return nil, err // says where the encoding is broken
		}
		return nil, derErr
	}
	if bytes.Equal(norm, der[:n]) {
		return nil, derErr // already DER: normalising changes nothing
	}
	if !allZero(der[n:]) {
		return nil, malformed("data after the ContentInfo")
	}
	sig, err := parseContentInfo(norm)
	if err != nil {
		return nil, err
	}
	sig.Raw = bytes.Clone(der[:n])
	return sig, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseContentInfo reads one DER ContentInfo; the Signature keeps slices of ci.
func parseContentInfo(ci []byte) (*Signature, error) {
	sig := &Signature{}
	body := cryptobyte.String(ci)
	var info, explicit, sd cryptobyte.String
	var ctype encasn1.ObjectIdentifier
	if !body.ReadASN1(&info, asn1.SEQUENCE) || !body.Empty() || !info.ReadASN1ObjectIdentifier(&ctype) {
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
		// adbe.pkcs7.sha1 embeds the digest of the byte ranges: eContent [0] EXPLICIT OCTET
		// STRING (BER segments are already joined by the normaliser).
		var explicit, content cryptobyte.String
		if !encapBody.ReadASN1(&explicit, asn1.Tag(0).ContextSpecific().Constructed()) || !encapBody.Empty() ||
			!explicit.ReadASN1(&content, asn1.OCTET_STRING) || !explicit.Empty() {
			return malformed("the encapsulated content is not readable")
		}
		sig.embedded = true
		sig.EncapsulatedContent = content
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

	if si.PeekASN1Tag(asn1.Tag(0).ContextSpecific().Constructed()) {
		if err := sig.readSignedAttrs(&si, h); err != nil {
			return err
		}
	} else {
		s.noSignedAttrs = true
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
	if !sig.HasSignedAttributes {
		sig.recoverDigest()
	}
	if hasUnsigned {
		return sig.readUnsignedAttrs(unsigned)
	}
	return nil
}

// readSignedAttrs reads the [0] signed attributes from si.
func (sig *Signature) readSignedAttrs(si *cryptobyte.String, h crypto.Hash) error {
	var attrsElem, attrs cryptobyte.String
	if !si.ReadASN1Element(&attrsElem, asn1.Tag(0).ContextSpecific().Constructed()) {
		return malformed("the signed attributes are not readable")
	}
	sig.HasSignedAttributes = true
	// The signature covers the attributes with their universal SET tag, not [0] (RFC 5652
	// §5.4); the length octets are the same, so only the first byte changes.
	sig.SignedAttributes = bytes.Clone(attrsElem)
	sig.SignedAttributes[0] = 0x31
	attrsIn := attrsElem
	attrsIn.ReadASN1(&attrs, asn1.Tag(0).ContextSpecific().Constructed())
	sig.sd.si.signedAttrs = attrs
	return sig.useSignedAttrs(attrs, h)
}

// useSignedAttrs sets what the signed attributes (the content of their SET) say, and
// whether their signing-certificate attributes name sig.Signer.
func (sig *Signature) useSignedAttrs(attrs cryptobyte.String, h crypto.Hash) error {
	parsed, err := parseSignedAttrs(attrs)
	if err != nil {
		return err
	}
	sig.contentType = parsed.contentType
	sig.MessageDigest = parsed.messageDigest
	sig.SigningTime = parsed.signingTime
	if len(sig.MessageDigest) != h.Size() {
		return newError(CodeAttributeInvalid, "the message-digest has %d bytes, %v makes %d", len(sig.MessageDigest), h, h.Size())
	}
	if parsed.signingCertV2 != nil {
		sig.HasSigningCertV2 = true
		if sig.SigningCertMatch, err = matchSigningCert(parsed.signingCertV2, sig.Signer, true); err != nil {
			return err
		}
	}
	if parsed.signingCertV1 != nil {
		sig.HasSigningCertV1 = true
		if sig.SigningCertV1Match, err = matchSigningCert(parsed.signingCertV1, sig.Signer, false); err != nil {
			return err
		}
	}
	return nil
}

// recoverDigest handles a signature without signed attributes: an RSA PKCS#1 v1.5 value
// carries the digest it signs, so the public-key operation recovers a candidate, and the
// standard verification then decides whether the value is a valid signature over it. Only
// then is MessageDigest set; other schemes cannot be checked without the document digest.
func (sig *Signature) recoverDigest() {
	pub, ok := sig.signerKey().(*rsa.PublicKey)
	if !ok || sig.alg.kind != kindRSA || pub.N.Sign() <= 0 || pub.E <= 0 {
		return
	}
	h := sig.DigestAlgorithm
	k := pub.Size()
	if len(sig.SignatureValue) != k || k < h.Size() {
		return
	}
	s := new(big.Int).SetBytes(sig.SignatureValue)
	if s.Cmp(pub.N) >= 0 {
		return
	}
	em := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, k))
	candidate := em[k-h.Size():]
	if rsa.VerifyPKCS1v15(pub, h, candidate, sig.SignatureValue) == nil {
		sig.MessageDigest = bytes.Clone(candidate)
	}
}

func (sig *Signature) signerKey() crypto.PublicKey {
	if sig.Signer == nil {
		return nil
	}
	return sig.Signer.PublicKey
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
	case asn1.Tag(0).ContextSpecific(), asn1.Tag(0).ContextSpecific().Constructed():
		var ski cryptobyte.String
		if tag == asn1.Tag(0).ContextSpecific() {
			if !sid.ReadASN1(&ski, tag) {
				return malformed("the signer's subjectKeyIdentifier is not readable")
			}
		} else {
			// [0] IMPLICIT OCTET STRING in the BER segmented form, which the normaliser cannot
			// recognise without the schema: join the segments and keep the DER form.
			var segs cryptobyte.String
			if !sid.ReadASN1(&segs, tag) {
				return malformed("the signer's subjectKeyIdentifier is not readable")
			}
			var joined []byte
			for !segs.Empty() {
				var seg cryptobyte.String
				if !segs.ReadASN1(&seg, asn1.OCTET_STRING) {
					return malformed("the signer's subjectKeyIdentifier is not readable")
				}
				joined = append(joined, seg...)
			}
			ski = joined
			var b cryptobyte.Builder
			b.AddASN1(asn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(joined) })
			if sig.sd.si.sid, _ = b.Bytes(); sig.sd.si.sid == nil {
				return malformed("the signer's subjectKeyIdentifier is not readable")
			}
		}
		if len(ski) == 0 {
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
