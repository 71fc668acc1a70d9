package itsmesim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// handleAuthorize starts a dance. Errors before the redirect URI is known to be
// registered are shown in the browser; later ones go back to the client by redirect, as
// RFC 6749 §4.1.2.1 requires (a wrong redirect_uri must never receive anything).
func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.cfg.ClientID {
		messagePage(w, http.StatusBadRequest, "Unknown client", "The application that sent you here is not known to itsme®.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		messagePage(w, http.StatusBadRequest, "Wrong redirect_uri", "The redirect_uri is not registered for this application.")
		return
	}
	req := &request{redirectURI: redirectURI, state: q.Get("state"), done: make(chan struct{})}
	fail := func(code, description string) {
		http.Redirect(w, r, errorLocation(req, code, description), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	if q.Has("clientData") {
		fail("invalid_request", "clientData is not supported")
		return
	}
	req.scope = q.Get("scope")
	if req.scope != "service" && req.scope != "credential" {
		fail("invalid_scope", "scope must be service or credential")
		return
	}
	var sub string
	if at := q.Get("account_token"); at != "" {
		var err error
		if sub, err = s.verifyAccountToken(at); err != nil {
			fail("invalid_request", "Invalid parameter account_token: "+err.Error())
			return
		}
	}
	if req.scope == "service" && sub == "" {
		fail("invalid_request", "Missing parameter account_token")
		return
	}
	if req.scope == "credential" {
		if msg := s.parseCredentialParams(req, q); msg != "" {
			fail("invalid_request", msg)
			return
		}
	}

	s.mu.Lock()
	s.pruneLocked()
	if req.scope == "credential" {
		owner := s.creds[req.credentialID]
		if owner == nil || (sub != "" && owner.sub != sub) {
			s.mu.Unlock()
			fail("invalid_request", "Invalid parameter credentialID")
			return
		}
		sub = owner.sub
	}
	u := s.userLocked(sub)
	req.sub, req.firstTime = sub, u.identity == nil
	req.id, req.waitKey, req.created = randomID(), randomID(), time.Now()
	s.requests[req.id] = req
	s.waits[req.waitKey] = req
	if !s.cfg.AutoApprove {
		req.timer = time.AfterFunc(s.cfg.ApprovalTimeout, func() { s.timeout(req) })
	}
	s.mu.Unlock()

	if s.cfg.AutoApprove {
		s.grant(req)
		s.mu.Lock()
		delete(s.waits, req.waitKey)
		s.mu.Unlock()
		http.Redirect(w, r, req.location, http.StatusFound)
		return
	}
	// The headers let a test act as browser and phone without scraping the page.
	w.Header().Set("X-Itsmesim-Request", req.id)
	w.Header().Set("X-Itsmesim-Wait", waitPath(req.waitKey))
	waitingPage(w, req)
}

// parseCredentialParams reads what binds a credential authorisation; "" when valid.
func (s *Sim) parseCredentialParams(req *request, q url.Values) string {
	req.credentialID = q.Get("credentialID")
	if req.credentialID == "" {
		return "Missing parameter credentialID"
	}
	n, err := strconv.Atoi(q.Get("numSignatures"))
	if err != nil || n < 1 {
		return "Invalid parameter numSignatures"
	}
	if n > s.cfg.MaxHashes {
		return "Invalid parameter numSignatures: at most " + strconv.Itoa(s.cfg.MaxHashes) + " signatures per authorisation"
	}
	if q.Get("hash") == "" {
		return "Missing parameter hash"
	}
	for _, h := range strings.Split(q.Get("hash"), ",") {
		// base64url here (a URL); padding is tolerated, other alphabets are not.
		b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(h, "="))
		if err != nil || len(b) < 20 || len(b) > 64 {
			return "Invalid parameter hash: each value must be a base64url digest"
		}
		req.hashes = append(req.hashes, b)
	}
	if len(req.hashes) > s.cfg.MaxHashes {
		return "Invalid parameter hash: at most " + strconv.Itoa(s.cfg.MaxHashes) + " hashes per authorisation"
	}
	if len(req.hashes) != n {
		return "Invalid parameter numSignatures: it must equal the number of hashes"
	}
	req.numSignatures = n
	req.description = q.Get("description")
	if err := checkDescription(req.description); err != nil {
		return "Invalid parameter description: " + err.Error()
	}
	return ""
}

// waitPath is the X-Itsmesim-Wait header: the wait endpoint relative to the simulator's
// root (a client prepends where it is mounted). The page itself links relatively.
func waitPath(key string) string { return "/oauth2/wait?k=" + url.QueryEscape(key) }

// handleWait is the authorise page's long poll: it answers with the redirect as soon as
// the phone has decided, or with the waiting page again (which polls anew) after a while.
// The wait key is known only to the browser that opened the authorise URL, not to the
// phone page, so only that browser receives the code.
func (s *Sim) handleWait(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("k")
	s.mu.Lock()
	req := s.waits[key]
	s.mu.Unlock()
	if req == nil {
		messagePage(w, http.StatusBadRequest, "Unknown request", "This itsme® request is unknown or already finished.")
		return
	}
	t := time.NewTimer(pollWait)
	defer t.Stop()
	select {
	case <-req.done:
	case <-t.C:
		waitingPage(w, req)
		return
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	delete(s.waits, key) // the code is delivered once
	s.mu.Unlock()
	http.Redirect(w, r, req.location, http.StatusFound)
}

// handleToken exchanges a code (JSON or form body, client credentials in the body or
// HTTP Basic).
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	f, ok := readFields(w, r)
	if !ok {
		return
	}
	id, secret := f["client_id"], f["client_secret"]
	if bid, bsecret, basic := r.BasicAuth(); basic {
		id, secret = bid, bsecret
	}
	if id != s.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1 {
		cscError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	if f["grant_type"] != "authorization_code" {
		cscError(w, http.StatusBadRequest, "unsupported_grant_type", "Only authorization_code is supported")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.codes[f["code"]]
	switch {
	case g == nil:
		cscError(w, http.StatusBadRequest, "invalid_grant", "Invalid authorization code")
		return
	case g.used:
		// RFC 6749 §4.1.2: a replayed code revokes what it gave.
		if t := s.tokens[g.issued]; t != nil {
			t.revoked = true
		}
		cscError(w, http.StatusBadRequest, "invalid_grant", "The authorization code was already used")
		return
	case s.cfg.Now().After(g.expires):
		cscError(w, http.StatusBadRequest, "invalid_grant", "The authorization code has expired")
		return
	case f["redirect_uri"] != g.redirectURI:
		cscError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	g.used = true
	value := randomID()
	s.tokens[value] = &token{
		sub: g.sub, scope: g.scope, credentialID: g.credentialID, hashes: g.hashes,
		numSignatures: g.numSignatures, expires: s.cfg.Now().Add(TokenLifetime),
	}
	g.issued = value
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": value, "token_type": "Bearer", "expires_in": int(TokenLifetime / time.Second)})
}

// readFields reads a flat JSON object or a form, as itsme's token endpoint accepts both.
func readFields(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	if mt == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			cscError(w, http.StatusBadRequest, "invalid_request", "The form is not readable")
			return nil, false
		}
		for k := range r.PostForm {
			out[k] = r.PostForm.Get(k)
		}
		return out, true
	}
	var raw map[string]any
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		cscError(w, http.StatusBadRequest, "invalid_request", "The body must be JSON or a form")
		return nil, false
	}
	for k, v := range raw {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out, true
}
