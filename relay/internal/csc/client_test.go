package csc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// code runs one dance with the client alone and returns the redirect's parameters.
func (e *env) code(c *Client, scope, sub string, extra url.Values, act phone) url.Values {
	e.t.Helper()
	tok, err := c.AccountToken(sub)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := c.AuthorizeURL(scope, "st-"+scope, tok, extra)
	if err != nil {
		e.t.Fatal(err)
	}
	loc, err := e.authorize(u, act)
	if err != nil {
		e.t.Fatal(err)
	}
	q := query(e.t, loc)
	if q.Get("state") != "st-"+scope {
		e.t.Fatalf("redirect %s lost the state", loc)
	}
	return q
}

// session is a client with a service token and the user's credential, after a first
// identification through the backend (which issued the certificate).
func (e *env) session(t *testing.T) (*Client, *Token, string, *x509.Certificate) {
	t.Helper()
	addAlice(t, e)
	chain, cred := certificate(t, e)
	c := e.backend.Client()
	tok, err := c.Token(e.ctx(), e.code(c, ScopeService, alice.ID, nil, approve).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	return c, tok, cred, chain[0]
}

func (e *env) sad(c *Client, cred string, hashes [][]byte, description string) *Token {
	e.t.Helper()
	extra, err := c.CredentialParams(cred, hashes, description)
	if err != nil {
		e.t.Fatal(err)
	}
	q := e.code(c, ScopeCredential, alice.ID, extra, approve)
	if q.Get("error") != "" {
		e.t.Fatalf("credential dance: %s: %s", q.Get("error"), q.Get("error_description"))
	}
	sad, err := c.Token(e.ctx(), q.Get("code"))
	if err != nil {
		e.t.Fatal(err)
	}
	return sad
}

func wantCSCError(t *testing.T, err error, code, descPart string) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Description, descPart) {
		t.Fatalf("err = %v, want %s (%q)", err, code, descPart)
	}
	return ce
}

func TestInfo(t *testing.T) {
	e := newEnv(t, envOptions{})
	info, err := e.backend.Client().Info(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if info.OAuth2 != e.simURL || info.Region != "BE" || len(info.AuthType) != 1 || info.AuthType[0] != "oauth2code" {
		t.Errorf("info %+v", info)
	}
}

// TestHashBinding: the SAD covers exactly the authorised bytes, whatever their encoding.
func TestHashBinding(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, tok, cred, leaf := e.session(t)
	// 0xfb 0xff… encodes with '+' and '/' in base64 and '-' and '_' in base64url: the
	// authorise URL and signHash carry different strings for the same bytes.
	authorised := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	if base64.StdEncoding.EncodeToString(authorised) == base64.RawURLEncoding.EncodeToString(authorised) {
		t.Fatal("the test hash encodes the same in both alphabets")
	}
	other := make([]byte, 32)
	rand.Read(other)
	sad := e.sad(c, cred, [][]byte{authorised}, "Contract")

	_, err := c.SignHash(e.ctx(), tok.AccessToken, cred, sad.AccessToken, [][]byte{other}, OIDSHA256WithRSA)
	wantCSCError(t, err, "invalid_request", "not authorised")

	sigs, err := c.SignHash(e.ctx(), tok.AccessToken, cred, sad.AccessToken, [][]byte{authorised}, OIDSHA256WithRSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, authorised, sigs[0]); err != nil {
		t.Fatal(err)
	}
	// numSignatures was 1: the SAD is spent.
	_, err = c.SignHash(e.ctx(), tok.AccessToken, cred, sad.AccessToken, [][]byte{authorised}, OIDSHA256WithRSA)
	wantCSCError(t, err, "invalid_request", "numSignatures")

	// The SAD as the bearer (no service token) is accepted too.
	sad2 := e.sad(c, cred, [][]byte{other}, "")
	if _, err := c.SignHash(e.ctx(), sad2.AccessToken, cred, sad2.AccessToken, [][]byte{other}, OIDSHA256WithRSA); err != nil {
		t.Fatal(err)
	}
}

func TestMultiHash(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, tok, cred, leaf := e.session(t)
	hashes := make([][]byte, 3)
	for i := range hashes {
		hashes[i] = make([]byte, 32)
		rand.Read(hashes[i])
	}
	sad := e.sad(c, cred, hashes, "Three documents")
	sigs, err := c.SignHash(e.ctx(), tok.AccessToken, cred, sad.AccessToken, hashes, OIDSHA256WithRSA)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, h, sigs[i]); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}

	many := make([][]byte, 71)
	for i := range many {
		many[i] = bytes.Repeat([]byte{byte(i)}, 32)
	}
	if _, err := c.CredentialParams(cred, many, "x"); !errors.Is(err, ErrTooManyHashes) {
		t.Errorf("CredentialParams(71 hashes) = %v", err)
	}
	if _, err := c.SignHash(e.ctx(), tok.AccessToken, cred, sad.AccessToken, many, OIDSHA256WithRSA); !errors.Is(err, ErrTooManyHashes) {
		t.Errorf("SignHash(71 hashes) = %v", err)
	}
	// A client whose profile allows more is stopped by the service.
	p := ItsmeProfile()
	p.MaxHashes = 100
	loose, err := NewClient(e.config(p, e.relayURL+callbackPath))
	if err != nil {
		t.Fatal(err)
	}
	extra, err := loose.CredentialParams(cred, many, "x")
	if err != nil {
		t.Fatal(err)
	}
	q := e.code(loose, ScopeCredential, alice.ID, extra, approve)
	if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "70") {
		t.Errorf("71 hashes: redirect %v", q)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, tok, cred, _ := e.session(t)
	hash := bytes.Repeat([]byte{7}, 32)
	sad := e.sad(c, cred, [][]byte{hash}, "Contract")

	// Half an hour later a new service token; another half hour and the SAD is dead
	// while the bearer lives: the refusal names the SAD.
	e.clock.Advance(1800 * time.Second)
	tok2, err := c.Token(e.ctx(), e.code(c, ScopeService, alice.ID, nil, approve).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(1801 * time.Second)
	_, err = c.SignHash(e.ctx(), tok2.AccessToken, cred, sad.AccessToken, [][]byte{hash}, OIDSHA256WithRSA)
	if ce := wantCSCError(t, err, "invalid_request", "SAD expired"); !ce.Expired() || !errors.Is(err, ErrExpired) {
		t.Errorf("%v is not recognised as expired", err)
	}
	_, err = c.CredentialsList(e.ctx(), tok.AccessToken, 1)
	if ce := wantCSCError(t, err, "invalid_token", "expired"); ce.Status != http.StatusUnauthorized || !errors.Is(err, ErrExpired) {
		t.Errorf("expired access token: %v", err)
	}
	if _, err := c.CredentialsList(e.ctx(), tok2.AccessToken, 1); err != nil {
		t.Errorf("the newer token: %v", err)
	}
}

func TestTokenExchange(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, tok, _, _ := e.session(t)

	// A code is single-use; replaying it also revokes the token it gave.
	q := e.code(c, ScopeService, alice.ID, nil, approve)
	tok2, err := c.Token(e.ctx(), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(e.ctx(), q.Get("code"))
	wantCSCError(t, err, "invalid_grant", "already used")
	_, err = c.CredentialsList(e.ctx(), tok2.AccessToken, 1)
	wantCSCError(t, err, "invalid_token", "")

	// Codes are short-lived.
	q = e.code(c, ScopeService, alice.ID, nil, approve)
	e.clock.Advance(61 * time.Second)
	_, err = c.Token(e.ctx(), q.Get("code"))
	wantCSCError(t, err, "invalid_grant", "expired")

	// The form encoding works like JSON.
	p := ItsmeProfile()
	p.TokenForm = true
	form, err := NewClient(e.config(p, e.relayURL+callbackPath))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := form.Token(e.ctx(), e.code(form, ScopeService, alice.ID, nil, approve).Get("code")); err != nil {
		t.Fatalf("form-encoded token request: %v", err)
	}

	// Revoke ends a token at once.
	if err := c.Revoke(e.ctx(), tok.AccessToken, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	_, err = c.CredentialsList(e.ctx(), tok.AccessToken, 1)
	if !errors.Is(err, ErrExpired) {
		t.Errorf("revoked token: %v", err)
	}
}

func TestRedirectURI(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, _, _, _ := e.session(t)

	// An unregistered redirect_uri is refused in the browser, never redirected to.
	evil, err := NewClient(e.config(ItsmeProfile(), "http://127.0.0.1:1/steal"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := evil.AccountToken(alice.ID)
	u, _ := evil.AuthorizeURL(ScopeService, "s", tok, nil)
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("wrong redirect_uri: HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A code asked for one redirect_uri cannot be exchanged naming another.
	code := e.code(c, ScopeService, alice.ID, nil, approve).Get("code")
	_, err = evil.Token(e.ctx(), code)
	wantCSCError(t, err, "invalid_grant", "redirect_uri")
}

func TestAccountTokenRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.backend.Client()
	cases := map[string]func() string{
		"wrong secret": func() string { s, _ := AccountToken(testClientID, "guess", "u1", "", e.clock.Now()); return s },
		"wrong azp":    func() string { s, _ := AccountToken("someone-else", testSecret, "u1", "", e.clock.Now()); return s },
		"old iat": func() string {
			s, _ := AccountToken(testClientID, testSecret, "u1", "", e.clock.Now().Add(-10*time.Minute))
			return s
		},
		"alg none": func() string {
			s, _ := AccountToken(testClientID, testSecret, "u1", "", e.clock.Now())
			parts := strings.Split(s, ".")
			return b64url([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
		},
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			u, _ := c.AuthorizeURL(ScopeService, "s", make(), nil)
			loc, err := e.authorize(u, approve)
			if err != nil {
				t.Fatal(err)
			}
			if q := query(t, loc); q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "account_token") {
				t.Errorf("redirect %v", q)
			}
		})
	}
}

func TestDescriptionRefusedByService(t *testing.T) {
	e := newEnv(t, envOptions{})
	addAlice(t, e)
	_, cred := certificate(t, e)
	p := ItsmeProfile()
	p.Description = nil // send labels unchanged, to see the service refuse them
	raw, err := NewClient(e.config(p, e.relayURL+callbackPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"Σύμβαση", "Contract – 2026", strings.Repeat("x", 256)} {
		extra, err := raw.CredentialParams(cred, [][]byte{bytes.Repeat([]byte{1}, 32)}, d)
		if err != nil {
			t.Fatal(err)
		}
		q := e.code(raw, ScopeCredential, alice.ID, extra, approve)
		if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "description") {
			t.Errorf("%.20q: redirect %v", d, q)
		}
	}
}

func TestCallbackState(t *testing.T) {
	e := newEnv(t, envOptions{})
	addAlice(t, e)
	in := e.interact(approve)
	if _, _, err := e.backend.Certificate(e.ctx(), alice, in); err != nil {
		t.Fatal(err)
	}
	if err := in.browserErr(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{in.locs[0], e.relayURL + callbackPath + "?code=x&state=guessed", e.relayURL + callbackPath} {
		resp, err := e.browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400 (unknown or used state)", u, resp.StatusCode)
		}
	}
}
