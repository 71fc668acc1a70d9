package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os/exec"
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

// TestParseOpenSSL reads CAdES signatures that openssl makes (with signing-time and
// S/MIME capabilities we do not write ourselves), and refuses the BER openssl streams.
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

	_, err = Parse(sign("-stream"))
	wantCode(t, err, CodeMalformed)
}
