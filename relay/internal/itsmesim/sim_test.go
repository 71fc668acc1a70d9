package itsmesim_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/csc"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
)

const (
	clientID = "partner"
	secret   = "onboarding-secret"
	redirect = "https://relay.example/v1/csc/callback?x=1"
)

type fixture struct {
	t       *testing.T
	sim     *itsmesim.Sim
	url     string
	browser *http.Client
}

func newFixture(t *testing.T, cfg itsmesim.Config) *fixture {
	t.Helper()
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg.PKI, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURIs = pki, clientID, secret, []string{redirect}
	sim, err := itsmesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, sim: sim, url: srv.URL, browser: &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// authorize opens an authorise URL with the given parameters on top of the usual ones.
func (f *fixture) authorize(sub string, params url.Values) *http.Response {
	f.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"service"}, "state": {"xyz"}}
	if sub != "" {
		tok, err := csc.AccountToken(clientID, secret, sub, "", time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		q.Set("account_token", tok)
	}
	for k, v := range params {
		q[k] = v
	}
	resp, err := f.browser.Get(f.url + "/oauth2/authorize?" + q.Encode())
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (f *fixture) do(method, path, contentType, body, bearer string) (int, string, http.Header) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := f.browser.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (f *fixture) post(path, bearer string, body any) (int, map[string]any) {
	f.t.Helper()
	b, _ := json.Marshal(body)
	status, text, _ := f.do("POST", path, "application/json", string(b), bearer)
	var out map[string]any
	json.Unmarshal([]byte(text), &out)
	return status, out
}

func location(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("HTTP %d, want a redirect", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "https://relay.example/v1/csc/callback?") {
		t.Fatalf("redirected to %s", loc)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func (f *fixture) token(code string) string {
	f.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {clientID}, "client_secret": {secret}, "redirect_uri": {redirect}}
	status, body, _ := f.do("POST", "/oauth2/token", "application/x-www-form-urlencoded", form.Encode(), "")
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.Unmarshal([]byte(body), &out)
	if status != 200 || out.TokenType != "Bearer" || out.ExpiresIn != 3600 {
		f.t.Fatalf("token: HTTP %d %s", status, body)
	}
	return out.AccessToken
}

// TestPhonePage walks a first-time user through the HTML phone with forms, as a person would.
func TestPhonePage(t *testing.T) {
	f := newFixture(t, itsmesim.Config{PIN: "13579"})
	resp := f.authorize("new-user", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: HTTP %d", resp.StatusCode)
	}
	id, wait := resp.Header.Get("X-Itsmesim-Request"), resp.Header.Get("X-Itsmesim-Wait")
	_, page, _ := f.do("GET", wait[:strings.Index(wait, "?")]+"?k=unknown", "", "", "")
	if !strings.Contains(page, "unknown") {
		t.Error("an unknown wait key is not refused")
	}
	_, app, _ := f.do("GET", "/app?user=new-user", "", "", "")
	for _, want := range []string{"Create your qualified certificate", `name="pin"`, id, "Decline"} {
		if !strings.Contains(app, want) {
			t.Errorf("the phone page lacks %q", want)
		}
	}
	p := f.sim.Pending()
	if len(p) != 1 || !p[0].FirstTime || p[0].Scope != "service" || p[0].Name == "" {
		t.Fatalf("pending %+v", p)
	}

	form := url.Values{"id": {id}, "pin": {"13579"}, "user": {"new-user"}}
	status, _, h := f.do("POST", "/app/approve", "application/x-www-form-urlencoded", form.Encode(), "")
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "consent") {
		t.Fatalf("approve without consent: HTTP %d to %s", status, h.Get("Location"))
	}
	form.Set("consent", "yes")
	if status, _, _ := f.do("POST", "/app/approve", "application/x-www-form-urlencoded", form.Encode(), ""); status != http.StatusSeeOther {
		t.Fatalf("approve: HTTP %d", status)
	}
	if len(f.sim.Pending()) != 0 {
		t.Error("the request is still pending")
	}

	wr, err := f.browser.Get(f.url + wait)
	if err != nil {
		t.Fatal(err)
	}
	wr.Body.Close()
	q := location(t, wr)
	if q.Get("state") != "xyz" || q.Get("code") == "" || q.Get("x") != "1" {
		t.Errorf("redirect %v", q)
	}
	// The code is delivered once.
	again, _ := f.browser.Get(f.url + wait)
	again.Body.Close()
	if again.StatusCode != http.StatusBadRequest {
		t.Errorf("second wait: HTTP %d", again.StatusCode)
	}

	chain := f.sim.Certificate("new-user")
	if len(chain) != 3 || !devpki.ValidNationalNumber(serialNumber(chain[0])) {
		t.Errorf("derived user certificate: %d certificates, serialNumber %q", len(chain), serialNumber(chain[0]))
	}
}

func serialNumber(c *x509.Certificate) string { return c.Subject.SerialNumber }

// TestCSCMethods runs the API with AutoApprove, as `sign --demo` does.
func TestCSCMethods(t *testing.T) {
	f := newFixture(t, itsmesim.Config{AutoApprove: true})
	access := f.token(location(t, f.authorize("bob", nil)).Get("code"))

	status, list := f.post("/csc/v1/credentials/list", access, map[string]any{"maxResults": 10})
	ids, _ := list["credentialIDs"].([]any)
	if status != 200 || len(ids) != 1 {
		t.Fatalf("credentials/list: %d %v", status, list)
	}
	cred := ids[0].(string)
	if status, _ := f.post("/csc/v1/credentials/list", access, map[string]any{"maxResults": 301}); status != 400 {
		t.Errorf("maxResults 301: HTTP %d", status)
	}
	status, info := f.post("/csc/v1/credentials/info", access, map[string]any{"credentialID": cred, "certificates": "chain", "certInfo": true})
	cert, _ := info["cert"].(map[string]any)
	certs, _ := cert["certificates"].([]any)
	if status != 200 || len(certs) != 3 || info["authMode"] != "oauth2code" || info["SCAL"] != "2" || info["multiSign"] != true {
		t.Fatalf("credentials/info: %d %v", status, info)
	}
	if from, _ := cert["validFrom"].(string); len(from) != 15 || !strings.HasSuffix(from, "Z") {
		t.Errorf("validFrom %q is not GeneralizedTime", from)
	}
	der, _ := base64.StdEncoding.DecodeString(certs[0].(string))
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	_, single := f.post("/csc/v1/credentials/info", access, map[string]any{"credentialID": cred})
	if c := single["cert"].(map[string]any)["certificates"].([]any); len(c) != 1 {
		t.Errorf("default certificates=single gave %d", len(c))
	}
	if status, _ := f.post("/csc/v1/credentials/info", access, map[string]any{"credentialID": "nope"}); status != 400 {
		t.Errorf("unknown credential: HTTP %d", status)
	}

	hashes := [][]byte{bytes.Repeat([]byte{0xfb}, 32), bytes.Repeat([]byte{0xfe}, 32)}
	params := url.Values{"scope": {"credential"}, "credentialID": {cred}, "numSignatures": {"2"}, "description": {"Deux actes"},
		"hash": {base64.RawURLEncoding.EncodeToString(hashes[0]) + "," + base64.URLEncoding.EncodeToString(hashes[1])}}
	sad := f.token(location(t, f.authorize("bob", params)).Get("code"))

	sign := func(hash ...string) (int, map[string]any) {
		return f.post("/csc/v1/signatures/signHash", access, map[string]any{"credentialID": cred, "SAD": sad, "hash": hash, "signAlgo": "1.2.840.113549.1.1.11"})
	}
	// signHash wants standard base64; the base64url string of the same bytes is refused.
	if status, out := sign(base64.RawURLEncoding.EncodeToString(hashes[0])); status != 400 || out["error"] != "invalid_request" {
		t.Errorf("base64url in signHash: %d %v", status, out)
	}
	status, out := sign(base64.StdEncoding.EncodeToString(hashes[1]), base64.StdEncoding.EncodeToString(hashes[0]))
	sigs, _ := out["signatures"].([]any)
	if status != 200 || len(sigs) != 2 {
		t.Fatalf("signHash: %d %v", status, out)
	}
	for i, h := range [][]byte{hashes[1], hashes[0]} {
		sig, _ := base64.StdEncoding.DecodeString(sigs[i].(string))
		if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, h, sig); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}

	if status, _, _ := f.do("POST", "/csc/v1/auth/revoke", "application/json", `{"token":"`+access+`","token_type_hint":"access_token"}`, access); status != http.StatusNoContent {
		t.Errorf("revoke: HTTP %d", status)
	}
	if status, out := f.post("/csc/v1/credentials/list", access, map[string]any{}); status != 401 || out["error"] != "invalid_token" {
		t.Errorf("after revoke: %d %v", status, out)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	f := newFixture(t, itsmesim.Config{AutoApprove: true})
	access := f.token(location(t, f.authorize("carol", nil)).Get("code"))
	_, list := f.post("/csc/v1/credentials/list", access, map[string]any{})
	cred := list["credentialIDs"].([]any)[0].(string)
	h := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))

	if resp := f.authorize("carol", url.Values{"client_id": {"stranger"}}); resp.StatusCode != 400 {
		t.Errorf("unknown client: HTTP %d", resp.StatusCode)
	}
	cases := map[string]url.Values{
		"no account_token":  {"account_token": {""}},
		"clientData":        {"clientData": {"x"}},
		"count mismatch":    {"scope": {"credential"}, "credentialID": {cred}, "numSignatures": {"2"}, "hash": {h}},
		"bad hash":          {"scope": {"credential"}, "credentialID": {cred}, "numSignatures": {"1"}, "hash": {"not+base64url/"}},
		"Cyrillic text":     {"scope": {"credential"}, "credentialID": {cred}, "numSignatures": {"1"}, "hash": {h}, "description": {"Договор"}},
		"other user":        {"scope": {"credential"}, "credentialID": {"unknown"}, "numSignatures": {"1"}, "hash": {h}},
		"71 signatures":     {"scope": {"credential"}, "credentialID": {cred}, "numSignatures": {"71"}, "hash": {h}},
		"unsupported scope": {"scope": {"openid"}},
	}
	for name, params := range cases {
		q := location(t, f.authorize("carol", params))
		if q.Get("error") == "" || q.Get("code") != "" || q.Get("state") != "xyz" {
			t.Errorf("%s: redirect %v", name, q)
		}
	}
}

func TestDeclineAndTimeout(t *testing.T) {
	f := newFixture(t, itsmesim.Config{ApprovalTimeout: 300 * time.Millisecond})
	for _, c := range []struct {
		name, want string
		act        func(id string)
	}{
		{"decline", "The user declined the request", func(id string) { f.sim.Decline(id) }},
		{"timeout", "timeout", func(string) {}},
	} {
		resp := f.authorize("dave", nil)
		c.act(resp.Header.Get("X-Itsmesim-Request"))
		wr, err := f.browser.Get(f.url + resp.Header.Get("X-Itsmesim-Wait"))
		if err != nil {
			t.Fatal(err)
		}
		wr.Body.Close()
		if q := location(t, wr); q.Get("error") != "access_denied" || q.Get("error_description") != c.want {
			t.Errorf("%s: redirect %v", c.name, q)
		}
	}
	if err := f.sim.Approve("gone", "12345"); err != itsmesim.ErrUnknownRequest {
		t.Errorf("Approve(unknown) = %v", err)
	}
}

// TestLinksUnderPrefix mounts the simulator under /itsme/, as the relay does, and follows
// the pages' links as a browser would: they must stay under the prefix.
func TestLinksUnderPrefix(t *testing.T) {
	f := newFixture(t, itsmesim.Config{PIN: "13579"})
	mux := http.NewServeMux()
	mux.Handle("/itsme/", http.StripPrefix("/itsme", f.sim.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/itsme"
	resolve := func(base, ref string) string {
		b, _ := url.Parse(base)
		r, err := url.Parse(html.UnescapeString(ref))
		if err != nil {
			t.Fatalf("link %q: %v", ref, err)
		}
		return b.ResolveReference(r).Path
	}
	find := func(page, pattern string) string {
		m := regexp.MustCompile(pattern).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s in the page:\n%s", pattern, page)
		}
		return m[1]
	}

	tok, err := csc.AccountToken(clientID, secret, "prefixed-user", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"service"}, "state": {"xyz"}, "account_token": {tok}}
	authURL := f.url + "/oauth2/authorize?" + q.Encode()
	resp, err := f.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: HTTP %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Itsmesim-Request")
	if got := resolve(authURL, find(string(body), `content="0;url=([^"]+)"`)); got != "/itsme/oauth2/wait" {
		t.Errorf("the waiting page refreshes to %s", got)
	}
	if got := resolve(authURL, find(string(body), `<a href="([^"]+)" target="_blank">`)); got != "/itsme/app" {
		t.Errorf("the waiting page links the phone at %s", got)
	}

	appURL := f.url + "/app"
	_, app, _ := f.do("GET", "/app", "", "", "")
	if got := resolve(appURL, find(app, `<form method="post" action="([^"]+)">`)); got != "/itsme/app/approve" {
		t.Errorf("the phone page posts to %s", got)
	}
	if got := resolve(appURL, find(app, `formaction="([^"]+)"`)); got != "/itsme/app/decline" {
		t.Errorf("the phone page declines at %s", got)
	}
	form := url.Values{"id": {id}, "pin": {"13579"}, "consent": {"yes"}}
	status, _, h := f.do("POST", "/app/approve", "application/x-www-form-urlencoded", form.Encode(), "")
	if status != http.StatusSeeOther {
		t.Fatalf("approve: HTTP %d", status)
	}
	if got := resolve(f.url+"/app/approve", h.Get("Location")); got != "/itsme/app" {
		t.Errorf("approving goes back to %s", got)
	}
}
