package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
)

func TestParseFraming(t *testing.T) {
	pki, person := dev(t)
	_, d := content(t, crypto.SHA256)
	der, err := Sign(d, crypto.SHA256, person.Chain, person.Key)
	if err != nil {
		t.Fatal(err)
	}
	// A PDF /Contents string is zero padded after the CMS.
	padded := append(append([]byte(nil), der...), make([]byte, 3000)...)
	sig, err := Parse(padded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig.Raw, der) {
		t.Fatal("Raw is not the CMS without padding")
	}
	for name, in := range map[string][]byte{
		"empty":          nil,
		"truncated":      der[:len(der)-1],
		"trailing bytes": append(append([]byte(nil), der...), 0, 1),
		"certificate":    person.Chain[0].Raw,
		"too large":      make([]byte, MaxSize+1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(in)
			wantCode(t, err, CodeMalformed)
		})
	}

	// The signer's certificate left out: readable, but not verifiable.
	sig.sd.certs = nil
	for _, c := range pki.Seal().Chain {
		sig.sd.certs = append(sig.sd.certs, c.Raw...)
	}
	out, err := sig.sd.marshal()
	if err != nil {
		t.Fatal(err)
	}
	noSigner, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if noSigner.Signer != nil {
		t.Fatal("found a signer that is not there")
	}
	wantCode(t, noSigner.Verify(), CodeSignerMissing)

	// A flipped bit in the signature value.
	sig2, _ := Parse(der)
	sig2.sd.si.signature = append([]byte(nil), sig2.sd.si.signature...)
	sig2.sd.si.signature[10] ^= 0x40
	out, _ = sig2.sd.marshal()
	flipped, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, flipped.Verify(), CodeSignatureInvalid)
}

// TestParseOpenSSL reads signatures that openssl makes: CAdES (with signing-time and S/MIME
// capabilities we do not write ourselves), the BER it streams (indefinite lengths), plain
// CMS without signing-certificate attribute, without signed attributes, and with SHA-1 (where
// -cades writes the ESS signing-certificate v1 attribute).
func TestParseOpenSSL(t *testing.T) {
	pki, _ := dev(t)
	openssl := testtool.Require(t, "openssl")
	seal := pki.Seal()
	keyDER, err := x509.MarshalPKCS8PrivateKey(seal.Key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, d := content(t, crypto.SHA256)
	in := writeFile(t, dir, "content.bin", data)
	signer := writeFile(t, dir, "seal.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: seal.Chain[0].Raw}))
	key := writeFile(t, dir, "seal.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	ca := writeFile(t, dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: seal.Chain[1].Raw}))
	sign := func(extra ...string) []byte {
		args := append([]string{"cms", "-sign", "-binary", "-cades", "-md", "sha256", "-in", in,
			"-signer", signer, "-inkey", key, "-certfile", ca, "-outform", "DER"}, extra...)
		out, err := exec.Command(openssl, args...).Output()
		if err != nil {
			t.Fatalf("openssl cms -sign: %v", err)
		}
		return out
	}

	sig, err := Parse(sign())
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := sig.CheckDigest(d); err != nil {
		t.Fatal(err)
	}
	if !sig.Signer.Equal(seal.Chain[0]) || !sig.SigningCertMatch {
		t.Fatalf("signer %v, signing-certificate-v2 match %v", sig.Signer.Subject, sig.SigningCertMatch)
	}

	for _, tc := range []struct {
		name     string
		args     []string
		h        crypto.Hash
		rsa      bool // sign with the person's RSA key instead of the seal's ECDSA key
		check    func(t *testing.T, sig *Signature)
		baseline string // PAdESBaseline's code, "" for nil
	}{
		// openssl streams opaque signatures: the content is embedded in a segmented OCTET
		// STRING (adbe.pkcs7.sha1 embeds the document digest the same way).
		{"stream BER", []string{"-cades", "-stream"}, crypto.SHA256, false, func(t *testing.T, sig *Signature) {
			if !sig.HasSigningCertV2 || !sig.SigningCertMatch || sig.SigningTime.IsZero() || !bytes.Equal(sig.EncapsulatedContent, data) {
				t.Fatalf("attributes of the streamed signature: v2 %v match %v time %v", sig.HasSigningCertV2, sig.SigningCertMatch, sig.SigningTime)
			}
		}, CodeAttributeInvalid},
		{"stream BER, RSA", []string{"-cades", "-stream"}, crypto.SHA512, true, nil, CodeAttributeInvalid},
		{"plain CMS", nil, crypto.SHA384, false, func(t *testing.T, sig *Signature) {
			if sig.HasSigningCertV2 || sig.HasSigningCertV1 || !sig.HasSignedAttributes {
				t.Fatal("plain CMS read with a signing certificate attribute")
			}
		}, CodeSigningCertMismatch},
		{"no signed attributes", []string{"-noattr"}, crypto.SHA256, true, func(t *testing.T, sig *Signature) {
			if sig.HasSignedAttributes || sig.SignedAttributes != nil || len(sig.MessageDigest) != 32 {
				t.Fatalf("signed attributes %v, recovered digest %x", sig.HasSignedAttributes, sig.MessageDigest)
			}
		}, CodeAttributeInvalid},
		{"no signed attributes, streamed", []string{"-noattr", "-stream"}, crypto.SHA384, true, nil, CodeAttributeInvalid},
		{"no signed attributes, ECDSA", []string{"-noattr"}, crypto.SHA256, false, nil, CodeAttributeInvalid},
		{"SHA-1 CAdES", []string{"-cades"}, crypto.SHA1, true, func(t *testing.T, sig *Signature) {
			if !sig.HasSigningCertV1 || !sig.SigningCertV1Match || sig.SignatureAlgorithm != x509.SHA1WithRSA {
				t.Fatalf("SHA-1: v1 %v match %v algorithm %v", sig.HasSigningCertV1, sig.SigningCertV1Match, sig.SignatureAlgorithm)
			}
		}, ""},
		{"SHA-1 ECDSA", nil, crypto.SHA1, false, nil, CodeSigningCertMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := map[crypto.Hash]string{crypto.SHA1: "sha1", crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512"}[tc.h]
			signerPEM, keyPEM, caPEM := signer, key, ca
			if tc.rsa {
				_, person := dev(t)
				signerPEM = writeFile(t, dir, "person.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: person.Chain[0].Raw}))
				k, err := x509.MarshalPKCS8PrivateKey(person.Key)
				if err != nil {
					t.Fatal(err)
				}
				keyPEM = writeFile(t, dir, "person.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}))
				caPEM = writeFile(t, dir, "person-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: person.Chain[1].Raw}))
			}
			args := append([]string{"cms", "-sign", "-binary", "-md", md, "-in", in,
				"-signer", signerPEM, "-inkey", keyPEM, "-certfile", caPEM, "-outform", "DER"}, tc.args...)
			der, err := exec.Command(openssl, args...).Output()
			if err != nil {
				t.Fatalf("openssl %v: %v", args, err)
			}
			w := tc.h.New()
			w.Write(data)
			digest := w.Sum(nil)
			if strings.Contains(tc.name, "stream") {
				digest = data // embedded: CheckDigest compares with the content itself
			}
			sig, err := Parse(append(der, make([]byte, 100)...))
			if err != nil {
				t.Fatal(err)
			}
			if sig.DigestAlgorithm != tc.h || !bytes.Equal(sig.Raw, der) {
				t.Fatalf("digest algorithm %v, Raw kept: %v", sig.DigestAlgorithm, bytes.Equal(sig.Raw, der))
			}
			if tc.name == "no signed attributes, ECDSA" {
				// Without signed attributes only RSA PKCS#1 v1.5 can be checked.
				wantCode(t, sig.Verify(), CodeUnsupportedAlgorithm)
				wantCode(t, sig.CheckDigest(digest), CodeUnsupportedAlgorithm)
				wantCode(t, sig.PAdESBaseline(), CodeAttributeInvalid)
				return
			}
			if err := sig.Verify(); err != nil {
				t.Fatal(err)
			}
			if err := sig.CheckDigest(digest); err != nil {
				t.Fatal(err)
			}
			wantCode(t, sig.CheckDigest(bytes.Repeat([]byte{1}, len(digest))), CodeDigestMismatch)
			if tc.baseline == "" {
				if err := sig.PAdESBaseline(); err != nil {
					t.Fatal(err)
				}
			} else {
				wantCode(t, sig.PAdESBaseline(), tc.baseline)
			}
			if tc.check != nil {
				tc.check(t, sig)
			}
		})
	}
}
