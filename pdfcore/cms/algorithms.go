package cms

import (
	"crypto"
	_ "crypto/sha1"   // SHA-1, for reading old signatures only
	_ "crypto/sha256" // register SHA-256 so crypto.Hash.New works without the caller importing it
	_ "crypto/sha512" // SHA-384 and SHA-512
	"crypto/x509"
	encasn1 "encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidData                 = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidAttrContentType      = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest    = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCertV2    = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrSigningCertV1    = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningTime      = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSignatureTSToken = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}

	oidSHA1   = encasn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA     = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS          = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECPublicKey     = encasn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA1   = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA256 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// Only the SHA-2 family is accepted for anything this package makes: eIDAS qualified
// signatures may no longer use SHA-1, and nothing in PAdES baseline needs more.
var hashOIDs = []struct {
	h   crypto.Hash
	oid encasn1.ObjectIdentifier
}{
	{crypto.SHA256, oidSHA256},
	{crypto.SHA384, oidSHA384},
	{crypto.SHA512, oidSHA512},
}

func hashOID(h crypto.Hash) (encasn1.ObjectIdentifier, bool) {
	for _, e := range hashOIDs {
		if e.h == h {
			return e.oid, true
		}
	}
	return nil, false
}

// hashForOID names the digest algorithms Parse reads: the SHA-2 family, and SHA-1, which
// old signatures (SubFilter adbe.pkcs7.sha1, pre-2010 signers) use. Reading is not signing:
// checkHash still refuses SHA-1 for everything this package produces.
func hashForOID(oid encasn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, e := range hashOIDs {
		if e.oid.Equal(oid) {
			return e.h, true
		}
	}
	if oid.Equal(oidSHA1) {
		return crypto.SHA1, true
	}
	return 0, false
}

func checkHash(h crypto.Hash) error {
	if _, ok := hashOID(h); !ok {
		return newError(CodeUnsupportedAlgorithm, "digest algorithm %v is not accepted; use SHA-256, SHA-384 or SHA-512", h)
	}
	return nil
}

// hashBytes hashes data with h; h must have passed checkHash or come from hashForOID.
func hashBytes(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// sigAlgInfo describes the signature algorithms Assemble writes and Parse reads; readOnly
// ones (SHA-1) are read in signatures made elsewhere and never written.
type sigAlgInfo struct {
	alg      x509.SignatureAlgorithm
	hash     crypto.Hash
	oid      encasn1.ObjectIdentifier
	kind     keyKind
	readOnly bool
}

type keyKind int

const (
	kindRSA keyKind = iota + 1
	kindRSAPSS
	kindECDSA
)

var sigAlgs = []sigAlgInfo{
	{x509.SHA256WithRSA, crypto.SHA256, oidSHA256WithRSA, kindRSA, false},
	{x509.SHA384WithRSA, crypto.SHA384, oidSHA384WithRSA, kindRSA, false},
	{x509.SHA512WithRSA, crypto.SHA512, oidSHA512WithRSA, kindRSA, false},
	{x509.SHA256WithRSAPSS, crypto.SHA256, oidRSAPSS, kindRSAPSS, false},
	{x509.SHA384WithRSAPSS, crypto.SHA384, oidRSAPSS, kindRSAPSS, false},
	{x509.SHA512WithRSAPSS, crypto.SHA512, oidRSAPSS, kindRSAPSS, false},
	{x509.ECDSAWithSHA256, crypto.SHA256, oidECDSAWithSHA256, kindECDSA, false},
	{x509.ECDSAWithSHA384, crypto.SHA384, oidECDSAWithSHA384, kindECDSA, false},
	{x509.ECDSAWithSHA512, crypto.SHA512, oidECDSAWithSHA512, kindECDSA, false},
	{x509.SHA1WithRSA, crypto.SHA1, oidSHA1WithRSA, kindRSA, true},
	{x509.ECDSAWithSHA1, crypto.SHA1, oidECDSAWithSHA1, kindECDSA, true},
}

func sigAlgByAlg(alg x509.SignatureAlgorithm) (sigAlgInfo, error) {
	for _, s := range sigAlgs {
		if s.alg == alg && !s.readOnly {
			return s, nil
		}
	}
	return sigAlgInfo{}, newError(CodeUnsupportedAlgorithm, "signature algorithm %v is not accepted; use RSA (PKCS#1 v1.5 or PSS) or ECDSA with SHA-2", alg)
}

func sigAlgByKind(kind keyKind, h crypto.Hash) (sigAlgInfo, bool) {
	for _, s := range sigAlgs {
		if s.kind == kind && s.hash == h {
			return s, true
		}
	}
	return sigAlgInfo{}, false
}

// addHashAlgID writes a digest AlgorithmIdentifier with absent parameters (RFC 5754 §2:
// generators MUST omit them).
func addHashAlgID(b *cryptobyte.Builder, h crypto.Hash) {
	oid, _ := hashOID(h)
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
}

// addSigAlgID writes the SignerInfo signatureAlgorithm. RSA PKCS#1 v1.5 carries NULL
// parameters (RFC 4055), ECDSA none (RFC 5758), RSA-PSS its full parameters with the salt
// as long as the hash, the only form crypto/x509 and most verifiers accept.
func addSigAlgID(b *cryptobyte.Builder, s sigAlgInfo) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(s.oid)
		switch s.kind {
		case kindRSA:
			b.AddASN1NULL()
		case kindRSAPSS:
			hashID := func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					oid, _ := hashOID(s.hash)
					b.AddASN1ObjectIdentifier(oid)
					b.AddASN1NULL()
				})
			}
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), hashID)
				b.AddASN1(asn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidMGF1)
						hashID(b)
					})
				})
				b.AddASN1(asn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(s.hash.Size()))
				})
			})
		}
	})
}

// readHashAlgID reads a digest AlgorithmIdentifier, accepting absent or NULL parameters
// (both are legal, RFC 5754 §2).
func readHashAlgID(in *cryptobyte.String) (crypto.Hash, error) {
	var id cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !in.ReadASN1(&id, asn1.SEQUENCE) || !id.ReadASN1ObjectIdentifier(&oid) {
		return 0, malformed("a digest AlgorithmIdentifier is not readable")
	}
	if id.PeekASN1Tag(asn1.NULL) {
		var null cryptobyte.String
		if !id.ReadASN1(&null, asn1.NULL) || !null.Empty() {
			return 0, malformed("a digest AlgorithmIdentifier has bad NULL parameters")
		}
	}
	if !id.Empty() {
		return 0, newError(CodeUnsupportedAlgorithm, "digest algorithm %v has unexpected parameters", oid)
	}
	h, ok := hashForOID(oid)
	if !ok {
		return 0, newError(CodeUnsupportedAlgorithm, "digest algorithm %v is not accepted; only SHA-256, SHA-384, SHA-512 (and SHA-1 in old signatures) are", oid)
	}
	return h, nil
}

// readSigAlgID reads the SignerInfo signatureAlgorithm. The hash it names must be the
// SignerInfo digest algorithm: CMS hashes the signed attributes with the latter, so a
// different hash in the signature algorithm could not have been what the signer meant.
// It returns the PSS salt length (0 for other algorithms).
func readSigAlgID(in *cryptobyte.String, h crypto.Hash) (sigAlgInfo, int, error) {
	var id cryptobyte.String
	var oid encasn1.ObjectIdentifier
	if !in.ReadASN1(&id, asn1.SEQUENCE) || !id.ReadASN1ObjectIdentifier(&oid) {
		return sigAlgInfo{}, 0, malformed("the signature AlgorithmIdentifier is not readable")
	}
	params := id
	var kind keyKind
	switch {
	case oid.Equal(oidRSAEncryption):
		// Many CMS producers name only the key type and let the digest algorithm decide.
		kind = kindRSA
	case oid.Equal(oidECPublicKey):
		kind = kindECDSA
	case oid.Equal(oidRSAPSS):
		salt, err := readPSSParams(params, h)
		if err != nil {
			return sigAlgInfo{}, 0, err
		}
		s, ok := sigAlgByKind(kindRSAPSS, h)
		if !ok {
			return sigAlgInfo{}, 0, newError(CodeUnsupportedAlgorithm, "RSASSA-PSS with %v is not accepted", h)
		}
		return s, salt, nil
	default:
		for _, s := range sigAlgs {
			if s.kind != kindRSAPSS && s.oid.Equal(oid) {
				if s.hash != h {
					return sigAlgInfo{}, 0, newError(CodeUnsupportedAlgorithm, "signature algorithm %v uses %v but the digest algorithm is %v", oid, s.hash, h)
				}
				kind = s.kind
			}
		}
		if kind == 0 {
			return sigAlgInfo{}, 0, newError(CodeUnsupportedAlgorithm, "signature algorithm %v is not accepted", oid)
		}
	}
	if !params.Empty() && !(kind == kindRSA && isNULL(params)) && !(kind == kindECDSA && oid.Equal(oidECPublicKey) && isNULL(params)) {
		return sigAlgInfo{}, 0, newError(CodeUnsupportedAlgorithm, "signature algorithm %v has unexpected parameters", oid)
	}
	s, ok := sigAlgByKind(kind, h)
	if !ok {
		return sigAlgInfo{}, 0, newError(CodeUnsupportedAlgorithm, "signature algorithm %v with %v is not accepted", oid, h)
	}
	return s, 0, nil
}

func isNULL(s cryptobyte.String) bool {
	var null cryptobyte.String
	return s.ReadASN1(&null, asn1.NULL) && null.Empty() && s.Empty()
}

// readPSSParams accepts RSASSA-PSS parameters whose hash and MGF1 hash are the digest
// algorithm and whose trailer field is the only defined one; the salt length may vary.
func readPSSParams(params cryptobyte.String, h crypto.Hash) (int, error) {
	bad := func(what string) (int, error) {
		return 0, newError(CodeUnsupportedAlgorithm, "RSASSA-PSS parameters: %s", what)
	}
	var seq cryptobyte.String
	if !params.ReadASN1(&seq, asn1.SEQUENCE) || !params.Empty() {
		return bad("not a SEQUENCE")
	}
	var hashField, mgfField, saltField, trailerField cryptobyte.String
	var hasHash, hasMGF, hasSalt, hasTrailer bool
	if !seq.ReadOptionalASN1(&hashField, &hasHash, asn1.Tag(0).ContextSpecific().Constructed()) ||
		!seq.ReadOptionalASN1(&mgfField, &hasMGF, asn1.Tag(1).ContextSpecific().Constructed()) ||
		!seq.ReadOptionalASN1(&saltField, &hasSalt, asn1.Tag(2).ContextSpecific().Constructed()) ||
		!seq.ReadOptionalASN1(&trailerField, &hasTrailer, asn1.Tag(3).ContextSpecific().Constructed()) ||
		!seq.Empty() {
		return bad("not readable")
	}
	if !hasHash || !hasMGF {
		return bad("the default SHA-1 hash is not accepted")
	}
	ph, err := readHashAlgID(&hashField)
	if err != nil || !hashField.Empty() || ph != h {
		return bad("the hash must be the digest algorithm")
	}
	var mgf cryptobyte.String
	var mgfOID encasn1.ObjectIdentifier
	if !mgfField.ReadASN1(&mgf, asn1.SEQUENCE) || !mgfField.Empty() || !mgf.ReadASN1ObjectIdentifier(&mgfOID) || !mgfOID.Equal(oidMGF1) {
		return bad("the mask generation function must be MGF1")
	}
	mh, err := readHashAlgID(&mgf)
	if err != nil || !mgf.Empty() || mh != h {
		return bad("the MGF1 hash must be the digest algorithm")
	}
	salt := int64(20)
	if hasSalt && (!saltField.ReadASN1Integer(&salt) || !saltField.Empty() || salt < 0 || salt > 1024) {
		return bad("bad salt length")
	}
	if hasTrailer {
		var t int64
		if !trailerField.ReadASN1Integer(&t) || !trailerField.Empty() || t != 1 {
			return bad("bad trailer field")
		}
	}
	return int(salt), nil
}
