// Package csc is a client for the Cloud Signature Consortium API v1.0.4 (remote signing
// with OAuth2 authorisation codes), and the relay's signing backend built on it. What
// differs between providers — scopes, the lang parameter, the number of hashes one
// authorisation may cover, which characters a description may hold — lives in a Profile;
// itsme® is one profile (ItsmeProfile). The protocol code knows no provider.
//
// The flow is two OAuth2 "dances" through the signer's browser: scope "service" to learn
// the signer's credential and certificate chain, then scope "credential" bound to the
// hashes to sign, whose token is the signature activation data (SAD) for signHash.
package csc

import "time"

// Scopes of CSC v1 OAuth2 authorisations.
const (
	ScopeService    = "service"
	ScopeCredential = "credential"
)

// Profile holds what one CSC provider does its own way.
type Profile struct {
	// Method is the relay protocol's method name the Backend answers to ("itsme").
	Method string
	// DisplayName names the provider in messages to the signer ("itsme®").
	DisplayName string
	// ServiceScope and CredentialScope are the OAuth2 scopes of the two dances.
	ServiceScope, CredentialScope string
	// SendLang adds lang=Lang to the authorise URL and to info/credentials/info.
	SendLang bool
	Lang     string
	// MaxHashes is how many hashes one credential authorisation (and so one SAD) may
	// cover; itsme allows up to 70 as a contract option.
	MaxHashes int
	// Description turns the label shown to the signer into what the provider accepts,
	// or refuses it with a *TextError. Nil sends the label unchanged.
	Description func(label string) (string, error)
	// AccountToken sends the CSC v1 §8.3.1 account_token with each authorisation; Issuer
	// is its optional iss claim.
	AccountToken bool
	Issuer       string
	// TokenForm posts oauth2/token as application/x-www-form-urlencoded (RFC 6749)
	// instead of JSON; CSC shows JSON, itsme accepts both.
	TokenForm bool
	// TokenLifetime is assumed when a token response carries no expires_in.
	TokenLifetime time.Duration
}

// ItsmeProfile returns the profile of itsme® Sign's CSC API.
func ItsmeProfile() Profile {
	return Profile{
		Method:          "itsme",
		DisplayName:     "itsme®",
		ServiceScope:    ScopeService,
		CredentialScope: ScopeCredential,
		SendLang:        true,
		Lang:            "en",
		MaxHashes:       70,
		Description:     func(s string) (string, error) { return Latin9(s, MaxDescription) },
		AccountToken:    true,
		TokenLifetime:   time.Hour,
	}
}

// MaxDescription is itsme's limit on the description shown in the app, in characters.
const MaxDescription = 255

func (p Profile) maxHashes() int {
	if p.MaxHashes <= 0 {
		return 1
	}
	return p.MaxHashes
}

func (p Profile) tokenLifetime() time.Duration {
	if p.TokenLifetime <= 0 {
		return time.Hour
	}
	return p.TokenLifetime
}
