package pdfcore

import (
	"crypto"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// testPKI is one dev PKI and one qualified signer shared by the package's tests: RSA key
// generation dominates otherwise.
var testPKI = sync.OnceValues(func() (*devpki.PKI, *devpki.Identity) {
	pki, err := devpki.New()
	if err != nil {
		panic(err)
	}
	id, err := pki.IssueQualified(devpki.Person{GivenName: "Zoë", Surname: "Ångström-Łukasiewicz",
		SerialNumber: devpki.NationalNumber(time.Date(1989, 11, 24, 0, 0, 0, 0, time.UTC), 335, true)})
	if err != nil {
		panic(err)
	}
	return pki, id
})

var signTime = time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)

// signWith prepares, signs (with a B-T timestamp) and embeds one signature.
func signWith(t testing.TB, data []byte, plan *Plan, label string, id *devpki.Identity, opts Options) ([]byte, *Prepared) {
	t.Helper()
	pki, _ := testPKI()
	doc, err := Open(data)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if opts.Time.IsZero() {
		opts.Time = signTime
	}
	p, err := Prepare(doc, plan, label, id.Chain, opts)
	if err != nil {
		t.Fatalf("Prepare %s: %v", label, err)
	}
	h := p.Hash
	der, err := cms.Sign(p.Digest, h, id.Chain, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := cms.TimestampImprint(der, h)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := pki.Timestamp(imp, h, opts.Time)
	if err != nil {
		t.Fatal(err)
	}
	if der, err = cms.AddTimestamp(der, tok); err != nil {
		t.Fatal(err)
	}
	out, err := Embed(p, der)
	if err != nil {
		t.Fatalf("Embed %s: %v", label, err)
	}
	return out, p
}

// signA signs data as signer A (itsme) of a one-signer plan with a marker on page 1.
func signA(t testing.TB, data []byte) []byte {
	_, id := testPKI()
	plan := &Plan{Signers: []Signer{{Label: "A", Name: "Zoë Ångström-Łukasiewicz", Capacity: "Director", Method: MethodItsme,
		Field: &Field{Page: 1, Rect: Rect{300, 60, 520, 100}}}}}
	out, _ := signWith(t, data, plan, "A", id, Options{})
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/pdf/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var _ = crypto.SHA256
