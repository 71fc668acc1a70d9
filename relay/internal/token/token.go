// Package token checks the short-lived session tokens a portal's back end gives its page:
// without a valid token the relay calls no signer, so strangers cannot spend the portal's
// itsme® credits. Tokens are JWTs (github.com/golang-jwt/jwt/v5) signed with Ed25519
// (EdDSA) or HMAC-SHA256; the relay holds only what verifies them.
package token

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are what a session token grants.
type Claims struct {
	// Methods the signer may use (itsme, eid, x509, pen, tan).
	Methods []string `json:"methods"`
	// MaxSignatures bounds the signatures of the session (distinct digests).
	MaxSignatures int `json:"max"`
	jwt.RegisteredClaims
}

// SignerID is the portal's id for the signer (the subject).
func (c *Claims) SignerID() string { return c.Subject }

// MaxLifetime is the longest a token may live: session tokens are short-lived by design.
const MaxLifetime = 2 * time.Hour

// Verifier checks tokens for one audience (this relay's public name).
type Verifier struct {
	Audience string
	// Ed25519 are the portals' public keys; HMAC their shared secrets (either or both).
	Ed25519 []ed25519.PublicKey
	HMAC    [][]byte
	Now     func() time.Time
}

// Errors, by what the client did wrong.
var (
	ErrInvalid = errors.New("the session token is not valid")
	ErrExpired = errors.New("the session token has expired")
)

// Verify parses and checks a token: signature, expiry (required, at most MaxLifetime after
// issue), audience, subject and methods.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	var lastErr error
	for _, key := range v.keys() {
		c := &Claims{}
		_, err := jwt.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
			switch key.(type) {
			case ed25519.PublicKey:
				if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
					return nil, fmt.Errorf("algorithm %s is not EdDSA", t.Method.Alg())
				}
			case []byte:
				if t.Method != jwt.SigningMethodHS256 {
					return nil, fmt.Errorf("algorithm %s is not HS256", t.Method.Alg())
				}
			}
			return key, nil
		}, jwt.WithAudience(v.Audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now),
			jwt.WithValidMethods([]string{"EdDSA", "HS256"}))
		if err == nil {
			return c, v.check(c)
		}
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrExpired
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = errors.New("no verification key is configured")
	}
	return nil, fmt.Errorf("%w: %v", ErrInvalid, lastErr)
}

func (v *Verifier) keys() []any {
	var ks []any
	for _, k := range v.Ed25519 {
		ks = append(ks, k)
	}
	for _, k := range v.HMAC {
		ks = append(ks, k)
	}
	return ks
}

func (v *Verifier) check(c *Claims) error {
	if c.Subject == "" {
		return fmt.Errorf("%w: no subject (signer id)", ErrInvalid)
	}
	if len(c.Methods) == 0 {
		return fmt.Errorf("%w: no signing methods granted", ErrInvalid)
	}
	if c.MaxSignatures < 1 || c.MaxSignatures > 1000 {
		return fmt.Errorf("%w: max must be between 1 and 1000", ErrInvalid)
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime {
		return fmt.Errorf("%w: a session token may live at most %v", ErrInvalid, MaxLifetime)
	}
	return nil
}

// Issue makes a token, as a portal's back end does (the demo server and tests use it).
// key is an ed25519.PrivateKey or an HMAC secret ([]byte).
func Issue(key crypto.PrivateKey, audience, signerID string, methods []string, max int, ttl time.Duration, now time.Time) (string, error) {
	c := &Claims{Methods: methods, MaxSignatures: max, RegisteredClaims: jwt.RegisteredClaims{
		Subject: signerID, Audience: jwt.ClaimStrings{audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(k)
	case []byte:
		return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k)
	}
	return "", fmt.Errorf("token: unsupported key %T", key)
}

// Allows reports whether the token grants method.
func (c *Claims) Allows(method string) bool {
	for _, m := range c.Methods {
		if m == method {
			return true
		}
	}
	return false
}
