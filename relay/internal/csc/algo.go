package csc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
)

// Object identifiers CSC uses for key and signature algorithms (signAlgo, key.algo).
const (
	OIDRSAEncryption   = "1.2.840.113549.1.1.1"
	OIDSHA256WithRSA   = "1.2.840.113549.1.1.11"
	OIDSHA384WithRSA   = "1.2.840.113549.1.1.12"
	OIDSHA512WithRSA   = "1.2.840.113549.1.1.13"
	OIDECPublicKey     = "1.2.840.10045.2.1"
	OIDECDSAWithSHA256 = "1.2.840.10045.4.3.2"
	OIDECDSAWithSHA384 = "1.2.840.10045.4.3.3"
	OIDECDSAWithSHA512 = "1.2.840.10045.4.3.4"
)

type algoChoice struct {
	keyOID string
	oid    string
	alg    x509.SignatureAlgorithm
}

var algoChoices = map[string]map[crypto.Hash]algoChoice{
	"rsa": {
		crypto.SHA256: {OIDRSAEncryption, OIDSHA256WithRSA, x509.SHA256WithRSA},
		crypto.SHA384: {OIDRSAEncryption, OIDSHA384WithRSA, x509.SHA384WithRSA},
		crypto.SHA512: {OIDRSAEncryption, OIDSHA512WithRSA, x509.SHA512WithRSA},
	},
	"ec": {
		crypto.SHA256: {OIDECPublicKey, OIDECDSAWithSHA256, x509.ECDSAWithSHA256},
		crypto.SHA384: {OIDECPublicKey, OIDECDSAWithSHA384, x509.ECDSAWithSHA384},
		crypto.SHA512: {OIDECPublicKey, OIDECDSAWithSHA512, x509.ECDSAWithSHA512},
	},
}

// SignAlgorithm picks signAlgo for a key of the certificate's type and the hash the
// signed attributes were digested with: PKCS#1 v1.5 for RSA (what a CMS verifier expects
// from a raw CSC signature without parameters), ECDSA for EC keys. offered is the
// credential's key.algo; when non-empty, the choice must be in it either as the signature
// algorithm (itsme lists sha256WithRSA) or as the bare key algorithm (other services list
// rsaEncryption and accept any hash).
func SignAlgorithm(pub crypto.PublicKey, h crypto.Hash, offered []string) (string, x509.SignatureAlgorithm, error) {
	kind := ""
	switch pub.(type) {
	case *rsa.PublicKey:
		kind = "rsa"
	case *ecdsa.PublicKey:
		kind = "ec"
	default:
		return "", 0, fmt.Errorf("%w: key type %T", ErrUnsupportedAlgorithm, pub)
	}
	c, ok := algoChoices[kind][h]
	if !ok {
		return "", 0, fmt.Errorf("%w: hash %v", ErrUnsupportedAlgorithm, h)
	}
	if len(offered) > 0 && !slices.Contains(offered, c.oid) && !slices.Contains(offered, c.keyOID) {
		return "", 0, fmt.Errorf("%w: %s with %v is not among %v", ErrUnsupportedAlgorithm, kind, h, offered)
	}
	return c.oid, c.alg, nil
}

// algorithmOf is SignAlgorithm read backwards: the x509 algorithm and the hash of a
// signAlgo OID this package chooses.
func algorithmOf(oid string) (x509.SignatureAlgorithm, crypto.Hash, bool) {
	for _, byHash := range algoChoices {
		for h, c := range byHash {
			if c.oid == oid {
				return c.alg, h, true
			}
		}
	}
	return 0, 0, false
}
