// Package cms builds and checks the CMS SignedData of PAdES baseline signatures
// (SubFilter ETSI.CAdES.detached) from the digest of the signed PDF byte ranges alone: the
// document itself never reaches this package, which is what lets the relay, the PDF core
// and the browser (WASM) share it. It does no I/O.
//
// In-process signing is one call:
//
//	der, err := cms.Sign(digest, crypto.SHA256, chain, key)
//
// A remote signer (a CSC signHash service such as itsme®) signs a hash and returns a raw
// signature value, so the relay splits the work:
//
//	attrs, _ := cms.SignedAttributes(digest, crypto.SHA256, chain[0])
//	hash, _ := cms.ToBeSigned(attrs, crypto.SHA256)        // send to signHash
//	der, err := cms.Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, value, chain)
//
// For PAdES B-T, ask a TSA for a token over TimestampImprint and add it with AddTimestamp.
// Parse, Verify and CheckDigest read and check a signature, also one made by another tool:
// BER input is normalised to DER, signatures without signing-certificate(-v2), without
// signed attributes (RSA PKCS#1 v1.5) or with SHA-1 are read and verified; PAdESBaseline
// tells whether the CMS also meets the PAdES baseline profile. Certificate trust (chains,
// revocation, qualified status) is left to the caller.
//
// Every error is an *Error whose Code is one of the Code… constants.
package cms
