package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Assemble builds the detached CMS (DER ContentInfo holding SignedData) from the signed
// attributes made by SignedAttributes, the raw signature over them made elsewhere (a CSC
// signHash answer, a smart card, an HSM) and the certificate chain, leaf first. All given
// certificates are included, in the given order.
//
// alg names the signature scheme; its hash must be h. For ECDSA the signature may be the
// DER ECDSA-Sig-Value or the fixed-size r||s form some remote signers return.
//
// The result is parsed and verified before it is returned, so a remote signature that does
// not match the leaf certificate (wrong key, wrong hash signed) fails here with
// CodeSignatureInvalid rather than inside a PDF.
func Assemble(signedAttrs []byte, h crypto.Hash, alg x509.SignatureAlgorithm, signature []byte, chain []*x509.Certificate) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	s, err := sigAlgByAlg(alg)
	if err != nil {
		return nil, err
	}
	if s.hash != h {
		return nil, newError(CodeUnsupportedAlgorithm, "signature algorithm %v does not use the digest algorithm %v", alg, h)
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, newError(CodeBadInput, "no certificate chain given")
	}
	leaf := chain[0]
	for _, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return nil, newError(CodeBadInput, "the certificate chain contains an empty certificate")
		}
	}
	in := cryptobyte.String(signedAttrs)
	var set cryptobyte.String
	if !in.ReadASN1(&set, asn1.SET) || !in.Empty() {
		return nil, newError(CodeBadInput, "the signed attributes are not one DER SET (use the output of SignedAttributes)")
	}
	if len(signature) == 0 {
		return nil, newError(CodeBadInput, "the signature value is empty")
	}
	if s.kind == kindECDSA {
		signature = ecdsaSigToDER(signature, leaf)
	}

	var certs []byte
	for _, c := range chain {
		certs = append(certs, c.Raw...)
	}
	var sid cryptobyte.Builder
	sid.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(leaf.RawIssuer)
		b.AddASN1BigInt(leaf.SerialNumber)
	})
	var digestAlg, sigAlg, encap cryptobyte.Builder
	addHashAlgID(&digestAlg, h)
	addSigAlgID(&sigAlg, s)
	encap.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })

	sd := &signedData{
		// Version 1 everywhere: id-data content, issuerAndSerialNumber, X.509 certificates
		// only (RFC 5652 §5.1 and §5.3).
		version:    1,
		digestAlgs: digestAlg.BytesOrPanic(),
		encap:      encap.BytesOrPanic(),
		certs:      certs,
		si: signerInfo{
			version:     1,
			sid:         sid.BytesOrPanic(),
			digestAlg:   digestAlg.BytesOrPanic(),
			signedAttrs: set,
			sigAlg:      sigAlg.BytesOrPanic(),
			signature:   signature,
		},
	}
	// What comes back from a remote signer is checked before it is wrapped: the signature
	// value must verify over these attributes with the leaf's key, and the attributes must
	// name this leaf. The same checks Parse+Verify make on a CMS, made on
	// the parts in hand — a relay assembles every signature it delivers, and parsing its
	// own output back (certificates included) cost it a twentieth of its CPU.
	self := &Signature{
		Certificates:        chain,
		Signer:              leaf,
		DigestAlgorithm:     h,
		SignatureAlgorithm:  alg,
		SignatureValue:      signature,
		HasSignedAttributes: true,
		SignedAttributes:    signedAttrs,
		eContentType:        oidData,
		alg:                 s,
	}
	if s.kind == kindRSAPSS {
		self.pssSalt = h.Size() // what addSigAlgID writes
	}
	if err := self.useSignedAttrs(set, h); err != nil {
		return nil, err
	}
	if err := self.Verify(); err != nil {
		return nil, err
	}
	return sd.marshal()
}

// Sign makes the detached CMS for an in-process key: RSA keys sign with PKCS#1 v1.5, ECDSA
// keys with ECDSA, both with h. chain[0] must be key's certificate.
func Sign(digest []byte, h crypto.Hash, chain []*x509.Certificate, key crypto.Signer) ([]byte, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, newError(CodeBadInput, "no certificate chain given")
	}
	if key == nil {
		return nil, newError(CodeBadInput, "no signing key given")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, newError(CodeBadInput, "the signing key does not belong to the first certificate of the chain")
	}
	var kind keyKind
	switch key.Public().(type) {
	case *rsa.PublicKey:
		kind = kindRSA
	case *ecdsa.PublicKey:
		kind = kindECDSA
	default:
		return nil, newError(CodeUnsupportedAlgorithm, "only RSA and ECDSA keys can sign, not %T", key.Public())
	}
	if err := checkHash(h); err != nil {
		return nil, err
	}
	s, _ := sigAlgByKind(kind, h)
	attrs, err := SignedAttributes(digest, h, chain[0])
	if err != nil {
		return nil, err
	}
	tbs, err := ToBeSigned(attrs, h)
	if err != nil {
		return nil, err
	}
	value, err := key.Sign(rand.Reader, tbs, h)
	if err != nil {
		return nil, wrapError(CodeSignatureInvalid, err, "the key refused to sign")
	}
	return Assemble(attrs, h, s.alg, value, chain)
}

// ecdsaSigToDER turns a fixed-size r||s signature (PKCS#11 and some CSC services return
// that) into the DER ECDSA-Sig-Value CMS requires; anything else is returned unchanged and
// left to verification.
func ecdsaSigToDER(sig []byte, leaf *x509.Certificate) []byte {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return sig
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size || isDERECDSASig(sig) {
		return sig
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[:size]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[size:]))
	})
	return b.BytesOrPanic()
}

func isDERECDSASig(sig []byte) bool {
	in := cryptobyte.String(sig)
	var seq cryptobyte.String
	r, s := new(big.Int), new(big.Int)
	return in.ReadASN1(&seq, asn1.SEQUENCE) && in.Empty() &&
		seq.ReadASN1Integer(r) && seq.ReadASN1Integer(s) && seq.Empty()
}

// signedData holds the pieces of a SignedData as raw DER, so that AddTimestamp can rewrite
// the unsigned attributes without re-encoding (and so altering) anything that is signed.
type signedData struct {
	version    int64
	digestAlgs []byte // content of the digestAlgorithms SET
	encap      []byte // EncapsulatedContentInfo element
	certs      []byte // content of [0] certificates; nil when absent
	crls       []byte // [1] crls element; nil when absent
	si         signerInfo
}

type signerInfo struct {
	version     int64
	sid         []byte // SignerIdentifier element
	digestAlg   []byte // element
	signedAttrs []byte // content of the [0] signedAttrs
	sigAlg      []byte // element
	signature   []byte
	unsigned    [][]byte // Attribute elements
	// noSignedAttrs marks the old form without signed attributes (read, never made here).
	noSignedAttrs bool
}

func (sd *signedData) marshal() ([]byte, error) {
	var unsigned []byte
	if len(sd.si.unsigned) > 0 {
		var err error
		if unsigned, err = encodeSet(asn1.Tag(1).ContextSpecific().Constructed(), sd.si.unsigned); err != nil {
			return nil, err
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(sd.version)
				b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(sd.digestAlgs) })
				b.AddBytes(sd.encap)
				if sd.certs != nil {
					b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(sd.certs) })
				}
				b.AddBytes(sd.crls)
				b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						si := &sd.si
						b.AddASN1Int64(si.version)
						b.AddBytes(si.sid)
						b.AddBytes(si.digestAlg)
						if !si.noSignedAttrs {
							b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(si.signedAttrs) })
						}
						b.AddBytes(si.sigAlg)
						b.AddASN1OctetString(si.signature)
						b.AddBytes(unsigned)
					})
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, wrapError(CodeBadInput, err, "cannot encode the SignedData")
	}
	return out, nil
}
