package cms

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
)

// Verify checks what can be checked without the document: the signature value with the
// Signer's key (over the signed attributes, or, without them, over the digest an RSA PKCS#1
// v1.5 value carries), the content type (id-data), that an embedded content is what the
// message digest covers, and that a signing-certificate-v2 or signing-certificate attribute,
// when present, names the Signer (so a substituted certificate is caught). Their absence is
// not an error here: most signatures in PDFs (SubFilter adbe.pkcs7.detached) have neither;
// PAdESBaseline reports it. If a signature time-stamp is present it must be readable,
// correctly signed and cover this signature value; a time-stamp error therefore means the
// signature itself passed. The document digest is checked separately by CheckDigest.
func (sig *Signature) Verify() error {
	if sig.Signer == nil {
		return newError(CodeSignerMissing, "the signing certificate is not in the signature")
	}
	if err := sig.checkSignatureValue(); err != nil {
		return err
	}
	if !sig.eContentType.Equal(oidData) || (sig.HasSignedAttributes && !sig.contentType.Equal(oidData)) {
		return newError(CodeAttributeInvalid, "the signed content type is %v (attribute) / %v (SignedData); a PDF signature signs id-data", sig.contentType, sig.eContentType)
	}
	if err := sig.checkEmbedded(); err != nil {
		return err
	}
	if sig.HasSigningCertV2 && !sig.SigningCertMatch {
		return newError(CodeSigningCertMismatch, "the signing-certificate-v2 attribute names another certificate than the signer's")
	}
	if sig.HasSigningCertV1 && !sig.SigningCertV1Match {
		return newError(CodeSigningCertMismatch, "the signing-certificate attribute names another certificate than the signer's")
	}
	if ts := sig.Timestamp; ts != nil {
		if ts.Err != nil {
			return ts.Err
		}
		if !ts.ImprintValid {
			return newError(CodeTimestampMismatch, "the time-stamp was issued for another signature value")
		}
	}
	return nil
}

// PAdESBaseline reports whether the CMS has the form the PAdES baseline profile (ETSI EN
// 319 142-1, SubFilter ETSI.CAdES.detached) requires of it: signed attributes, detached
// content, and a signing-certificate-v2 (or signing-certificate) attribute naming the
// Signer. It does not verify anything (that is Verify's and CheckDigest's job) and does not
// object to a signing-time attribute. A nil result means the CMS meets the profile; a
// missing or wrong signing certificate attribute is CodeSigningCertMismatch, the rest
// CodeAttributeInvalid.
func (sig *Signature) PAdESBaseline() error {
	if !sig.HasSignedAttributes {
		return newError(CodeAttributeInvalid, "the signature has no signed attributes; PAdES requires them")
	}
	if sig.embedded {
		return newError(CodeAttributeInvalid, "the signature embeds its content; a PAdES signature is detached")
	}
	if !sig.HasSigningCertV2 && !sig.HasSigningCertV1 {
		return newError(CodeSigningCertMismatch, "neither signing-certificate-v2 nor signing-certificate is present, so the signing certificate is not protected")
	}
	if sig.HasSigningCertV2 && !sig.SigningCertMatch {
		return newError(CodeSigningCertMismatch, "the signing-certificate-v2 attribute names another certificate than the signer's")
	}
	if sig.HasSigningCertV1 && !sig.SigningCertV1Match {
		return newError(CodeSigningCertMismatch, "the signing-certificate attribute names another certificate than the signer's")
	}
	return nil
}

// CheckDigest reports whether digest (made with DigestAlgorithm over the PDF byte ranges)
// is what was signed: the signed message digest or, when the signature embeds its content
// (adbe.pkcs7.sha1: the SHA-1 digest of the byte ranges), that content, whose own digest
// must then be the signed one. Without signed attributes the signed digest is the one the
// RSA PKCS#1 v1.5 signature value carries; when it cannot be had, the error is Verify's.
func (sig *Signature) CheckDigest(digest []byte) error {
	if !sig.HasSignedAttributes && sig.MessageDigest == nil {
		if err := sig.Verify(); err != nil {
			return err
		}
		return newError(CodeSignatureInvalid, "the signed digest cannot be recovered from the signature value")
	}
	want := sig.MessageDigest
	if sig.embedded {
		if err := sig.checkEmbedded(); err != nil {
			return err
		}
		want = sig.EncapsulatedContent
	}
	if len(digest) != len(want) || subtle.ConstantTimeCompare(digest, want) != 1 {
		return newError(CodeDigestMismatch, "the signed bytes differ from what was signed: the document was changed after signing, or the byte range is wrong")
	}
	return nil
}

// checkEmbedded checks that the signed digest covers the embedded content, if any.
func (sig *Signature) checkEmbedded() error {
	if !sig.embedded {
		return nil
	}
	got := hashBytes(sig.DigestAlgorithm, sig.EncapsulatedContent)
	if len(sig.MessageDigest) != len(got) || subtle.ConstantTimeCompare(got, sig.MessageDigest) != 1 {
		return newError(CodeDigestMismatch, "the signed message digest is not the digest of the content embedded in the signature")
	}
	return nil
}

func (sig *Signature) checkSignatureValue() error {
	if !sig.HasSignedAttributes {
		// Parse has already recovered and verified the signed digest (recoverDigest).
		if sig.alg.kind != kindRSA {
			return newError(CodeUnsupportedAlgorithm, "a signature without signed attributes is only supported with RSA PKCS#1 v1.5, not %v", sig.SignatureAlgorithm)
		}
		if _, ok := sig.Signer.PublicKey.(*rsa.PublicKey); !ok {
			return newError(CodeSignatureInvalid, "the signature algorithm is %v but the signer's key is %T", sig.SignatureAlgorithm, sig.Signer.PublicKey)
		}
		if sig.MessageDigest == nil {
			return newError(CodeSignatureInvalid, "the signature value does not verify with the signer's public key")
		}
		return nil
	}
	hashed := hashBytes(sig.DigestAlgorithm, sig.SignedAttributes)
	h := sig.DigestAlgorithm
	var ok bool
	switch pub := sig.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		switch sig.alg.kind {
		case kindRSA:
			ok = rsa.VerifyPKCS1v15(pub, h, hashed, sig.SignatureValue) == nil
		case kindRSAPSS:
			ok = rsa.VerifyPSS(pub, h, hashed, sig.SignatureValue, &rsa.PSSOptions{SaltLength: sig.pssSalt, Hash: h}) == nil
		default:
			return newError(CodeSignatureInvalid, "the signer has an RSA key but the signature algorithm is %v", sig.SignatureAlgorithm)
		}
	case *ecdsa.PublicKey:
		if sig.alg.kind != kindECDSA {
			return newError(CodeSignatureInvalid, "the signer has an ECDSA key but the signature algorithm is %v", sig.SignatureAlgorithm)
		}
		ok = ecdsa.VerifyASN1(pub, hashed, sig.SignatureValue)
	default:
		return newError(CodeUnsupportedAlgorithm, "the signer's key type %T is not supported", pub)
	}
	if !ok {
		return newError(CodeSignatureInvalid, "the signature value does not verify with the signer's public key")
	}
	return nil
}
