package cms

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
)

// Verify checks what can be checked without the document: the signature value over the
// signed attributes with the Signer's key, the content type (id-data), and that
// signing-certificate-v2 names the Signer (PAdES requires it, so a substituted certificate
// is caught). If a signature time-stamp is present it must be readable, correctly signed
// and cover this signature value; a time-stamp error therefore means the signature itself
// passed. The document digest is checked separately by CheckDigest.
func (sig *Signature) Verify() error {
	if sig.Signer == nil {
		return newError(CodeSignerMissing, "the signing certificate is not in the signature")
	}
	if err := sig.checkSignatureValue(); err != nil {
		return err
	}
	if !sig.contentType.Equal(oidData) || !sig.eContentType.Equal(oidData) {
		return newError(CodeAttributeInvalid, "the signed content type is %v (attribute) / %v (SignedData); a PDF signature signs id-data", sig.contentType, sig.eContentType)
	}
	if !sig.HasSigningCertV2 {
		return newError(CodeSigningCertMismatch, "the signing-certificate-v2 attribute is missing, so the signing certificate is not protected")
	}
	if !sig.SigningCertMatch {
		return newError(CodeSigningCertMismatch, "the signing-certificate-v2 attribute names another certificate than the signer's")
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

// CheckDigest reports whether digest (made with DigestAlgorithm over the PDF byte ranges)
// is the signed message-digest.
func (sig *Signature) CheckDigest(digest []byte) error {
	if len(digest) != len(sig.MessageDigest) || subtle.ConstantTimeCompare(digest, sig.MessageDigest) != 1 {
		return newError(CodeDigestMismatch, "the signed bytes differ from what was signed: the document was changed after signing, or the byte range is wrong")
	}
	return nil
}

func (sig *Signature) checkSignatureValue() error {
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
