package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"os/exec"
	"strings"
	"testing"

	"github.com/digitorus/pkcs7"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

func TestSignInterop(t *testing.T) {
	pki, person := dev(t)
	for _, tc := range []struct {
		name string
		id   *devpki.Identity
		h    crypto.Hash
		alg  x509.SignatureAlgorithm
	}{
		{"rsa-sha256", person, crypto.SHA256, x509.SHA256WithRSA},
		{"rsa-sha512", person, crypto.SHA512, x509.SHA512WithRSA},
		{"ecdsa-sha256", pki.Seal(), crypto.SHA256, x509.ECDSAWithSHA256},
		{"ecdsa-sha384", pki.Seal(), crypto.SHA384, x509.ECDSAWithSHA384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, d := content(t, tc.h)
			der, err := Sign(d, tc.h, tc.id.Chain, tc.id.Key)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(); err != nil {
				t.Fatal(err)
			}
			if err := sig.CheckDigest(d); err != nil {
				t.Fatal(err)
			}
			if sig.SignatureAlgorithm != tc.alg || sig.DigestAlgorithm != tc.h || sig.Signer != sig.Certificates[0] ||
				!sig.Signer.Equal(tc.id.Chain[0]) || len(sig.Certificates) != 3 || !sig.SigningCertMatch {
				t.Fatalf("parsed %v %v signer %v certs %d match %v", sig.SignatureAlgorithm, sig.DigestAlgorithm, sig.Signer.Subject, len(sig.Certificates), sig.SigningCertMatch)
			}

			// A document changed after signing: typed error here, refusal by openssl.
			tampered := append([]byte(nil), d...)
			tampered[0] ^= 1
			wantCode(t, sig.CheckDigest(tampered), CodeDigestMismatch)

			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatalf("digitorus/pkcs7 cannot parse: %v", err)
			}
			p7.Content = data
			if err := p7.VerifyWithChain(pki.Roots()); err != nil {
				t.Fatalf("digitorus/pkcs7 rejects: %v", err)
			}
			p7.Content = append([]byte("x"), data...)
			if err := p7.VerifyWithChain(pki.Roots()); err == nil {
				t.Fatal("digitorus/pkcs7 accepted other content")
			}

			if out, ok := opensslVerify(t, pki, der, data); !ok {
				t.Fatalf("openssl rejects: %s", out)
			}
			// The refusal must be about the content, not a usage error of the test.
			if out, ok := opensslVerify(t, pki, der, append([]byte("x"), data...)); ok || !strings.Contains(out, "content verify error") {
				t.Fatalf("openssl on other content: %s", out)
			}
		})
	}
}

// TestRemoteSigner plays the relay: hand the hash of the signed attributes to a "remote"
// signer that only returns a raw signature value, as CSC signHash does.
func TestRemoteSigner(t *testing.T) {
	pki, person := dev(t)
	rsaKey := person.Key.(*rsa.PrivateKey)
	seal := pki.Seal()
	ecKey := seal.Key.(*ecdsa.PrivateKey)
	for _, tc := range []struct {
		name  string
		id    *devpki.Identity
		h     crypto.Hash
		alg   x509.SignatureAlgorithm
		raw   func(hash []byte, h crypto.Hash) ([]byte, error)
		pkcs7 bool // digitorus/pkcs7 has no RSA-PSS
	}{
		{"pkcs1-sha256", person, crypto.SHA256, x509.SHA256WithRSA, func(hash []byte, h crypto.Hash) ([]byte, error) {
			return rsa.SignPKCS1v15(rand.Reader, rsaKey, h, hash)
		}, true},
		{"pkcs1-sha384", person, crypto.SHA384, x509.SHA384WithRSA, func(hash []byte, h crypto.Hash) ([]byte, error) {
			return rsa.SignPKCS1v15(rand.Reader, rsaKey, h, hash)
		}, true},
		{"pss-sha256", person, crypto.SHA256, x509.SHA256WithRSAPSS, func(hash []byte, h crypto.Hash) ([]byte, error) {
			return rsa.SignPSS(rand.Reader, rsaKey, h, hash, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}, false},
		{"ecdsa-raw-r-s", seal, crypto.SHA256, x509.ECDSAWithSHA256, func(hash []byte, h crypto.Hash) ([]byte, error) {
			// PKCS#11 style fixed-size r||s, which Assemble must convert to DER.
			r, s, err := ecdsa.Sign(rand.Reader, ecKey, hash)
			if err != nil {
				return nil, err
			}
			out := make([]byte, 64)
			r.FillBytes(out[:32])
			s.FillBytes(out[32:])
			return out, nil
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, d := content(t, tc.h)
			attrs, err := SignedAttributes(d, tc.h, tc.id.Chain[0])
			if err != nil {
				t.Fatal(err)
			}
			tbs, err := ToBeSigned(attrs, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			value, err := tc.raw(tbs, tc.h)
			if err != nil {
				t.Fatal(err)
			}
			der, err := Assemble(attrs, tc.h, tc.alg, value, tc.id.Chain)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if sig.SignatureAlgorithm != tc.alg || string(sig.SignedAttributes) != string(attrs) {
				t.Fatalf("algorithm %v, attributes kept: %v", sig.SignatureAlgorithm, string(sig.SignedAttributes) == string(attrs))
			}
			if out, ok := opensslVerify(t, pki, der, data); !ok {
				t.Fatalf("openssl rejects: %s", out)
			}
			if tc.pkcs7 {
				p7, err := pkcs7.Parse(der)
				if err != nil {
					t.Fatal(err)
				}
				p7.Content = data
				if err := p7.VerifyWithChain(pki.Roots()); err != nil {
					t.Fatalf("digitorus/pkcs7 rejects: %v", err)
				}
			}
		})
	}
}

func TestAssembleRefuses(t *testing.T) {
	pki, person := dev(t)
	_, d := content(t, crypto.SHA256)
	attrs, err := SignedAttributes(d, crypto.SHA256, person.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	tbs, _ := ToBeSigned(attrs, crypto.SHA256)
	good, err := person.Key.Sign(rand.Reader, tbs, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}

	// A remote signer that signed something else (another hash).
	other, _ := person.Key.Sign(rand.Reader, sha256Of([]byte("other")), crypto.SHA256)
	_, err = Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, other, person.Chain)
	wantCode(t, err, CodeSignatureInvalid)

	// The right signature, presented as coming from another certificate.
	_, err = Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, good, pki.Seal().Chain)
	if c := CodeOf(err); c != CodeSigningCertMismatch && c != CodeSignatureInvalid {
		t.Fatalf("another certificate: %v", err)
	}

	// The right signature by the right key, but attributes made for another certificate
	// of that key (a re-issued one): the signing-certificate-v2 attribute must name the
	// leaf that is delivered.
	reissued, err := pki.IssueQualifiedWithKey(devpki.Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518"}, person.Key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, good, reissued.Chain)
	wantCode(t, err, CodeSigningCertMismatch)

	_, err = Assemble(attrs, crypto.SHA256, x509.SHA384WithRSA, good, person.Chain)
	wantCode(t, err, CodeUnsupportedAlgorithm)
	_, err = Assemble(attrs, crypto.SHA1, x509.SHA1WithRSA, good, person.Chain)
	wantCode(t, err, CodeUnsupportedAlgorithm)
	_, err = Assemble(attrs[1:], crypto.SHA256, x509.SHA256WithRSA, good, person.Chain)
	wantCode(t, err, CodeBadInput)
	_, err = Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, good, nil)
	wantCode(t, err, CodeBadInput)

	_, err = SignedAttributes(d[:20], crypto.SHA256, person.Chain[0])
	wantCode(t, err, CodeBadInput)
	_, err = Sign(d, crypto.SHA256, person.Chain, pki.Seal().Key)
	wantCode(t, err, CodeBadInput)

	if _, err := Assemble(attrs, crypto.SHA256, x509.SHA256WithRSA, good, person.Chain); err != nil {
		t.Fatalf("the good signature was refused: %v", err)
	}
}

// TestSignedAttributesShape checks the PAdES baseline attribute set with openssl's own
// CMS printer, so the check does not rest on our parser alone.
func TestSignedAttributesShape(t *testing.T) {
	_, person := dev(t)
	openssl := testtool.Require(t, "openssl")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		_, d := content(t, h)
		der, err := Sign(d, h, person.Chain, person.Key)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", writeFile(t, dir, "sig.der", der)).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		text := string(out)
		for _, want := range []string{"contentType", "messageDigest", "id-smime-aa-signingCertificateV2", "version: 1", "eContent: <ABSENT>"} {
			if !strings.Contains(text, want) {
				t.Errorf("%v: openssl print lacks %q", h, want)
			}
		}
		// Certificates print their extensions as "object:" too; look at signedAttrs only.
		_, attrsText, _ := strings.Cut(text, "signedAttrs:")
		attrsText, _, _ = strings.Cut(attrsText, "signatureAlgorithm:")
		if strings.Contains(attrsText, "signingTime") {
			t.Errorf("%v: a signing-time attribute is present", h)
		}
		if n := strings.Count(attrsText, "object: "); n != 3 {
			t.Errorf("%v: want 3 signed attributes, openssl shows %d:\n%s", h, n, attrsText)
		}
		// ESSCertIDv2.hashAlgorithm: omitted for its default SHA-256, explicit otherwise.
		sig, _ := Parse(der)
		hasHashAlg := strings.Contains(string(sig.SignedAttributes), string(oidBytes(t, oidSHA384)))
		if (h == crypto.SHA384) != hasHashAlg {
			t.Errorf("%v: ESSCertIDv2 hash algorithm present: %v", h, hasHashAlg)
		}
	}
}

func oidBytes(t *testing.T, oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
