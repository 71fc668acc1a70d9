// Package pkcs11signer is the relay's backend for keys behind a PKCS#11 module: Belgian eID
// cards (method "eid", through the beidpkcs11 module) and HSMs (method "x509"). The relay
// hands it the hash of the CMS signed attributes; the token signs it with CKM_RSA_PKCS over
// a DigestInfo built here, or with CKM_ECDSA.
//
// The module is loaded on first use, not by New, so that the relay starts while the card
// reader is unplugged or the card is not inserted; Certificate and Sign then report
// backend.ErrUnavailable and the next attempt tries again. Every call opens its own
// session and closes it (logging out) before it returns, so nothing stays logged in on a
// card between signatures. Calls that use the same module are serialised, because a
// PKCS#11 login is shared by all sessions of a process on a token.
//
// The code that talks to the module needs cgo; built with CGO_ENABLED=0 the package still
// compiles and New returns ErrNoCgo.
package pkcs11signer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/veilsign/veilsign/relay/internal/backend"
)

// Methods the protocol knows for PKCS#11 keys.
const (
	MethodEID  = "eid"  // Belgian eID card: the PIN is entered by the signer
	MethodX509 = "x509" // HSM or other token: the PIN usually comes from the configuration
)

// EIDCertLabel is the label of the qualified (non-repudiation) certificate and key on a
// Belgian eID card; "Authentication" is the other one, which must not sign documents.
const EIDCertLabel = "Signature"

// Config says which module, token and key to use.
type Config struct {
	// Method is what Method returns: MethodEID or MethodX509.
	Method string
	// Module is the path of the PKCS#11 library, e.g. /usr/lib/x86_64-linux-gnu/libbeidpkcs11.so.0
	// or /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// Slot selects the token by slot id; TokenLabel by its label. With neither, the one
	// initialised token present is used (more than one is an error).
	Slot       *uint
	TokenLabel string
	// PIN is the user PIN. PINFunc, if set, is asked for it instead on every signature (a
	// prompt in the relay host's UI). With neither, the module logs in with no PIN, which
	// means a pinpad reader or the module's own PIN dialog (beid shows one).
	PIN     string
	PINFunc func(ctx context.Context) (string, error)
	// CertLabel is the CKA_LABEL of the certificate (default: KeyLabel, and for the eid
	// method EIDCertLabel). The private key is the one with the certificate's CKA_ID; if
	// KeyLabel is set, it must also carry that label.
	CertLabel string
	KeyLabel  string
}

// normalise checks c and fills in the defaults.
func (c Config) normalise() (Config, error) {
	switch c.Method {
	case MethodEID, MethodX509:
	case "":
		return c, errors.New("pkcs11signer: no method configured (eid or x509)")
	default:
		return c, fmt.Errorf("pkcs11signer: method %q is not a PKCS#11 method (eid or x509)", c.Method)
	}
	if strings.TrimSpace(c.Module) == "" {
		return c, errors.New("pkcs11signer: no PKCS#11 module path configured")
	}
	if c.CertLabel == "" {
		c.CertLabel = c.KeyLabel
	}
	if c.CertLabel == "" && c.Method == MethodEID {
		c.CertLabel = EIDCertLabel
	}
	if c.CertLabel == "" {
		return c, errors.New("pkcs11signer: no certificate or key label configured")
	}
	return c, nil
}

var (
	// ErrNoCgo is what New returns in a build without cgo.
	ErrNoCgo = errors.New("pkcs11signer: built without cgo (CGO_ENABLED=0), so PKCS#11 modules cannot be loaded; rebuild with CGO_ENABLED=1")
	// ErrNotFound: the token holds no certificate or key with the configured label or id.
	ErrNotFound = errors.New("pkcs11signer: object not found on the token")
)

// Error is what Certificate and Sign return. errors.Is finds its kind (backend.ErrRefused,
// backend.ErrUnavailable, ErrNotFound or none) and errors.As the pkcs11.Error from the
// module, if there is one.
type Error struct {
	Msg  string
	Kind error
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "pkcs11signer: " + e.Msg + ": " + e.Err.Error()
	}
	return "pkcs11signer: " + e.Msg
}

func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func unavailable(err error, format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Kind: backend.ErrUnavailable, Err: err}
}

func notFound(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Kind: ErrNotFound}
}
