// Package backend defines the seam between the relay and the services that hold signing
// keys: itsme® and other CSC services, PKCS#11 tokens (Belgian eID cards, HSMs) and the
// service's own seal for pen and TAN signatures. The relay gives a backend the hash of the
// CMS signed attributes, never the document or its digest alone.
package backend

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
)

// Signer is who signs, as the session token and the page describe them.
type Signer struct {
	// ID is the signer id from the portal's session token (the account at the portal).
	ID       string
	Name     string
	Email    string
	Capacity string
	Phone    string
}

// Interaction lets a backend involve the signer while it works: report progress (with a
// URL to open for OAuth2 flows) and wait for input from the page (a TAN code).
type Interaction interface {
	// Status tells the page what is happening: one of the protocol's states.
	Status(state, url, message string)
	// OTP waits for the code the signer types; it returns ctx's error when cancelled.
	OTP(ctx context.Context) (string, error)
}

// Request is one signature to make: Hash is the digest of the DER signed attributes
// (cms.ToBeSigned), computed with HashAlg.
type Request struct {
	Signer  Signer
	Chain   []*x509.Certificate
	Hash    []byte
	HashAlg crypto.Hash
	// Label is the short text the signer sees when approving (ISO 8859-15 for itsme).
	Label string
	// Credential is what Certificate returned for the signer (an itsme credential id, a
	// PKCS#11 object label), opaque to the relay.
	Credential string
	// Job names the relay's job this signature is for (opaque to the backend). A
	// Resumable backend keeps it with an approval that may outlive the process, and hands
	// it back to the relay's handler when that approval arrives after a restart.
	Job string
}

// Result is a raw signature value and the algorithm that made it.
type Result struct {
	Signature []byte
	Algorithm x509.SignatureAlgorithm
}

// Backend is one way of signing.
type Backend interface {
	// Method is the protocol's method name: itsme, eid, x509, pen or tan.
	Method() string
	// Certificate returns the chain (leaf first) the signer will sign with, and an opaque
	// credential reference for Sign. It may need the signer (itsme's first consent).
	Certificate(ctx context.Context, s Signer, in Interaction) (chain []*x509.Certificate, credential string, err error)
	// Sign makes one signature; it may wait for the signer's approval.
	Sign(ctx context.Context, r Request, in Interaction) (Result, error)
}

// Completion makes the signature of an approval that arrived outside Sign (after the
// relay restarted). It is called once; the signer is never asked again. ctx bounds the
// calls to the signing service.
type Completion func(ctx context.Context) (Result, error)

// Resumable is a backend whose signer approvals survive a restart of the relay: the signer
// may approve on their phone while the relay is down, and the approval must then still
// yield the one signature it was given for, without asking the signer twice.
type Resumable interface {
	Backend
	// Resume registers the relay's handler. For each approval that arrives without a Sign
	// call waiting for it, the backend calls handler once with the Request.Job it was
	// given and the Completion that makes the signature; the handler must not block (it
	// runs the completion on its own goroutine) and must store the outcome of the job.
	Resume(handler func(job string, complete Completion))
	// Outstanding reports whether job has a request waiting on the signer's side that may
	// still complete through the handler: the relay must then not ask the signer again.
	Outstanding(ctx context.Context, job string) (bool, error)
}

// Errors a backend returns, so the relay can answer with the right protocol code.
var (
	// ErrRefused: the signer declined (or a wrong code was given too often).
	ErrRefused = errors.New("the signer declined")
	// ErrTimeout: the signer did not approve in time.
	ErrTimeout = errors.New("the signer did not answer in time")
	// ErrUnavailable: the signing service cannot be reached or failed; a retry may work.
	ErrUnavailable = errors.New("the signing service is unavailable")
	// ErrWrongOTP: the code typed does not match; the signer may try again.
	ErrWrongOTP = errors.New("the code is not the one sent")
	// ErrOTPExpired: the code is too old; a new one is needed.
	ErrOTPExpired = errors.New("the code has expired")
)
