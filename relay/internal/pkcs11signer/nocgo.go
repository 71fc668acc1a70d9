//go:build !cgo

package pkcs11signer

import (
	"context"
	"crypto/x509"

	"github.com/veilsign/veilsign/relay/internal/backend"
)

// Signer is the PKCS#11 backend; without cgo it cannot be made.
type Signer struct{ cfg Config }

// New checks cfg and returns ErrNoCgo: this build cannot load PKCS#11 modules.
func New(cfg Config) (*Signer, error) {
	if _, err := cfg.normalise(); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// Method returns the configured method.
func (s *Signer) Method() string { return s.cfg.Method }

// Certificate returns ErrNoCgo.
func (s *Signer) Certificate(context.Context, backend.Signer, backend.Interaction) ([]*x509.Certificate, string, error) {
	return nil, "", ErrNoCgo
}

// Sign returns ErrNoCgo.
func (s *Signer) Sign(context.Context, backend.Request, backend.Interaction) (backend.Result, error) {
	return backend.Result{}, ErrNoCgo
}

// Close does nothing.
func (s *Signer) Close() error { return nil }

var _ backend.Backend = (*Signer)(nil)
