// Package seal signs pen and TAN (SMS code) signatures with the service's own seal key: the
// signer has no certificate, so the service attests, with its seal, what it observed — the
// drawing (kept in the PDF's signature dictionary and appearance) or the confirmation of a
// one-time code sent to the signer's phone.
package seal

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
)

// Options of a seal backend.
type Options struct {
	// CodeTTL is how long a TAN code stays valid (default 5 minutes).
	CodeTTL time.Duration
	// MaxAttempts is how many wrong codes end the attempt (default 3).
	MaxAttempts int
	Now         func() time.Time
}

// Backend seals with one key for one method (pen or tan).
type Backend struct {
	method string
	chain  []*x509.Certificate
	key    crypto.Signer
	sender Sender
	opts   Options
}

// NewPen returns the backend for drawn signatures.
func NewPen(chain []*x509.Certificate, key crypto.Signer) *Backend {
	return &Backend{method: "pen", chain: chain, key: key}
}

// NewTAN returns the backend for SMS/TAN signatures; sender delivers the codes.
func NewTAN(chain []*x509.Certificate, key crypto.Signer, sender Sender, opts Options) *Backend {
	if opts.CodeTTL == 0 {
		opts.CodeTTL = 5 * time.Minute
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Backend{method: "tan", chain: chain, key: key, sender: sender, opts: opts}
}

func (b *Backend) Method() string { return b.method }

// Certificate is the seal's chain whoever signs.
func (b *Backend) Certificate(ctx context.Context, s backend.Signer, in backend.Interaction) ([]*x509.Certificate, string, error) {
	return b.chain, "seal", nil
}

// Sign seals the hash; for TAN only after the signer typed the code sent to their phone.
func (b *Backend) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	if b.method == "tan" {
		if err := b.confirm(ctx, r, in); err != nil {
			return backend.Result{}, err
		}
	}
	in.Status("signing", "", "Sealing the signature")
	return Raw(b.key, r.Hash, r.HashAlg)
}

// confirm sends a code and waits until the signer types it, up to MaxAttempts tries.
func (b *Backend) confirm(ctx context.Context, r backend.Request, in backend.Interaction) error {
	code, err := newCode()
	if err != nil {
		return err
	}
	sent := b.opts.Now()
	text := fmt.Sprintf("Your code to sign %q: %s (valid %d minutes)", r.Label, code, int(b.opts.CodeTTL.Minutes()))
	if err := b.sender.Send(ctx, r.Signer.Phone, text); err != nil {
		return fmt.Errorf("%w: the code could not be sent: %v", backend.ErrUnavailable, err)
	}
	in.Status("otp-sent", "", "A code was sent to "+MaskPhone(r.Signer.Phone))
	for tries := 1; ; tries++ {
		got, err := in.OTP(ctx)
		if err != nil {
			return fmt.Errorf("%w: no code was entered", backend.ErrTimeout)
		}
		if b.opts.Now().Sub(sent) > b.opts.CodeTTL {
			return backend.ErrOTPExpired
		}
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(code)) == 1 {
			return nil
		}
		if tries >= b.opts.MaxAttempts {
			return fmt.Errorf("%w: %d wrong codes", backend.ErrRefused, tries)
		}
		in.Status("otp-sent", "", fmt.Sprintf("That code is not right; %d tries left", b.opts.MaxAttempts-tries))
	}
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// MaskPhone keeps the country code and the last two digits: "+32 ••• •• 56".
func MaskPhone(p string) string {
	digits := strings.ReplaceAll(p, " ", "")
	if len(digits) < 6 {
		return "•••"
	}
	return digits[:3] + " ••• •• " + digits[len(digits)-2:]
}

// Raw signs a hash with key and names the algorithm, as the CMS needs it.
func Raw(key crypto.Signer, hash []byte, h crypto.Hash) (backend.Result, error) {
	var alg x509.SignatureAlgorithm
	switch key.Public().(type) {
	case *rsa.PublicKey:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}[h]
	case *ecdsa.PublicKey:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}[h]
	}
	if alg == x509.UnknownSignatureAlgorithm {
		return backend.Result{}, errors.New("seal: unsupported key or hash")
	}
	sig, err := key.Sign(rand.Reader, hash, h)
	if err != nil {
		return backend.Result{}, err
	}
	return backend.Result{Signature: sig, Algorithm: alg}, nil
}
