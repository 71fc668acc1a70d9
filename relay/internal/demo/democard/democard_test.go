//go:build cgo

package democard

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/softhsm"
	"github.com/veilsign/veilsign/relay/protocol"
)

// page answers the card's PIN prompt with pin and records the states it was shown.
type page struct {
	pin    string
	states []string
}

func (p *page) Status(state, _, _ string) { p.states = append(p.states, state) }
func (p *page) OTP(context.Context) (string, error) {
	return p.pin, nil
}

// TestCardSignsWithPIN makes the demo card on a real SoftHSM2 token and signs through it:
// the certificate is the holder's qualified one from the dev CA, each signature asks the
// page for the PIN, the signature verifies with the certificate's key, and a wrong PIN
// signs nothing.
func TestCardSignsWithPIN(t *testing.T) {
	testtool.Require(t, "softhsm2-util")
	if _, _, err := softhsm.Find(); err != nil {
		if testtool.InCI() {
			t.Fatal(err)
		}
		t.Skipf("SKIPPED: %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", "") // New sets it for the process; restored after the test
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	card, err := New(t.TempDir()+"/card", pki)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := card.(interface{ Close() error }); ok {
		t.Cleanup(func() { c.Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg := &page{pin: PIN}
	chain, _, err := card.Certificate(ctx, backend.Signer{Name: "Someone Else"}, pg)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 || chain[0].Subject.CommonName != Holder || chain[0].Subject.SerialNumber == "" {
		t.Fatalf("chain of %d, leaf subject %v: want the holder's certificate with a national number", len(chain), chain[0].Subject)
	}
	hash := sha256.Sum256([]byte("signed attributes"))
	for i := 0; i < 2; i++ {
		res, err := card.Sign(ctx, backend.Request{Chain: chain, Hash: hash[:], HashAlg: crypto.SHA256, Label: "contract.pdf"}, pg)
		if err != nil {
			t.Fatalf("signature %d: %v", i+1, err)
		}
		if err := rsa.VerifyPKCS1v15(chain[0].PublicKey.(*rsa.PublicKey), crypto.SHA256, hash[:], res.Signature); err != nil {
			t.Fatalf("signature %d does not verify with the card's certificate: %v", i+1, err)
		}
	}
	asked := 0
	for _, s := range pg.states {
		if s == protocol.StateOTPSent {
			asked++
		}
	}
	if asked != 2 {
		t.Fatalf("the PIN was asked %d times for 2 signatures (states %v)", asked, pg.states)
	}
	_, err = card.Sign(ctx, backend.Request{Chain: chain, Hash: hash[:], HashAlg: crypto.SHA256}, &page{pin: "0000"})
	if err == nil {
		t.Fatal("a wrong PIN signed")
	}
	if !strings.Contains(err.Error(), "wrong PIN") {
		t.Fatalf("a wrong PIN gave %q; the signer must be told the PIN was wrong", err)
	}
}
