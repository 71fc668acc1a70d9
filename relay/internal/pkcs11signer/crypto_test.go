package pkcs11signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// TestDigestInfo checks the DigestInfo prefixes against RFC 8017 §9.2 note 1.
func TestDigestInfo(t *testing.T) {
	prefixes := map[crypto.Hash]string{
		crypto.SHA256: "3031300d060960864801650304020105000420",
		crypto.SHA384: "3041300d060960864801650304020205000430",
		crypto.SHA512: "3051300d060960864801650304020305000440",
	}
	for h, prefix := range prefixes {
		hash := bytes.Repeat([]byte{0xab}, h.Size())
		got, err := digestInfo(hash, h)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(prefix)
		want = append(want, hash...)
		if !bytes.Equal(got, want) {
			t.Errorf("%v: DigestInfo %x, want %x", h, got, want)
		}
	}
	if _, err := digestInfo(make([]byte, 32), crypto.SHA1); err == nil {
		t.Error("SHA-1 accepted")
	}
	if _, err := digestInfo(make([]byte, 31), crypto.SHA256); err == nil {
		t.Error("a 31-byte SHA-256 hash accepted")
	}
}

func TestECDSARawToDER(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("veilsign"))
	r, s, err := ecdsa.Sign(rand.Reader, key, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	s.FillBytes(raw[32:])
	der, err := ecdsaRawToDER(raw, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&key.PublicKey, hash[:], der) {
		t.Fatal("the converted signature does not verify")
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	r2, s2 := new(big.Int), new(big.Int)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(r2) || !seq.ReadASN1Integer(s2) || r2.Cmp(r) != 0 || s2.Cmp(s) != 0 {
		t.Fatal("r and s not kept")
	}
	if _, err := ecdsaRawToDER(raw[:63], &key.PublicKey); err == nil {
		t.Fatal("a 63-byte P-256 signature accepted")
	}
}

func TestBuildChain(t *testing.T) {
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	seal := pki.Seal().Chain // leaf, CA, root
	decoy := other.Seal().Chain
	// The token's order is arbitrary and it may hold unrelated certificates, including a
	// CA with the same name but another key.
	pool := []*x509.Certificate{decoy[1], seal[2], decoy[0], seal[1], seal[0], decoy[2]}
	chain := buildChain(seal[0], pool)
	if len(chain) != 3 || !chain[0].Equal(seal[0]) || !chain[1].Equal(seal[1]) || !chain[2].Equal(seal[2]) {
		t.Fatalf("chain of %d certificates, want leaf, CA, root", len(chain))
	}
	if chain := buildChain(seal[0], []*x509.Certificate{seal[0], decoy[1]}); len(chain) != 1 {
		t.Fatalf("leaf alone on the token gave a chain of %d", len(chain))
	}
}

func TestConfig(t *testing.T) {
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"no method":  {Config{Module: "/x.so", CertLabel: "a"}, "no method"},
		"bad method": {Config{Method: "itsme", Module: "/x.so", CertLabel: "a"}, "not a PKCS#11 method"},
		"no module":  {Config{Method: MethodX509, CertLabel: "a"}, "no PKCS#11 module"},
		"no label":   {Config{Method: MethodX509, Module: "/x.so"}, "no certificate or key label"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	got, err := Config{Method: MethodEID, Module: "/x.so"}.normalise()
	if err != nil || got.CertLabel != EIDCertLabel {
		t.Fatalf("eid defaults: %+v, %v", got, err)
	}
	got, err = Config{Method: MethodX509, Module: "/x.so", KeyLabel: "k"}.normalise()
	if err != nil || got.CertLabel != "k" {
		t.Fatalf("x509 defaults: %+v, %v", got, err)
	}
}
