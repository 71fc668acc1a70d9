package pkcs11signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// hashOIDs are the digest algorithms a signature may use (the CMS code accepts the same).
var hashOIDs = map[crypto.Hash]encasn1.ObjectIdentifier{
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// checkHash refuses a hash the relay must not sign and a digest of the wrong length.
func checkHash(hash []byte, h crypto.Hash) error {
	if _, ok := hashOIDs[h]; !ok {
		return fmt.Errorf("pkcs11signer: digest algorithm %v is not accepted; use SHA-256, SHA-384 or SHA-512", h)
	}
	if len(hash) != h.Size() {
		return fmt.Errorf("pkcs11signer: the hash has %d bytes, %v needs %d", len(hash), h, h.Size())
	}
	return nil
}

// digestInfo returns the DER DigestInfo (RFC 8017 §9.2) that CKM_RSA_PKCS pads and signs:
// SEQUENCE { AlgorithmIdentifier { hash OID, NULL }, OCTET STRING hash }.
func digestInfo(hash []byte, h crypto.Hash) ([]byte, error) {
	if err := checkHash(hash, h); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(hashOIDs[h])
			b.AddASN1NULL()
		})
		b.AddASN1OctetString(hash)
	})
	return b.Bytes()
}

// signatureAlgorithm names the scheme for the leaf's key type and h.
func signatureAlgorithm(pub crypto.PublicKey, h crypto.Hash) (x509.SignatureAlgorithm, error) {
	var algs map[crypto.Hash]x509.SignatureAlgorithm
	switch pub.(type) {
	case *rsa.PublicKey:
		algs = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}
	case *ecdsa.PublicKey:
		algs = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}
	default:
		return 0, fmt.Errorf("pkcs11signer: the certificate's %T key cannot sign here (RSA or ECDSA only)", pub)
	}
	alg, ok := algs[h]
	if !ok {
		return 0, fmt.Errorf("pkcs11signer: digest algorithm %v is not accepted", h)
	}
	return alg, nil
}

// ecdsaRawToDER turns the r‖s that CKM_ECDSA returns (PKCS#11 v2.40 §2.3.1: two integers
// of the order's length each) into the DER ECDSA-Sig-Value that x509 and CMS use.
func ecdsaRawToDER(raw []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	size := (pub.Curve.Params().N.BitLen() + 7) / 8
	if len(raw) != 2*size {
		return nil, fmt.Errorf("pkcs11signer: the token returned a %d-byte ECDSA signature, %s needs %d", len(raw), pub.Curve.Params().Name, 2*size)
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[:size]))
		b.AddASN1BigInt(new(big.Int).SetBytes(raw[size:]))
	})
	return b.Bytes()
}

// verifyRaw checks the token's signature against the certificate before the relay builds
// a CMS with it, so a key that does not belong to the certificate is named as such.
func verifyRaw(pub crypto.PublicKey, hash []byte, h crypto.Hash, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, hash, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, hash, sig) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return fmt.Errorf("unsupported key %T", pub)
}

// maxChain bounds the walk up the issuers; real chains have two or three certificates.
const maxChain = 8

// buildChain returns leaf followed by its issuers found among certs, each one checked to
// have signed the one before, up to a self-signed root or the first missing issuer.
func buildChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) < maxChain; {
		if bytes.Equal(cur.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(cur) == nil {
			break // a root
		}
		var next *x509.Certificate
		for _, c := range certs {
			if !bytes.Equal(c.RawSubject, cur.RawIssuer) || contains(chain, c) {
				continue
			}
			if cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	return chain
}

func contains(chain []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range chain {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
