package cms

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// One PKI and one RSA identity for the whole package: RSA key generation dominates the
// test time otherwise.
var fixture struct {
	once   sync.Once
	pki    *devpki.PKI
	person *devpki.Identity
	err    error
}

func dev(t testing.TB) (*devpki.PKI, *devpki.Identity) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.pki, fixture.err = devpki.New()
		if fixture.err != nil {
			return
		}
		fixture.person, fixture.err = fixture.pki.IssueQualified(devpki.Person{
			GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Locality: "Brussel",
		})
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.pki, fixture.person
}

// content returns random document bytes and their digest, standing in for the PDF byte
// ranges: the CMS code only ever sees the digest, openssl sees the bytes.
func content(t testing.TB, h crypto.Hash) ([]byte, []byte) {
	t.Helper()
	data := make([]byte, 4096)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	w := h.New()
	w.Write(data)
	return data, w.Sum(nil)
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslVerify runs `openssl cms -verify` on a detached DER signature and its content,
// trusting only the dev root, and returns openssl's output and whether it accepted.
func opensslVerify(t *testing.T, pki *devpki.PKI, sig, data []byte) (string, bool) {
	t.Helper()
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	cmd := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER",
		"-in", writeFile(t, dir, "sig.der", sig),
		"-content", writeFile(t, dir, "content.bin", data),
		"-CAfile", writeFile(t, dir, "root.pem", pki.RootPEM()),
		"-purpose", "any", "-out", filepath.Join(dir, "out.bin"))
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "Verification successful")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := CodeOf(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
