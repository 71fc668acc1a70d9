package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/protocol"
)

// signStep runs one signature of a PDF through the relay, as the browser does: identify,
// prepare locally, send only the digest, embed the CMS after checking it.
func signStep(t *testing.T, ctx context.Context, c *client.Client, pdf []byte, plan *pdfcore.Plan, label, method string, s protocol.Signer, opts pdfcore.Options) []byte {
	t.Helper()
	chain, err := c.Identify(ctx, method, s)
	if err != nil {
		t.Fatalf("identify %s: %v", method, err)
	}
	doc, err := pdfcore.Open(pdf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pdfcore.Prepare(doc, plan, label, chain, opts)
	if err != nil {
		t.Fatalf("prepare %s: %v", label, err)
	}
	der, level, err := c.Sign(ctx, p.Digest, "sha256", "Contract 2026-114", "")
	if err != nil {
		t.Fatalf("sign %s: %v", method, err)
	}
	if level != "B-T" {
		t.Fatalf("level %q, want B-T", level)
	}
	out, err := pdfcore.Embed(p, der)
	if err != nil {
		t.Fatalf("embed %s: %v", method, err)
	}
	return out
}

// TestSignEveryMethod signs a testdata PDF by itsme (through the simulator over HTTP),
// pen and TAN (code read from the outbox); the result verifies, with timestamps, in our
// verifier and in pdfsig.
func TestSignEveryMethod(t *testing.T) {
	e := newRelay(t, envOptions{})
	ctx := testCtx(t)
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{
		{Label: "A", Name: "Jan Peeters", Capacity: "Zaakvoerder", Method: pdfcore.MethodItsme, Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 320, LLY: 60, URX: 540, URY: 100}}},
		{Label: "B", Name: "Marie Dubois", Method: pdfcore.MethodPen},
		{Label: "C", Name: "Анна Ковальчук", Method: pdfcore.MethodTAN},
	}}
	pdf := readPDF(t, "libreoffice-7.4-writer-xref-table.pdf")
	c := e.client(ctx, e.token("bt_1", []string{"itsme", "pen", "tan"}, 5))
	pdf = signStep(t, ctx, c, pdf, plan, "A", "itsme", protocol.Signer{Name: "Jan Peeters"}, pdfcore.Options{})
	pdf = signStep(t, ctx, c, pdf, plan, "B", "pen", protocol.Signer{Name: "Marie Dubois"}, pdfcore.Options{Ink: [][][2]float64{{{0, 0}, {1, 1}}}})
	c.OTP = func(ctx context.Context) (string, error) { return e.lastCode("+32 470 12 34 56"), nil }
	pdf = signStep(t, ctx, c, pdf, plan, "C", "tan", protocol.Signer{Name: "Анна Ковальчук", Phone: "+32 470 12 34 56"}, pdfcore.Options{Evidence: "SMS code to +32 ••• •• 56"})

	rep, err := pdfcore.Verify(pdf, pdfcore.VerifyOptions{Roots: e.pki.Roots()})
	if err != nil || !rep.Valid || len(rep.Signatures) != 3 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	for _, s := range rep.Signatures {
		if !s.Timestamp.Valid || s.Level != "B-T" || !s.CertificateTrusted {
			t.Fatalf("%s: timestamp %+v level %s trusted %v", s.Field, s.Timestamp, s.Level, s.CertificateTrusted)
		}
	}
	if a := rep.Signatures[0]; a.Method != "itsme" || !a.Qualified.QCCompliance || a.Signer.SerialNumber == "" {
		t.Fatalf("itsme signature: %+v", a)
	}
	pdfsig := testtool.Require(t, "pdfsig")
	path := filepath.Join(t.TempDir(), "signed.pdf")
	os.WriteFile(path, pdf, 0o644)
	out, _ := exec.Command(pdfsig, path).CombinedOutput()
	if strings.Count(string(out), "Signature is Valid.") != 3 {
		t.Fatalf("pdfsig:\n%s", out)
	}
	credits, _ := e.st.Credits(ctx, "bt_1")
	if len(credits) != 1 || credits[0].SigningOption != "itsme" || credits[0].Credits != 4.2 {
		t.Fatalf("credits %+v", credits)
	}
}

func randomDigest() []byte {
	d := make([]byte, 32)
	rand.Read(d)
	return d
}

// audits counts the audit records of a session.
func audits(t *testing.T, st store.Store, session string) int {
	a, ok := st.(interface {
		Audits(context.Context, string) ([]store.Audit, error)
	})
	if !ok {
		t.Fatal("the store cannot list audits")
	}
	list, err := a.Audits(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestReplayAfterDelivery: a sign request replayed after its CMS was delivered (and
// acknowledged) returns the same CMS, and the signer signed once.
func TestReplayAfterDelivery(t *testing.T) {
	e := newRelay(t, envOptions{})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("bt_3", []string{"pen"}, 3))
	if _, err := c.Identify(ctx, "pen", protocol.Signer{Name: "Marie"}); err != nil {
		t.Fatal(err)
	}
	d := randomDigest()
	first, _, err := c.Sign(ctx, d, "sha256", "doc", "")
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := c.Sign(ctx, d, "sha256", "doc", "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatal("the replayed request got a different CMS: the signer signed twice")
	}
	if n := audits(t, e.st, c.Session()); n != 1 {
		t.Fatalf("%d signatures booked, want 1", n)
	}
}

// TestDropWhileAwaitingApproval: the socket drops while the itsme user is approving; the
// client resumes the session and receives the signature exactly once.
func TestDropWhileAwaitingApproval(t *testing.T) {
	e := newRelay(t, envOptions{})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("bt_4", []string{"itsme"}, 3))
	if _, err := c.Identify(ctx, "itsme", protocol.Signer{Name: "Jan Peeters"}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	e.phone = func(id string) error { <-release; return e.approve(id) }
	var drops atomic.Int32
	base := c.OnStatus
	seen := map[string]bool{}
	c.OnStatus = func(st protocol.Status) {
		// A resumed session repeats the last status; like the page, open each URL once.
		if st.URL != "" && seen[st.URL] {
			st.URL = ""
		}
		seen[st.URL] = true
		base(st)
		if st.State == protocol.StateAwaitingApproval && drops.Add(1) == 1 {
			c.Drop() // the network fails while the user holds their phone
			time.AfterFunc(300*time.Millisecond, func() { close(release) })
		}
	}
	d := randomDigest()
	der, _, err := c.Sign(ctx, d, "sha256", "doc", "")
	if err != nil {
		t.Fatalf("sign after a dropped socket: %v", err)
	}
	if len(der) == 0 || drops.Load() < 1 {
		t.Fatalf("no CMS (drops %d)", drops.Load())
	}
	if n := audits(t, e.st, c.Session()); n != 1 {
		t.Fatalf("%d signatures, want exactly 1", n)
	}
}

// TestRefusals covers what must not get through: tokens, origins, frames.
func TestRefusals(t *testing.T) {
	e := newRelay(t, envOptions{})
	ctx := testCtx(t)
	expired, _ := tokenIssue(-time.Hour, audience)
	wrongAud, _ := tokenIssue(time.Hour, "another-relay")
	for name, tok := range map[string]string{"no token": "x", "expired": expired, "wrong audience": wrongAud} {
		c := &client.Client{URL: e.wsURL(), Token: tok, Retries: 1}
		err := c.Dial(ctx)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	// A page from another origin is refused at the upgrade.
	h := http.Header{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v", err)
	}
	h = http.Header{"Origin": {"https://portal.example"}}
	c := &client.Client{URL: e.wsURL(), Token: e.token("bt_5", []string{"pen"}, 1), Header: h}
	if err := c.Dial(ctx); err != nil {
		t.Fatalf("allowed origin: %v", err)
	}
	defer c.Close()
	// Hostile frames on an open session: each gets its typed error, the session stays.
	ws, _, err := websocket.Dial(ctx, e.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(s string) *protocol.Error {
		if err := ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("the relay closed the connection after %.40q: %v", s, err)
		}
		m, _ := protocol.DecodeServer(b)
		pe, _ := m.(*protocol.Error)
		return pe
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+e.token("bt_6", []string{"pen"}, 1)+`"}`)); err != nil {
		t.Fatal(err)
	}
	ws.Read(ctx) // welcome
	for frame, want := range map[string]string{
		strings.Repeat("x", protocol.MaxFrame+10):                              protocol.CodeFrameTooLarge,
		`{"type":"sign","digest":"AAAA","hashAlgorithm":"sha256","label":"x"}`: protocol.CodeBadDigest,
		`{"type":"teleport"}`:                      protocol.CodeUnknownType,
		`{"type":"otp","code":"123456","extra":1}`: protocol.CodeUnknownField,
		`[1,2,3]`: protocol.CodeMalformed,
		`{"type":"sign","digest":"` + b64(randomDigest()) + `","hashAlgorithm":"sha256","label":"x"}`: protocol.CodeOutOfOrder,
		`{"type":"identify","method":"itsme","signer":{"name":"X"}}`:                                  protocol.CodeMethodNotOffered,
	} {
		if pe := send(frame); pe == nil || pe.Code != want {
			t.Errorf("%.50q: got %+v, want %s", frame, pe, want)
		}
	}
	if e.srv.Metrics().Value("veilsign_relay_errors_total", protocol.CodeBadDigest) < 1 {
		t.Error("errors are not counted in the metrics")
	}
}

// tokenIssue makes a token valid for ttl from now (a negative ttl: expired that long ago).
func tokenIssue(ttl time.Duration, aud string) (string, error) {
	now := time.Now()
	if ttl < 0 {
		now = now.Add(ttl * 2)
		ttl = -ttl
	}
	return token.Issue(tokenKey, aud, "bt_x", []string{"pen"}, 1, ttl, now)
}

// TestLimitAndOTP: the token's signature limit holds; three wrong TAN codes end the
// attempt with a typed error.
func TestLimitAndOTP(t *testing.T) {
	e := newRelay(t, envOptions{})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("bt_7", []string{"pen", "tan"}, 1))
	if _, err := c.Identify(ctx, "pen", protocol.Signer{Name: "M"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Sign(ctx, randomDigest(), "sha256", "one", ""); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Sign(ctx, randomDigest(), "sha256", "two", "")
	if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.CodeLimitReached {
		t.Fatalf("second signature with max 1: %v", err)
	}
	c2 := e.client(ctx, e.token("bt_8", []string{"tan"}, 2))
	if _, err := c2.Identify(ctx, "tan", protocol.Signer{Name: "A", Phone: "+32 470 00 00 01"}); err != nil {
		t.Fatal(err)
	}
	c2.OTP = func(context.Context) (string, error) { return "000000", nil }
	if e.lastCode("+32 470 00 00 01") == "000000" {
		t.Skip("the random code happened to be 000000")
	}
	_, _, err = c2.Sign(ctx, randomDigest(), "sha256", "doc", "")
	if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.CodeSignerRefused {
		t.Fatalf("three wrong codes: %v", err)
	}
}

// TestTSAFallbackAndOutage: a dead first TSA is skipped; with no TSA the client gets a
// retryable tsa-unavailable and no B-T claim, and the stored signature is not re-signed.
func TestTSAFallbackAndOutage(t *testing.T) {
	dead := "http://127.0.0.1:1/tsa"
	e := newRelay(t, envOptions{tsaURLs: func(dev string) []string { return []string{dead, dev} }})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("bt_9", []string{"pen"}, 2))
	if _, err := c.Identify(ctx, "pen", protocol.Signer{Name: "M"}); err != nil {
		t.Fatal(err)
	}
	if _, lvl, err := c.Sign(ctx, randomDigest(), "sha256", "doc", ""); err != nil || lvl != "B-T" {
		t.Fatalf("with a fallback TSA: %v %s", err, lvl)
	}
	e2 := newRelay(t, envOptions{tsaURLs: func(string) []string { return []string{dead} }})
	c2 := e2.client(ctx, e2.token("bt_10", []string{"pen"}, 2))
	if _, err := c2.Identify(ctx, "pen", protocol.Signer{Name: "M"}); err != nil {
		t.Fatal(err)
	}
	d := randomDigest()
	_, _, err := c2.Sign(ctx, d, "sha256", "doc", "")
	if pe := (*protocol.Error)(nil); !errors.As(err, &pe) || pe.Code != protocol.CodeTSAUnavailable || !pe.Retryable {
		t.Fatalf("no TSA: %v", err)
	}
	// B-B was not asked for, so nothing is delivered; B-B on request works.
	if _, lvl, err := c2.Sign(ctx, randomDigest(), "sha256", "doc", "B-B"); err != nil || lvl != "B-B" {
		t.Fatalf("B-B without a TSA: %v %s", err, lvl)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
