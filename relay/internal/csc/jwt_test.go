package csc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestAccountToken checks the CSC v1 §8.3.1 construction from the outside.
func TestAccountToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok, err := AccountToken("client-1", "secret", "user-9", "veilsign", now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%q is not unpadded base64url: %v", s, err)
		}
		return b
	}
	var header map[string]string
	json.Unmarshal(dec(parts[0]), &header)
	if header["alg"] != "HS256" {
		t.Errorf("header %v", header)
	}
	var claims map[string]any
	json.Unmarshal(dec(parts[1]), &claims)
	if claims["sub"] != "user-9" || claims["azp"] != "client-1" || claims["iss"] != "veilsign" ||
		claims["iat"] != float64(now.Unix()) || claims["jti"] == "" {
		t.Errorf("claims %v", claims)
	}
	key := sha256.Sum256([]byte("secret")) // the key is the secret's hash, not the secret
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(mac.Sum(nil), dec(parts[2])) {
		t.Error("the signature is not HMAC-SHA256 keyed with SHA-256(secret)")
	}
	again, _ := AccountToken("client-1", "secret", "user-9", "", now)
	if strings.Split(again, ".")[1] == parts[1] {
		t.Error("two tokens share a jti")
	}
	if _, err := AccountToken("client-1", "secret", "", "", now); err == nil {
		t.Error("a token without sub was made")
	}
}
