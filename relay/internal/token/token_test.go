package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte("portal-shared-secret-of-32-bytes!")
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	v := &Verifier{Audience: "relay.example", Ed25519: []ed25519.PublicKey{pub}, HMAC: [][]byte{secret}, Now: func() time.Time { return now }}
	good, _ := Issue(priv, "relay.example", "bt_1", []string{"itsme"}, 3, 10*time.Minute, now)
	c, err := v.Verify(good)
	if err != nil || c.SignerID() != "bt_1" || !c.Allows("itsme") || c.Allows("pen") || c.MaxSignatures != 3 {
		t.Fatalf("good token: %+v %v", c, err)
	}
	hm, _ := Issue(secret, "relay.example", "bt_2", []string{"pen"}, 1, time.Minute, now)
	if _, err := v.Verify(hm); err != nil {
		t.Fatalf("HMAC token: %v", err)
	}
	cases := map[string]struct {
		tok  string
		want error
	}{}
	add := func(name string, want error, key any, aud string, methods []string, max int, ttl time.Duration, at time.Time) {
		tok, err := Issue(key, aud, "bt_1", methods, max, ttl, at)
		if err != nil {
			t.Fatal(err)
		}
		cases[name] = struct {
			tok  string
			want error
		}{tok, want}
	}
	add("expired", ErrExpired, priv, "relay.example", []string{"itsme"}, 1, time.Minute, now.Add(-time.Hour))
	add("wrong audience", ErrInvalid, priv, "other-relay", []string{"itsme"}, 1, time.Minute, now)
	add("unknown key", ErrInvalid, otherPriv, "relay.example", []string{"itsme"}, 1, time.Minute, now)
	add("wrong secret", ErrInvalid, []byte("another secret"), "relay.example", []string{"itsme"}, 1, time.Minute, now)
	add("no methods", ErrInvalid, priv, "relay.example", nil, 1, time.Minute, now)
	add("too long", ErrInvalid, priv, "relay.example", []string{"itsme"}, 1, 48*time.Hour, now)
	add("max zero", ErrInvalid, priv, "relay.example", []string{"itsme"}, 0, time.Minute, now)
	cases["garbage"] = struct {
		tok  string
		want error
	}{"not.a.token", ErrInvalid}
	cases["alg none"] = struct {
		tok  string
		want error
	}{"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJidF8xIiwiYXVkIjoicmVsYXkuZXhhbXBsZSIsImV4cCI6NDEwMjQ0NDgwMCwibWV0aG9kcyI6WyJpdHNtZSJdLCJtYXgiOjF9.", ErrInvalid}
	for name, c := range cases {
		if _, err := v.Verify(c.tok); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}
