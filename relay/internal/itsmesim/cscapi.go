package itsmesim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

const (
	oidSHA256WithRSA = "1.2.840.113549.1.1.11"
	oidSHA256        = "2.16.840.1.101.3.4.2.1"
)

func (s *Sim) handleInfo(w http.ResponseWriter, r *http.Request) {
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	writeJSON(w, http.StatusOK, map[string]any{
		// itsme implements 1.0.4.0 but still announces 1.0.3.0.
		"specs": "1.0.3.0", "name": "itsme® Sign (simulator)", "logo": base + "/logo.png",
		"region": "BE", "lang": "en", "description": "Simulated itsme® qualified signatures for development",
		"authType": []string{"oauth2code"}, "oauth2": base,
		"methods": []string{"info", "auth/revoke", "oauth2/authorize", "oauth2/token", "credentials/list", "credentials/info", "signatures/signHash"},
	})
}

// bearer authenticates a CSC call; on failure it has answered.
func (s *Sim) bearerLocked(w http.ResponseWriter, r *http.Request) (*token, bool) {
	value, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || value == "" {
		cscError(w, http.StatusBadRequest, "invalid_request", "Missing bearer access token")
		return nil, false
	}
	t := s.tokens[value]
	switch {
	case t == nil || t.revoked:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		cscError(w, http.StatusUnauthorized, "invalid_token", "The access token is not valid")
		return nil, false
	case !s.cfg.Now().Before(t.expires):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		cscError(w, http.StatusUnauthorized, "invalid_token", "The access token has expired")
		return nil, false
	}
	return t, true
}

func (s *Sim) handleCredentialsList(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MaxResults *int   `json:"maxResults"`
		UserID     string `json:"userID"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.bearerLocked(w, r)
	if !ok {
		return
	}
	if t.scope != "service" {
		cscError(w, http.StatusUnauthorized, "invalid_token", "The access token has not the service scope")
		return
	}
	if body.MaxResults != nil && (*body.MaxResults < 1 || *body.MaxResults > 300) {
		cscError(w, http.StatusBadRequest, "invalid_request", "Invalid parameter maxResults")
		return
	}
	if body.UserID != "" && body.UserID != t.sub {
		cscError(w, http.StatusBadRequest, "invalid_request", "Invalid parameter userID")
		return
	}
	ids := []string{}
	if u := s.users[t.sub]; u != nil && u.identity != nil {
		ids = append(ids, u.credentialID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentialIDs": ids})
}

func (s *Sim) handleCredentialsInfo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CredentialID string `json:"credentialID"`
		Certificates string `json:"certificates"`
		CertInfo     bool   `json:"certInfo"`
		AuthInfo     bool   `json:"authInfo"`
		Lang         string `json:"lang"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.bearerLocked(w, r)
	if !ok {
		return
	}
	u := s.creds[body.CredentialID]
	if u == nil || u.sub != t.sub {
		cscError(w, http.StatusBadRequest, "invalid_request", "Invalid parameter credentialID")
		return
	}
	chain := u.identity.Chain
	var certs []string
	switch body.Certificates {
	case "none":
	case "", "single":
		certs = []string{base64.StdEncoding.EncodeToString(chain[0].Raw)}
	case "chain":
		for _, c := range chain {
			certs = append(certs, base64.StdEncoding.EncodeToString(c.Raw))
		}
	default:
		cscError(w, http.StatusBadRequest, "invalid_request", "Invalid parameter certificates")
		return
	}
	cert := map[string]any{"status": "valid"}
	if certs != nil {
		cert["certificates"] = certs
	}
	if body.CertInfo {
		leaf := chain[0]
		cert["issuerDN"] = leaf.Issuer.String()
		cert["serialNumber"] = leaf.SerialNumber.Text(16)
		cert["subjectDN"] = leaf.Subject.String()
		cert["validFrom"] = leaf.NotBefore.UTC().Format("20060102150405Z") // GeneralizedTime, as CSC says
		cert["validTo"] = leaf.NotAfter.UTC().Format("20060102150405Z")
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"description": "itsme® qualified signature (simulator)",
		"key":         map[string]any{"status": "enabled", "algo": []string{oidSHA256WithRSA}, "len": 2048},
		"cert":        cert,
		"authMode":    "oauth2code",
		"SCAL":        "2",
		"PIN":         map[string]any{"presence": "false"},
		"OTP":         map[string]any{"presence": "false"},
		"multiSign":   true,
	})
}

// handleSignHash signs hashes the SAD authorised. Every hash is compared as decoded bytes
// with those of the authorisation: the authorise URL carried them base64url, this body
// carries them standard base64, and only the bytes mean anything.
func (s *Sim) handleSignHash(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CredentialID string   `json:"credentialID"`
		SAD          string   `json:"SAD"`
		Hash         []string `json:"hash"`
		HashAlgo     string   `json:"hashAlgo"`
		SignAlgo     string   `json:"signAlgo"`
		ClientData   *string  `json:"clientData"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.bearerLocked(w, r)
	if !ok {
		return
	}
	bad := func(msg string) { cscError(w, http.StatusBadRequest, "invalid_request", msg) }
	sad := s.tokens[body.SAD]
	if body.SAD == "" && t.scope == "credential" {
		sad = t // CSC: the SAD may be omitted when the bearer is the credential token
	}
	switch {
	case body.ClientData != nil:
		bad("clientData is not supported")
		return
	case sad == nil || sad.scope != "credential" || sad.revoked || sad.sub != t.sub:
		bad("Invalid parameter SAD")
		return
	case !s.cfg.Now().Before(sad.expires):
		bad("SAD expired")
		return
	case body.CredentialID == "" || body.CredentialID != sad.credentialID:
		bad("Invalid parameter credentialID")
		return
	case body.SignAlgo != oidSHA256WithRSA:
		bad("Invalid parameter signAlgo")
		return
	case body.HashAlgo != "" && body.HashAlgo != oidSHA256:
		bad("Invalid parameter hashAlgo")
		return
	case len(body.Hash) == 0:
		bad("Missing parameter hash")
		return
	case len(body.Hash) > s.cfg.MaxHashes:
		bad("Invalid parameter hash: too many hashes")
		return
	}
	hashes := make([][]byte, len(body.Hash))
	for i, h := range body.Hash {
		b, err := base64.StdEncoding.Strict().DecodeString(h)
		if err != nil || len(b) != 32 {
			bad("Invalid parameter hash: each value must be a base64 SHA-256 digest")
			return
		}
		if !containsBytes(sad.hashes, b) {
			bad("Invalid parameter hash: not authorised by the SAD")
			return
		}
		hashes[i] = b
	}
	if sad.used+len(hashes) > sad.numSignatures {
		bad("The SAD does not allow more signatures (numSignatures exceeded)")
		return
	}
	key := s.creds[sad.credentialID].identity.Key
	sigs := make([]string, len(hashes))
	for i, h := range hashes {
		// A raw PKCS#1 v1.5 signature over the given digest: the key wraps it in the
		// SHA-256 DigestInfo, which is what a CMS verifier checks.
		sig, err := key.Sign(rand.Reader, h, crypto.SHA256)
		if err != nil {
			cscError(w, http.StatusInternalServerError, "server_error", "The signature could not be made")
			return
		}
		sigs[i] = base64.StdEncoding.EncodeToString(sig)
	}
	sad.used += len(hashes)
	s.signHashes++
	writeJSON(w, http.StatusOK, map[string]any{"signatures": sigs})
}

func (s *Sim) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token         string `json:"token"`
		TokenTypeHint string `json:"token_type_hint"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.bearerLocked(w, r)
	if !ok {
		return
	}
	if body.Token == "" {
		cscError(w, http.StatusBadRequest, "invalid_request", "Missing parameter token")
		return
	}
	// Like RFC 7009, an unknown token is not an error; another user's is left alone.
	if victim := s.tokens[body.Token]; victim != nil && victim.sub == t.sub {
		victim.revoked = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// cscError writes the CSC/OAuth2 error body.
func cscError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		cscError(w, http.StatusBadRequest, "invalid_request", "The body is not the expected JSON object")
		return false
	}
	return true
}
