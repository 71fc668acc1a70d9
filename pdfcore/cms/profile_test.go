package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// foreignCMS builds a SignedData the way other producers do, which Sign never would: any
// digest algorithm (SHA-1 included), the signature algorithm named rsaEncryption, any
// attribute set, none at all (the signature then signs digest directly), embedded content.
type foreignCMS struct {
	h       crypto.Hash
	id      *devpki.Identity
	attrs   [][]byte // Attribute elements, in this order; nil: no signed attributes
	digest  []byte   // signed directly when attrs is nil
	content []byte   // embedded eContent; nil: detached
}

func (f foreignCMS) build(t *testing.T) []byte {
	t.Helper()
	leaf := f.id.Chain[0]
	algID := func(oid []int) []byte {
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1NULL()
		})
		return b.BytesOrPanic()
	}
	hashOIDOf := map[crypto.Hash][]int{crypto.SHA1: oidSHA1, crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512}
	var signedAttrs []byte
	tbs := f.digest
	if f.attrs != nil {
		var b cryptobyte.Builder
		b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
			for _, a := range f.attrs {
				b.AddBytes(a)
			}
		})
		set := b.BytesOrPanic()
		in := cryptobyte.String(set)
		var content cryptobyte.String
		in.ReadASN1(&content, asn1.SET)
		signedAttrs = content
		w := f.h.New()
		w.Write(set)
		tbs = w.Sum(nil)
	}
	var value, sigAlg []byte
	switch key := f.id.Key.(type) {
	case *rsa.PrivateKey:
		v, err := rsa.SignPKCS1v15(rand.Reader, key, f.h, tbs)
		if err != nil {
			t.Fatal(err)
		}
		value, sigAlg = v, algID(oidRSAEncryption)
	case *ecdsa.PrivateKey:
		v, err := ecdsa.SignASN1(rand.Reader, key, tbs)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := sigAlgByKind(kindECDSA, f.h)
		var b cryptobyte.Builder
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(s.oid) })
		value, sigAlg = v, b.BytesOrPanic()
	}
	var encap, sid cryptobyte.Builder
	encap.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidData)
		if f.content != nil {
			b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(f.content) })
		}
	})
	sid.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(leaf.RawIssuer)
		b.AddASN1BigInt(leaf.SerialNumber)
	})
	var certs []byte
	for _, c := range f.id.Chain {
		certs = append(certs, c.Raw...)
	}
	sd := &signedData{version: 1, digestAlgs: algID(hashOIDOf[f.h]), encap: encap.BytesOrPanic(), certs: certs,
		si: signerInfo{version: 1, sid: sid.BytesOrPanic(), digestAlg: algID(hashOIDOf[f.h]), signedAttrs: signedAttrs,
			noSignedAttrs: f.attrs == nil, sigAlg: sigAlg, signature: value}}
	der, err := sd.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func contentTypeAttr() []byte {
	return encodeAttribute(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
}

func messageDigestAttr(d []byte) []byte {
	return encodeAttribute(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(d) })
}

func signingTimeAttr(at time.Time) []byte {
	return encodeAttribute(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(at) })
}

// signingCertV1Attr writes the ESS SigningCertificate (RFC 2634) naming c.
func signingCertV1Attr(c *x509.Certificate) []byte {
	h := sha1.Sum(c.Raw)
	return encodeAttribute(oidAttrSigningCertV1, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(h[:])
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(asn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(c.RawIssuer) })
						})
						b.AddASN1BigInt(c.SerialNumber)
					})
				})
			})
		})
	})
}

func signingCertV2Attr(h crypto.Hash, c *x509.Certificate) []byte {
	return encodeAttribute(oidAttrSigningCertV2, func(b *cryptobyte.Builder) { addSigningCertV2(b, h, c) })
}

// TestProfiles: signatures of other profiles than PAdES baseline verify; PAdESBaseline
// tells them apart; a signing certificate attribute naming someone else always fails.
func TestProfiles(t *testing.T) {
	pki, person := dev(t)
	seal := pki.Seal()
	doc, d := content(t, crypto.SHA256)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := func(extra ...[]byte) [][]byte {
		return append([][]byte{contentTypeAttr(), signingTimeAttr(at), messageDigestAttr(d)}, extra...)
	}
	for _, tc := range []struct {
		name     string
		f        foreignCMS
		verify   string // Verify's code, "" for nil
		baseline string // PAdESBaseline's code, "" for nil
	}{
		{"adbe.pkcs7.detached, no signing certificate", foreignCMS{h: crypto.SHA256, id: person, attrs: base()}, "", CodeSigningCertMismatch},
		{"ESS signing-certificate v1", foreignCMS{h: crypto.SHA256, id: person, attrs: base(signingCertV1Attr(person.Chain[0]))}, "", ""},
		{"v1 naming another certificate", foreignCMS{h: crypto.SHA256, id: person, attrs: base(signingCertV1Attr(seal.Chain[0]))}, CodeSigningCertMismatch, CodeSigningCertMismatch},
		{"v2 naming another certificate", foreignCMS{h: crypto.SHA256, id: person, attrs: base(signingCertV2Attr(crypto.SHA256, seal.Chain[0]))}, CodeSigningCertMismatch, CodeSigningCertMismatch},
		{"v1 and v2, one wrong", foreignCMS{h: crypto.SHA256, id: person, attrs: base(signingCertV2Attr(crypto.SHA256, person.Chain[0]), signingCertV1Attr(seal.Chain[0]))}, CodeSigningCertMismatch, CodeSigningCertMismatch},
		{"v1 and v2", foreignCMS{h: crypto.SHA256, id: seal, attrs: base(signingCertV2Attr(crypto.SHA256, seal.Chain[0]), signingCertV1Attr(seal.Chain[0]))}, "", ""},
		{"unsorted attributes", foreignCMS{h: crypto.SHA256, id: seal, attrs: [][]byte{signingCertV2Attr(crypto.SHA256, seal.Chain[0]), messageDigestAttr(d), signingTimeAttr(at), contentTypeAttr()}}, "", ""},
		{"no signed attributes", foreignCMS{h: crypto.SHA256, id: person, digest: d}, "", CodeAttributeInvalid},
		{"no signed attributes, ECDSA", foreignCMS{h: crypto.SHA256, id: seal, digest: d}, CodeUnsupportedAlgorithm, CodeAttributeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der := tc.f.build(t)
			for _, form := range []string{"DER", "BER"} {
				in := der
				if form == "BER" {
					in = toBER(t, der, berOptions{indefinite: func(d int) bool { return d != 5 }, chunk: 9})
				}
				sig, err := Parse(in)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if got := CodeOf(sig.Verify()); got != tc.verify {
					t.Fatalf("%s: Verify: %v, want %q", form, sig.Verify(), tc.verify)
				}
				if got := CodeOf(sig.PAdESBaseline()); got != tc.baseline {
					t.Fatalf("%s: PAdESBaseline: %v, want %q", form, sig.PAdESBaseline(), tc.baseline)
				}
				if tc.verify == "" {
					if err := sig.CheckDigest(d); err != nil {
						t.Fatalf("%s: %v", form, err)
					}
					wantCode(t, sig.CheckDigest(sha256Of(d)), CodeDigestMismatch)
				}
				if tc.f.attrs != nil && !sig.SigningTime.Equal(at) {
					t.Fatalf("%s: signing time %v", form, sig.SigningTime)
				}
				out, err := sig.sd.marshal()
				if err != nil || !bytes.Equal(out, der) {
					t.Fatalf("%s: re-encoding differs (%v)", form, err)
				}
			}
		})
	}

	// Without signed attributes a changed signature value is refused by both checks, and a
	// changed document only by CheckDigest.
	der := foreignCMS{h: crypto.SHA256, id: person, digest: d}.build(t)
	sig, _ := Parse(der)
	sig.sd.si.signature = bytes.Clone(sig.SignatureValue)
	sig.sd.si.signature[20] ^= 1
	out, _ := sig.sd.marshal()
	bad, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, bad.Verify(), CodeSignatureInvalid)
	wantCode(t, bad.CheckDigest(d), CodeSignatureInvalid)
	other := sha256Of(append([]byte("x"), doc...))
	wantCode(t, sig.CheckDigest(other), CodeDigestMismatch)
}

// TestSHA1: old signatures with SHA-1 are read and verified; nothing is ever made with it.
func TestSHA1(t *testing.T) {
	pki, person := dev(t)
	doc, _ := content(t, crypto.SHA256)
	d := sha1.Sum(doc)
	for _, tc := range []struct {
		name string
		f    foreignCMS
		alg  x509.SignatureAlgorithm
	}{
		{"sha1WithRSA", foreignCMS{h: crypto.SHA1, id: person, attrs: [][]byte{contentTypeAttr(), messageDigestAttr(d[:])}}, x509.SHA1WithRSA},
		{"ecdsa-with-SHA1", foreignCMS{h: crypto.SHA1, id: pki.Seal(), attrs: [][]byte{contentTypeAttr(), messageDigestAttr(d[:])}}, x509.ECDSAWithSHA1},
		{"sha1WithRSA, no signed attributes", foreignCMS{h: crypto.SHA1, id: person, digest: d[:]}, x509.SHA1WithRSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := Parse(tc.f.build(t))
			if err != nil {
				t.Fatal(err)
			}
			if sig.DigestAlgorithm != crypto.SHA1 || sig.SignatureAlgorithm != tc.alg {
				t.Fatalf("read %v %v", sig.DigestAlgorithm, sig.SignatureAlgorithm)
			}
			if err := sig.Verify(); err != nil {
				t.Fatal(err)
			}
			if err := sig.CheckDigest(d[:]); err != nil {
				t.Fatal(err)
			}
		})
	}

	// adbe.pkcs7.sha1: the SHA-1 digest of the byte ranges is the embedded content, and the
	// SignedData signs that content (here with SHA-256).
	inner := sha256Of(d[:])
	der := foreignCMS{h: crypto.SHA256, id: person, attrs: [][]byte{contentTypeAttr(), messageDigestAttr(inner)}, content: d[:]}.build(t)
	sig, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig.EncapsulatedContent, d[:]) || sig.Verify() != nil || sig.CheckDigest(d[:]) != nil {
		t.Fatalf("adbe.pkcs7.sha1: content %x, %v, %v", sig.EncapsulatedContent, sig.Verify(), sig.CheckDigest(d[:]))
	}
	other := sha1.Sum(append([]byte("x"), doc...))
	wantCode(t, sig.CheckDigest(other[:]), CodeDigestMismatch)
	wantCode(t, sig.PAdESBaseline(), CodeAttributeInvalid)
	// Embedded content that is not what the message digest covers.
	der = foreignCMS{h: crypto.SHA256, id: person, attrs: [][]byte{contentTypeAttr(), messageDigestAttr(inner)}, content: other[:]}.build(t)
	sig, err = Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, sig.Verify(), CodeDigestMismatch)
	wantCode(t, sig.CheckDigest(other[:]), CodeDigestMismatch)

	// Never for signing.
	_, err = SignedAttributes(d[:], crypto.SHA1, person.Chain[0])
	wantCode(t, err, CodeUnsupportedAlgorithm)
	_, err = Sign(d[:], crypto.SHA1, person.Chain, person.Key)
	wantCode(t, err, CodeUnsupportedAlgorithm)
	_, err = ToBeSigned([]byte{0x31, 0}, crypto.SHA1)
	wantCode(t, err, CodeUnsupportedAlgorithm)
	if _, err := sigAlgByAlg(x509.SHA1WithRSA); CodeOf(err) != CodeUnsupportedAlgorithm {
		t.Fatalf("sigAlgByAlg(SHA1WithRSA): %v", err)
	}
}
