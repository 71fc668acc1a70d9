package cms

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/internal/testtool"
	"golang.org/x/crypto/cryptobyte"
)

func TestTimestamp(t *testing.T) {
	pki, person := dev(t)
	data, d := content(t, crypto.SHA256)
	der, err := Sign(d, crypto.SHA256, person.Chain, person.Key)
	if err != nil {
		t.Fatal(err)
	}
	imprint, err := TimestampImprint(der, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	token, err := pki.Timestamp(imprint, crypto.SHA256, at)
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := AddTimestamp(der, token)
	if err != nil {
		t.Fatal(err)
	}

	orig, _ := Parse(der)
	sig, err := Parse(stamped)
	if err != nil {
		t.Fatal(err)
	}
	ts := sig.Timestamp
	if ts == nil || ts.Err != nil || !ts.ImprintValid || !ts.Time.Equal(at) || !strings.Contains(ts.TSAName, "veilsign Dev TSA") ||
		!bytes.Equal(ts.Token, token) || ts.Hash != crypto.SHA256 {
		t.Fatalf("time-stamp after round trip: %+v", ts)
	}
	if !bytes.Equal(sig.SignedAttributes, orig.SignedAttributes) || !bytes.Equal(sig.SignatureValue, orig.SignatureValue) {
		t.Fatal("adding the time-stamp changed what is signed")
	}
	if err := sig.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := sig.CheckDigest(d); err != nil {
		t.Fatal(err)
	}

	// Outside tools still accept the stamped signature, and openssl accepts the token for
	// exactly this imprint.
	if out, ok := opensslVerify(t, pki, stamped, data); !ok {
		t.Fatalf("openssl rejects the stamped signature: %s", out)
	}
	p7, err := pkcs7.Parse(stamped)
	if err != nil {
		t.Fatal(err)
	}
	p7.Content = data
	if err := p7.VerifyWithChain(pki.Roots()); err != nil {
		t.Fatalf("digitorus/pkcs7 rejects the stamped signature: %v", err)
	}
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	tsVerify := func(digest []byte) (string, bool) {
		out, err := exec.Command(openssl, "ts", "-verify", "-token_in", "-in", writeFile(t, dir, "token.der", token),
			"-digest", hex.EncodeToString(digest), "-CAfile", writeFile(t, dir, "root.pem", pki.RootPEM())).CombinedOutput()
		return string(out), err == nil && strings.Contains(string(out), "Verification: OK")
	}
	if out, ok := tsVerify(imprint); !ok {
		t.Fatalf("openssl ts rejects the token: %s", out)
	}
	if out, ok := tsVerify(sha256Of(imprint)); ok || !strings.Contains(out, "message imprint mismatch") {
		t.Fatalf("openssl ts on another imprint: %s", out)
	}

	_, err = AddTimestamp(stamped, token)
	wantCode(t, err, CodeTimestampPresent)

	other, err := pki.Timestamp(sha256Of([]byte("another signature")), crypto.SHA256, at)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AddTimestamp(der, other)
	wantCode(t, err, CodeTimestampMismatch)
	_, err = AddTimestamp(der, []byte{0x30, 0x03, 0x02, 0x01, 0x01})
	wantCode(t, err, CodeTimestampInvalid)

	// A token smuggled in without AddTimestamp: Parse reads it, Verify refuses it.
	orig.sd.si.unsigned = append(orig.sd.si.unsigned, encodeAttribute(oidAttrSignatureTSToken, func(b *cryptobyte.Builder) { b.AddBytes(other) }))
	smuggled, err := orig.sd.marshal()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := Parse(smuggled)
	if err != nil {
		t.Fatal(err)
	}
	if bad.Timestamp == nil || bad.Timestamp.ImprintValid {
		t.Fatalf("smuggled token: %+v", bad.Timestamp)
	}
	wantCode(t, bad.Verify(), CodeTimestampMismatch)
}

func TestTimestampOtherHash(t *testing.T) {
	pki, person := dev(t)
	_, d := content(t, crypto.SHA256)
	der, _ := Sign(d, crypto.SHA256, person.Chain, person.Key)
	imprint, err := TimestampImprint(der, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	token, err := pki.Timestamp(imprint, crypto.SHA512, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := AddTimestamp(der, token)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := Parse(stamped)
	if sig.Timestamp.Hash != crypto.SHA512 || sig.Verify() != nil {
		t.Fatalf("SHA-512 time-stamp: %+v", sig.Timestamp)
	}
}

// TestTimestampNotFromTSA: a token signed by a certificate without the time-stamping usage
// (here the seal) is not a time-stamp, whatever it says.
func TestTimestampNotFromTSA(t *testing.T) {
	pki, person := dev(t)
	_, d := content(t, crypto.SHA256)
	der, _ := Sign(d, crypto.SHA256, person.Chain, person.Key)
	imprint, _ := TimestampImprint(der, crypto.SHA256)
	seal := pki.Seal()
	req := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: imprint, Time: time.Now().UTC().Truncate(time.Second),
		Policy: []int{2, 999, 1}, AddTSACertificate: true}
	resp, err := req.CreateResponseWithOpts(seal.Chain[0], seal.Key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AddTimestamp(der, parsed.RawToken)
	wantCode(t, err, CodeTimestampInvalid)
}
