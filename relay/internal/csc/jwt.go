package csc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// accountClaims are the claims of a CSC v1 §8.3.1 account_token.
type accountClaims struct {
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
	Iss string `json:"iss,omitempty"`
	Azp string `json:"azp"`
}

// jwtHeader is fixed: the spec allows HS256 only, so there is nothing to negotiate.
var jwtHeader = b64url([]byte(`{"alg":"HS256","typ":"JWT"}`))

// AccountToken builds the account_token that tells the provider which of our accounts
// the signer is (CSC v1 §8.3.1): a JWT signed with HMAC-SHA256, keyed with the SHA-256 of
// the client secret — the provider holds the secret too, so it can check that we issued
// it, and the unique jti lets it refuse a replayed token. A compact JWT is three
// base64url parts; it is small enough to write here rather than pull in a JOSE library.
func AccountToken(clientID, clientSecret, sub, issuer string, now time.Time) (string, error) {
	if sub == "" {
		return "", errors.New("csc: an account_token needs the signer's account id (sub)")
	}
	if clientID == "" || clientSecret == "" {
		return "", errors.New("csc: an account_token needs the client id and secret")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(accountClaims{Sub: sub, Iat: now.Unix(), Jti: b64url(jti), Iss: issuer, Azp: clientID})
	if err != nil {
		return "", err
	}
	signingInput := jwtHeader + "." + b64url(claims)
	key := sha256.Sum256([]byte(clientSecret))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(signingInput))
	return signingInput + "." + b64url(mac.Sum(nil)), nil
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
