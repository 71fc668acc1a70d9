package devpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/internal/testtool"
)

func newPKI(t *testing.T) *PKI {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func verifyChain(t *testing.T, p *PKI, id *Identity, usage x509.ExtKeyUsage) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, c := range id.Chain[1:] {
		inter.AddCert(c)
	}
	if _, err := id.Chain[0].Verify(x509.VerifyOptions{Roots: p.Roots(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Fatalf("%s: %v", id.Chain[0].Subject.CommonName, err)
	}
	if len(id.Chain) != 3 || !id.Chain[2].Equal(p.Root()) {
		t.Fatalf("%s: chain of %d, not ending in the root", id.Chain[0].Subject.CommonName, len(id.Chain))
	}
}

func TestNew(t *testing.T) {
	p := newPKI(t)
	verifyChain(t, p, p.Seal(), x509.ExtKeyUsageAny)
	verifyChain(t, p, p.TSA(), x509.ExtKeyUsageTimeStamping)
	if got := p.Seal().Chain[1].Subject.CommonName; got != "veilsign Dev Qualified CA" {
		t.Fatalf("intermediate %q", got)
	}
	tsa := p.TSA().Certificate()
	var critical bool
	for _, e := range tsa.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = e.Critical
		}
	}
	if !critical || len(tsa.ExtKeyUsage) != 1 || tsa.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		t.Fatalf("TSA extended key usage %v, critical %v", tsa.ExtKeyUsage, critical)
	}
	if p.Root().NotAfter.Sub(p.Root().NotBefore) < 9*365*24*time.Hour {
		t.Fatal("the root lives less than 9 years")
	}
	// The returned identity is a copy: changing it does not change the PKI.
	s := p.Seal()
	s.Chain[0] = nil
	if p.Seal().Chain[0] == nil {
		t.Fatal("Seal exposes the PKI's own chain")
	}
}

func TestMarshal(t *testing.T) {
	p := newPKI(t)
	blob, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Unmarshal(blob)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]*Identity{{p.Seal(), q.Seal()}, {p.TSA(), q.TSA()}} {
		if len(pair[0].Chain) != len(pair[1].Chain) {
			t.Fatal("chain length changed")
		}
		for i := range pair[0].Chain {
			if !pair[0].Chain[i].Equal(pair[1].Chain[i]) {
				t.Fatal("certificate changed")
			}
		}
	}
	// The reloaded PKI still works: it issues and its TSA signs.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	id, err := q.IssueQualifiedWithKey(Person{GivenName: "Jan", Surname: "Janssens", SerialNumber: "89112433518"}, key)
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, p, id, x509.ExtKeyUsageAny)

	// Another PKI's seal key under this PKI's seal certificate must be refused.
	other := newPKI(t)
	otherBlob, _ := other.Marshal()
	mixed := append(bytes.Replace(blob, sectionOf(t, blob, "seal", "PRIVATE KEY"), sectionOf(t, otherBlob, "seal", "PRIVATE KEY"), 1), '\n')
	if _, err := Unmarshal(mixed); err == nil {
		t.Fatal("a key that does not match its certificate was accepted")
	}
	if _, err := Unmarshal(blob[:len(blob)/2]); err == nil {
		t.Fatal("half a PKI was accepted")
	}

	idBlob, err := id.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	id2, err := UnmarshalIdentity(idBlob)
	if err != nil {
		t.Fatal(err)
	}
	if len(id2.Chain) != 3 || !id2.Chain[0].Equal(id.Chain[0]) || !id2.Key.Public().(*rsa.PublicKey).Equal(key.Public()) {
		t.Fatal("identity changed in a round trip")
	}
}

// sectionOf returns the PEM block of the given type and role.
func sectionOf(t *testing.T, blob []byte, role, typ string) []byte {
	t.Helper()
	begin := []byte("-----BEGIN " + typ + "-----\nRole: " + role + "\n")
	i := bytes.Index(blob, begin)
	end := []byte("-----END " + typ + "-----\n")
	j := bytes.Index(blob[i:], end)
	if i < 0 || j < 0 {
		t.Fatalf("no %s %s block", role, typ)
	}
	return blob[i : i+j+len(end)]
}

func TestTimestampOpenSSL(t *testing.T) {
	p := newPKI(t)
	openssl := testtool.Require(t, "openssl")
	imprint := sha256.Sum256([]byte("a signature value"))
	at := time.Now().Add(-time.Minute)
	token, err := p.Timestamp(imprint[:], crypto.SHA256, at)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.Time.Equal(at.UTC().Truncate(time.Second)) || !ts.Policy.Equal(TSAPolicy) || ts.SerialNumber.Sign() <= 0 ||
		!bytes.Equal(ts.HashedMessage, imprint[:]) || len(ts.Certificates) != 2 {
		t.Fatalf("token: time %v policy %v serial %v certs %d", ts.Time, ts.Policy, ts.SerialNumber, len(ts.Certificates))
	}

	dir := t.TempDir()
	tokenFile := write(t, dir, "token.der", token)
	root := write(t, dir, "root.pem", p.RootPEM())
	verify := func(digest []byte) (string, bool) {
		out, err := exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tokenFile, "-digest", hex.EncodeToString(digest), "-CAfile", root).CombinedOutput()
		return string(out), err == nil && strings.Contains(string(out), "Verification: OK")
	}
	if out, ok := verify(imprint[:]); !ok {
		t.Fatalf("openssl ts -verify: %s", out)
	}
	wrong := sha256.Sum256([]byte("another"))
	if out, ok := verify(wrong[:]); ok || !strings.Contains(out, "message imprint mismatch") {
		t.Fatalf("openssl ts -verify on another imprint: %s", out)
	}
	text, err := exec.Command(openssl, "ts", "-reply", "-token_in", "-in", tokenFile, "-token_out", "-text").CombinedOutput()
	if err != nil || !strings.Contains(string(text), "Policy OID: 2.999.3161.1") || !strings.Contains(string(text), "CN=veilsign Dev TSA") {
		t.Fatalf("openssl ts -reply -text: %v\n%s", err, text)
	}

	if _, err := p.Timestamp(imprint[:20], crypto.SHA256, at); err == nil {
		t.Fatal("an imprint of the wrong length was accepted")
	}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNationalNumber(t *testing.T) {
	// The example of itsme's documentation.
	if !ValidNationalNumber("89112433518") {
		t.Fatal("89112433518 is valid")
	}
	for _, bad := range []string{"89112433519", "8911243351", "891124335180", "8911243351a", ""} {
		if ValidNationalNumber(bad) {
			t.Fatalf("%q accepted", bad)
		}
	}
	// Recompute the check with big integers, from the rule as the registry states it.
	check := func(nn string, born2000 bool) bool {
		base := nn[:9]
		if born2000 {
			base = "2" + base
		}
		n, _ := new(big.Int).SetString(base, 10)
		c := new(big.Int).Sub(big.NewInt(97), new(big.Int).Mod(n, big.NewInt(97)))
		return nn[9:] == strings.Repeat("0", 2-len(c.String()))+c.String()
	}
	for _, birth := range []time.Time{
		time.Date(1989, 11, 24, 0, 0, 0, 0, time.UTC),
		time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2012, 7, 14, 0, 0, 0, 0, time.UTC),
	} {
		for seq := -3; seq < 1200; seq += 7 {
			for _, male := range []bool{true, false} {
				nn := NationalNumber(birth, seq, male)
				if len(nn) != 11 || nn[:6] != birth.Format("060102") || !check(nn, birth.Year() >= 2000) || !ValidNationalNumber(nn) {
					t.Fatalf("NationalNumber(%v, %d, %v) = %s", birth, seq, male, nn)
				}
				counter := int(nn[6]-'0')*100 + int(nn[7]-'0')*10 + int(nn[8]-'0')
				if counter < 1 || counter > 998 || (counter%2 == 1) != male {
					t.Fatalf("counter %03d for male=%v", counter, male)
				}
			}
		}
	}
	if got := NationalNumber(time.Date(1989, 11, 24, 0, 0, 0, 0, time.UTC), 168, true); got != "89112433518" {
		t.Fatalf("the documented example: got %s", got)
	}
}
