package csc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
	"github.com/veilsign/veilsign/relay/protocol"
)

var (
	oidQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

var alice = backend.Signer{ID: "account-4711", Name: "Alice Peeters", Email: "alice@example.test"}

func addAlice(t *testing.T, e *env) string {
	t.Helper()
	nn := devpki.NationalNumber(time.Date(1989, 11, 24, 0, 0, 0, 0, time.UTC), 168, false)
	if err := e.sim.AddUser(alice.ID, devpki.Person{GivenName: "Alice", Surname: "Peeters", SerialNumber: nn, Locality: "Brussel"}); err != nil {
		t.Fatal(err)
	}
	return nn
}

// certificate runs Certificate with a phone that approves (consenting the first time).
func certificate(t *testing.T, e *env) ([]*x509.Certificate, string) {
	t.Helper()
	in := e.interact(approve)
	chain, cred, err := e.backend.Certificate(e.ctx(), alice, in)
	if err != nil {
		t.Fatalf("Certificate: %v (browser: %v)", err, in.browserErr())
	}
	if err := in.browserErr(); err != nil {
		t.Fatal(err)
	}
	return chain, cred
}

func subjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oid) {
			s, _ := a.Value.(string)
			return s
		}
	}
	return ""
}

func TestFullFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	nn := addAlice(t, e)

	// Dance 1, first time: the phone shows the one-time consent before the identification.
	sawConsent := false
	in := e.interact(func(e *env, id string) error {
		page := e.get("/app?user=" + alice.ID)
		sawConsent = strings.Contains(page, "Create your qualified certificate")
		if err := e.appAnswer("approve", id, testPIN, false, http.StatusBadRequest); err != nil {
			return err // without the consent ticked, the approval is refused
		}
		return approve(e, id)
	})
	chain, cred, err := e.backend.Certificate(e.ctx(), alice, in)
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	if err := in.browserErr(); err != nil {
		t.Fatal(err)
	}
	if !sawConsent {
		t.Error("the first identification did not show the certificate consent")
	}
	if got := in.seen(); len(got) != 1 || got[0] != protocol.StateAwaitingConsent {
		t.Errorf("statuses %v, want [awaiting-consent]", got)
	}
	leaf := chain[0]
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("leaf key %T, want RSA-2048", leaf.PublicKey)
	}
	if !slices.ContainsFunc(leaf.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(oidQCStatements) }) {
		t.Error("the certificate has no QCStatements")
	}
	if got := subjectAttr(leaf, oidSerialNumber); got != nn {
		t.Errorf("subject serialNumber %q, want the national number %q", got, nn)
	}
	if len(chain) != 3 || !chain[len(chain)-1].Equal(e.pki.Root()) {
		t.Errorf("chain of %d certificates does not end at the dev root", len(chain))
	}

	// A second identification within the hour reuses the access token: no dance.
	in2 := e.interact(approve)
	chain2, cred2, err := e.backend.Certificate(e.ctx(), alice, in2)
	if err != nil || cred2 != cred || !chain2[0].Equal(leaf) {
		t.Fatalf("second Certificate: %v", err)
	}
	if len(in2.seen()) != 0 {
		t.Errorf("the second identification asked the signer again: %v", in2.seen())
	}

	// Dance 2: sign the hash of real signed attributes, and assemble a CMS with it.
	digest := make([]byte, 32)
	rand.Read(digest)
	attrs, err := cms.SignedAttributes(digest, crypto.SHA256, leaf)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := cms.ToBeSigned(attrs, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var shown string
	in3 := e.interact(func(e *env, id string) error {
		for _, p := range e.sim.Pending() {
			if p.ID == id {
				shown = p.Description
			}
		}
		return approve(e, id)
	})
	res, err := e.backend.Sign(e.ctx(), backend.Request{
		Signer: alice, Chain: chain, Hash: tbs, HashAlg: crypto.SHA256,
		Label: "Huurcontract – Łódź – Erdős “2026”", Credential: cred,
	}, in3)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := in3.browserErr(); err != nil {
		t.Fatal(err)
	}
	if want := `Huurcontract - Lódz - Erdos "2026"`; shown != want {
		t.Errorf("the app showed %q, want %q", shown, want)
	}
	if got := in3.seen(); !slices.Equal(got, []string{protocol.StateAwaitingApproval, protocol.StateSigning}) {
		t.Errorf("statuses %v", got)
	}
	der, err := cms.Assemble(attrs, crypto.SHA256, res.Algorithm, res.Signature, chain)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	sig, err := cms.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := sig.CheckDigest(digest); err != nil {
		t.Fatal(err)
	}
	if !sig.Signer.Equal(leaf) || !sig.SigningCertMatch {
		t.Error("the CMS does not name the itsme certificate")
	}

	// After the hour the token is gone: identifying again is a new dance (no consent).
	e.clock.Advance(3601 * time.Second)
	in4 := e.interact(approve)
	if _, _, err := e.backend.Certificate(e.ctx(), alice, in4); err != nil {
		t.Fatal(err)
	}
	if err := in4.browserErr(); err != nil {
		t.Fatal(err)
	}
	if len(in4.seen()) != 1 {
		t.Errorf("after expiry: statuses %v, want a new dance", in4.seen())
	}
}

// TestSignRefusals maps what goes wrong on the phone and at the service to backend errors.
func TestSignRefusals(t *testing.T) {
	e := newEnv(t, envOptions{approvalTimeout: 2 * time.Second})
	addAlice(t, e)
	chain, cred := certificate(t, e)
	hash := make([]byte, 32)
	rand.Read(hash)
	req := backend.Request{Signer: alice, Chain: chain, Hash: hash, HashAlg: crypto.SHA256, Label: "Contract", Credential: cred}

	wrongPIN := func(e *env, id string) error {
		if err := e.appAnswer("approve", id, "00000", false, http.StatusForbidden); err != nil {
			return err
		}
		if err := e.sim.Approve(id, "11111"); !errors.Is(err, itsmesim.ErrWrongPIN) {
			return errors.New("Approve with a wrong PIN: " + errString(err))
		}
		return e.appAnswer("approve", id, "99999", false, http.StatusForbidden) // third: blocked
	}
	cases := []struct {
		name  string
		act   phone
		label string
		ctx   time.Duration
		want  error
	}{
		{"wrong PIN three times", wrongPIN, "Contract", 0, backend.ErrRefused},
		{"decline", decline, "Contract", 0, backend.ErrRefused},
		{"approval timeout", ignore, "Contract", 0, backend.ErrTimeout},
		{"context deadline", ignore, "Contract", 500 * time.Millisecond, backend.ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := e.ctx()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			r := req
			r.Label = c.label
			in := e.interact(c.act)
			_, err := e.backend.Sign(ctx, r, in)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ce *Error
			if c.ctx == 0 && !errors.As(err, &ce) {
				t.Errorf("%v carries no *csc.Error", err)
			}
			if c.ctx == 0 {
				if err := in.browserErr(); err != nil {
					t.Error(err)
				}
			}
		})
	}

	t.Run("label not showable", func(t *testing.T) {
		r := req
		r.Label = "合同 2026"
		in := e.interact(approve)
		_, err := e.backend.Sign(e.ctx(), r, in)
		var te *TextError
		if !errors.Is(err, backend.ErrRefused) || !errors.As(err, &te) || te.Rune != '合' {
			t.Fatalf("err = %v, want ErrRefused with a TextError", err)
		}
		if len(in.seen()) != 0 {
			t.Error("the signer was asked although the label cannot be shown")
		}
	})

	t.Run("expired SAD", func(t *testing.T) {
		in := e.interact(approve)
		// Between the token exchange and signHash, an hour passes.
		in.onStatus = func(state string) {
			if state == protocol.StateSigning {
				e.clock.Advance(3601 * time.Second)
			}
		}
		_, err := e.backend.Sign(e.ctx(), req, in)
		if !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, ErrExpired) {
			t.Fatalf("err = %v, want ErrUnavailable and ErrExpired", err)
		}
		if err := in.browserErr(); err != nil {
			t.Error(err)
		}
	})

	t.Run("replayed account_token", func(t *testing.T) {
		// A browser that swaps in an account_token already used: the service refuses it
		// and says so through the redirect.
		used, err := e.backend.Client().AccountToken(alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.backend.Client().AuthorizeURL(ScopeService, "first-use", used, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, err := e.browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		first.Body.Close()
		if first.StatusCode != http.StatusOK {
			t.Fatalf("first use of the account_token: HTTP %d", first.StatusCode)
		}
		in := e.interact(approve)
		replayer := &replayInteraction{interaction: in, token: used}
		_, err = e.backend.Sign(e.ctx(), req, replayer)
		var ce *Error
		if !errors.Is(err, backend.ErrUnavailable) || !errors.As(err, &ce) || ce.Code != "invalid_request" || !strings.Contains(ce.Description, "replay") {
			t.Fatalf("err = %v, want ErrUnavailable with invalid_request (replay)", err)
		}
	})
}

// replayInteraction rewrites the authorise URL's account_token before the browser opens it.
type replayInteraction struct {
	*interaction
	token string
}

func (r *replayInteraction) Status(state, u, msg string) {
	if u != "" {
		q := query(r.e.t, u)
		q.Set("account_token", r.token)
		u = u[:strings.Index(u, "?")+1] + q.Encode()
	}
	r.interaction.Status(state, u, msg)
}

// get fetches a page of the simulator.
func (e *env) get(path string) string {
	resp, err := http.Get(e.simURL + path)
	if err != nil {
		e.t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
