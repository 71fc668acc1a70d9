package csc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
)

// verifyRaw checks a raw CSC signature against the public key: PKCS#1 v1.5 for RSA, and
// for ECDSA either DER or the fixed-size r||s form some services return.
func verifyRaw(pub crypto.PublicKey, h crypto.Hash, hash, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, hash, sig)
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, hash, sig) {
			return nil
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*size {
			r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
			if ecdsa.Verify(k, hash, r, s) {
				return nil
			}
		}
		return errors.New("ECDSA verification failed")
	}
	return fmt.Errorf("key type %T", pub)
}
