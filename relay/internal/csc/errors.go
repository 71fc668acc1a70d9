package csc

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an error answer of a CSC service: the JSON body {"error", "error_description"}
// of an HTTP error, or the error parameters of an OAuth2 redirect (Status 0).
type Error struct {
	// Endpoint is the method that failed, e.g. "signatures/signHash" or "oauth2/authorize".
	Endpoint string
	// Status is the HTTP status; 0 for an error that came back through a redirect.
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *Error) Error() string {
	s := "csc: " + e.Endpoint + ": "
	if e.Status != 0 {
		s += fmt.Sprintf("HTTP %d ", e.Status)
	}
	s += e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Expired reports whether the service refused an access token or SAD because it is no
// longer valid (expired, revoked, unknown to it). Repeating the call cannot succeed: the
// caller must start a new authorisation dance.
func (e *Error) Expired() bool {
	if e.Code == "invalid_token" || e.Code == "expired_token" {
		return true
	}
	if e.Status == 401 && e.Code != "invalid_client" {
		return true
	}
	return e.Code == "invalid_request" && strings.Contains(strings.ToLower(e.Description), "expired")
}

// Denied reports whether the user (or the provider on their behalf) refused the
// authorisation: a declined request, a wrong PIN given too often, an approval timeout.
func (e *Error) Denied() bool { return e.Code == "access_denied" }

// TimedOut reports whether an authorisation ended because the user did not answer; itsme
// says so with access_denied and the description "timeout".
func (e *Error) TimedOut() bool {
	return e.Denied() && strings.Contains(strings.ToLower(e.Description), "timeout")
}

// Is makes errors.Is(err, ErrExpired) true for an expired token or SAD.
func (e *Error) Is(target error) bool { return target == ErrExpired && e.Expired() }

var (
	// ErrExpired matches an *Error whose token or SAD is no longer valid.
	ErrExpired = errors.New("csc: the access token or SAD has expired; a new authorisation is needed")
	// ErrTooManyHashes: more hashes than the profile lets one authorisation cover.
	ErrTooManyHashes = errors.New("csc: too many hashes for one authorisation")
	// ErrUnsupportedAlgorithm: no signature algorithm of the credential fits the key and hash.
	ErrUnsupportedAlgorithm = errors.New("csc: the credential offers no signature algorithm for this key and hash")
	// ErrProtocol: the service answered something the CSC API does not allow.
	ErrProtocol = errors.New("csc: unexpected answer from the service")
)
