package itsmesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// verifyAccountToken checks an account_token as itsme does (CSC v1 §8.3.1) and returns
// its sub: HS256 only (never "none" or another algorithm a forger could choose), keyed
// with SHA-256 of the client secret, azp naming the client, iat recent, and a jti never
// seen before — the token travels through the browser, so a copied one must not work
// twice. It is written apart from the client's encoder on purpose: a simulator sharing
// the client's code would agree with its bugs.
func (s *Sim) verifyAccountToken(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWT")
	}
	dec := base64.RawURLEncoding.Strict()
	headerJSON, err1 := dec.DecodeString(parts[0])
	claimsJSON, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", errors.New("not base64url")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(headerJSON, &header) != nil || header.Alg != "HS256" {
		return "", errors.New("the algorithm must be HS256")
	}
	key := sha256.Sum256([]byte(s.cfg.ClientSecret))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "", errors.New("bad signature")
	}
	var c struct {
		Sub string   `json:"sub"`
		Iat *float64 `json:"iat"`
		Exp *float64 `json:"exp"`
		Jti string   `json:"jti"`
		Azp string   `json:"azp"`
		Iss *string  `json:"iss"`
	}
	if err := json.Unmarshal(claimsJSON, &c); err != nil {
		return "", errors.New("the claims are not a JSON object of the right types")
	}
	switch {
	case c.Sub == "":
		return "", errors.New("sub is missing")
	case c.Jti == "":
		return "", errors.New("jti is missing")
	case c.Azp != s.cfg.ClientID:
		return "", errors.New("azp is not the client_id")
	case c.Iat == nil:
		return "", errors.New("iat is missing")
	}
	now := s.cfg.Now()
	iat := time.Unix(int64(*c.Iat), 0)
	if iat.Before(now.Add(-iatWindow)) || iat.After(now.Add(time.Minute)) {
		return "", errors.New("iat is not recent")
	}
	if c.Exp != nil && !time.Unix(int64(*c.Exp), 0).After(now) {
		return "", errors.New("the token has expired")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.jtis[c.Jti]; seen {
		return "", errors.New("jti was already used (replay)")
	}
	s.jtis[c.Jti] = iat
	return c.Sub, nil
}
