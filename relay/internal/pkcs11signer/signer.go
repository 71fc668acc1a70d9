//go:build cgo

package pkcs11signer

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/protocol"
)

// Signer is the PKCS#11 backend. Its methods may be called concurrently; calls that use
// the same module run one at a time.
type Signer struct {
	cfg Config

	mu     sync.Mutex // guards mod and closed
	mod    *module
	closed bool
}

var _ backend.Backend = (*Signer)(nil)

// New checks cfg and returns the backend. The module is loaded on first use.
func New(cfg Config) (*Signer, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	return &Signer{cfg: cfg}, nil
}

// Method is the configured method, eid or x509.
func (s *Signer) Method() string { return s.cfg.Method }

// Close lets go of the module; the last Signer using it finalises and unloads it. It waits
// for a call in progress on the module.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.mod == nil {
		return nil
	}
	m := s.mod
	s.mod = nil
	return m.release()
}

func (s *Signer) module() (*module, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("pkcs11signer: the signer is closed")
	}
	if s.mod == nil {
		m, err := acquireModule(s.cfg.Module)
		if err != nil {
			return nil, err
		}
		s.mod = m
	}
	return s.mod, nil
}

// session is one open session on the selected token.
type session struct {
	c     *pkcs11.Ctx
	h     pkcs11.SessionHandle
	slot  uint
	token pkcs11.TokenInfo
}

// withSession runs fn in a new read-only session on the configured token, holding the
// module, and closes the session afterwards.
func (s *Signer) withSession(ctx context.Context, fn func(*session) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := s.module()
	if err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	slot, info, err := s.findSlot(m.ctx)
	if err != nil {
		return err
	}
	h, err := m.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return wrap(err, "cannot open a session on token %q", info.Label)
	}
	defer m.ctx.CloseSession(h) //nolint:errcheck // nothing to do if the card is gone
	return fn(&session{c: m.ctx, h: h, slot: slot, token: info})
}

// findSlot picks the configured token among those present.
func (s *Signer) findSlot(c *pkcs11.Ctx) (uint, pkcs11.TokenInfo, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, wrap(err, "cannot list the slots of %s", s.cfg.Module)
	}
	if want := s.cfg.Slot; want != nil {
		if !slices.Contains(slots, *want) {
			return 0, pkcs11.TokenInfo{}, unavailable(nil, "no token in slot %d (is the card inserted?)", *want)
		}
		info, err := c.GetTokenInfo(*want)
		if err != nil {
			return 0, info, wrap(err, "cannot read the token in slot %d", *want)
		}
		info.Label = trimLabel(info.Label)
		if s.cfg.TokenLabel != "" && info.Label != s.cfg.TokenLabel {
			return 0, info, unavailable(nil, "slot %d holds token %q, not %q", *want, info.Label, s.cfg.TokenLabel)
		}
		return *want, info, nil
	}
	var found []uint
	var infos []pkcs11.TokenInfo
	var labels []string
	for _, id := range slots {
		info, err := c.GetTokenInfo(id)
		if err != nil || info.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue // being removed, or SoftHSM's spare uninitialised token
		}
		info.Label = trimLabel(info.Label)
		labels = append(labels, fmt.Sprintf("%q (slot %d)", info.Label, id))
		if s.cfg.TokenLabel == "" || info.Label == s.cfg.TokenLabel {
			found = append(found, id)
			infos = append(infos, info)
		}
	}
	present := "none"
	if len(labels) > 0 {
		present = strings.Join(labels, ", ")
	}
	switch {
	case len(found) == 1:
		return found[0], infos[0], nil
	case len(found) == 0 && s.cfg.TokenLabel != "":
		return 0, pkcs11.TokenInfo{}, unavailable(nil, "no token labelled %q is present (is the card inserted?); tokens present: %s", s.cfg.TokenLabel, present)
	case len(found) == 0:
		return 0, pkcs11.TokenInfo{}, unavailable(nil, "no token is present in %s (is the card inserted?)", s.cfg.Module)
	default:
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("pkcs11signer: %d tokens match (%s); configure Slot or TokenLabel", len(found), present)
	}
}

func trimLabel(l string) string { return strings.TrimRight(l, " \x00") }

// Certificate returns the certificate labelled CertLabel and the CA certificates on the
// token that issued it, leaf first. The credential is the certificate label.
func (s *Signer) Certificate(ctx context.Context, _ backend.Signer, _ backend.Interaction) ([]*x509.Certificate, string, error) {
	var chain []*x509.Certificate
	err := s.withSession(ctx, func(ss *session) error {
		leaf, _, err := ss.certificate(s.cfg.CertLabel)
		if err != nil {
			return err
		}
		all, err := ss.certificates()
		if err != nil {
			return err
		}
		chain = buildChain(leaf, all)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return chain, s.cfg.CertLabel, nil
}

// Sign signs r.Hash with the key that has the certificate's CKA_ID, after logging in.
func (s *Signer) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	if err := checkHash(r.Hash, r.HashAlg); err != nil {
		return backend.Result{}, err
	}
	if r.Credential != "" && r.Credential != s.cfg.CertLabel {
		return backend.Result{}, fmt.Errorf("pkcs11signer: credential %q is not this backend's certificate %q", r.Credential, s.cfg.CertLabel)
	}
	var res backend.Result
	err := s.withSession(ctx, func(ss *session) error {
		leaf, id, err := ss.certificate(s.cfg.CertLabel)
		if err != nil {
			return err
		}
		if len(r.Chain) > 0 && r.Chain[0] != nil && !r.Chain[0].Equal(leaf) {
			return unavailable(nil, "the certificate on token %q is not the one this signature was prepared for (was the card changed?)", ss.token.Label)
		}
		alg, err := signatureAlgorithm(leaf.PublicKey, r.HashAlg)
		if err != nil {
			return err
		}
		pin, ours, err := s.login(ctx, ss, in)
		if err != nil {
			return err
		}
		if ours {
			defer ss.c.Logout(ss.h) //nolint:errcheck // closing the session logs out anyway
		}
		key, alwaysAuth, err := s.privateKey(ss, id, leaf)
		if err != nil {
			return err
		}
		mech, data := uint(pkcs11.CKM_ECDSA), r.Hash
		if _, ok := leaf.PublicKey.(*rsa.PublicKey); ok {
			mech = pkcs11.CKM_RSA_PKCS
			if data, err = digestInfo(r.Hash, r.HashAlg); err != nil {
				return err
			}
		}
		what := "the HSM key"
		if s.cfg.Method == MethodEID {
			what = "the card"
		}
		status(in, protocol.StateSigning, "", "Signing with "+what)
		if err := ss.c.SignInit(ss.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, key); err != nil {
			return wrap(err, "the token refused to start the signature")
		}
		if alwaysAuth { // the key wants the PIN again for each signature (eID's, for one)
			if err := ss.c.Login(ss.h, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
				return ss.loginError(err) // closing the session ends the signing operation
			}
		}
		sig, err := ss.c.Sign(ss.h, data)
		if err != nil {
			return wrap(err, "the token could not sign")
		}
		if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); ok {
			if sig, err = ecdsaRawToDER(sig, pub); err != nil {
				return err
			}
		}
		if err := verifyRaw(leaf.PublicKey, r.Hash, r.HashAlg, sig); err != nil {
			return fmt.Errorf("pkcs11signer: the signature made by the key on token %q does not verify with certificate %q: %w", ss.token.Label, s.cfg.CertLabel, err)
		}
		res = backend.Result{Signature: sig, Algorithm: alg}
		return nil
	})
	return res, err
}

// login logs the user in and returns the PIN used ("" for a pinpad or the module's own
// dialog), which a CKA_ALWAYS_AUTHENTICATE key needs again, and whether this login is ours
// to end (false when the process was logged in already).
func (s *Signer) login(ctx context.Context, ss *session, in backend.Interaction) (string, bool, error) {
	pin := s.cfg.PIN
	interactive := s.cfg.Method == MethodEID || s.cfg.PINFunc != nil || pin == ""
	if interactive {
		msg := "Enter your card PIN"
		if ss.token.Flags&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0 && s.cfg.PINFunc == nil && pin == "" {
			msg = "Enter your card PIN on the card reader"
		}
		status(in, protocol.StateAwaitingApproval, "", msg)
	}
	if s.cfg.PINFunc != nil {
		var err error
		if pin, err = s.cfg.PINFunc(ctx); err != nil {
			return "", false, &Error{Msg: "no PIN was given", Kind: backend.ErrRefused, Err: err}
		}
	}
	err := ss.c.Login(ss.h, pkcs11.CKU_USER, pin)
	switch {
	case err == nil:
		return pin, true, nil
	case isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN):
		return pin, false, nil
	}
	return "", false, ss.loginError(err)
}

// loginError explains a failed C_Login.
func (ss *session) loginError(err error) error {
	var rv pkcs11.Error
	errors.As(err, &rv)
	switch uint(rv) {
	case pkcs11.CKR_PIN_INCORRECT:
		msg := fmt.Sprintf("wrong PIN for token %q", ss.token.Label)
		if info, e := ss.c.GetTokenInfo(ss.slot); e == nil {
			switch {
			case info.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
				msg += "; one more wrong PIN blocks it"
			case info.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
				msg += "; few tries are left before it is blocked"
			}
		}
		return &Error{Msg: msg, Kind: backend.ErrRefused, Err: err}
	case pkcs11.CKR_PIN_LOCKED:
		return &Error{Msg: fmt.Sprintf("the PIN of token %q is blocked (unblock it with the PUK; for an eID card at the municipality)", ss.token.Label), Kind: backend.ErrRefused, Err: err}
	case pkcs11.CKR_PIN_EXPIRED:
		return &Error{Msg: fmt.Sprintf("the PIN of token %q has expired and must be changed", ss.token.Label), Kind: backend.ErrRefused, Err: err}
	case pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
		return &Error{Msg: fmt.Sprintf("the PIN given for token %q is not a valid PIN", ss.token.Label), Kind: backend.ErrRefused, Err: err}
	case pkcs11.CKR_FUNCTION_CANCELED:
		return &Error{Msg: "PIN entry was cancelled", Kind: backend.ErrRefused, Err: err}
	case pkcs11.CKR_ARGUMENTS_BAD:
		return &Error{Msg: fmt.Sprintf("no PIN is configured and token %q has no PIN pad", ss.token.Label), Err: err}
	}
	return wrap(err, "cannot log in to token %q", ss.token.Label)
}

// certificate finds the X.509 certificate labelled label; it returns it and its CKA_ID.
func (ss *session) certificate(label string) (*x509.Certificate, []byte, error) {
	handles, err := ss.find([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	})
	if err != nil {
		return nil, nil, err
	}
	switch len(handles) {
	case 0:
		return nil, nil, notFound("no certificate labelled %q on token %q (certificates there: %s)", label, ss.token.Label, ss.certLabels())
	case 1:
	default:
		return nil, nil, fmt.Errorf("pkcs11signer: %d certificates are labelled %q on token %q", len(handles), label, ss.token.Label)
	}
	attrs, err := ss.c.GetAttributeValue(ss.h, handles[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
	})
	if err != nil {
		return nil, nil, wrap(err, "cannot read certificate %q", label)
	}
	cert, err := x509.ParseCertificate(attrs[0].Value)
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11signer: certificate %q on token %q is not readable: %w", label, ss.token.Label, err)
	}
	return cert, attrs[1].Value, nil
}

// certificates returns every readable X.509 certificate on the token.
func (ss *session) certificates() ([]*x509.Certificate, error) {
	handles, err := ss.find([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
	})
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, h := range handles {
		attrs, err := ss.c.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(attrs[0].Value); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// certLabels lists the certificate labels on the token, for error messages.
func (ss *session) certLabels() string {
	handles, err := ss.find([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE)})
	if err != nil || len(handles) == 0 {
		return "none"
	}
	var labels []string
	for _, h := range handles {
		if attrs, err := ss.c.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil)}); err == nil {
			labels = append(labels, fmt.Sprintf("%q", attrs[0].Value))
		}
	}
	return strings.Join(labels, ", ")
}

// privateKey finds the signing key: CKA_ID id (and KeyLabel if configured); a certificate
// without CKA_ID falls back to the key label. It reports whether the key wants the PIN
// for every signature.
func (s *Signer) privateKey(ss *session, id []byte, leaf *x509.Certificate) (pkcs11.ObjectHandle, bool, error) {
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}
	label := s.cfg.KeyLabel
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	} else if label == "" {
		label = s.cfg.CertLabel
	}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	handles, err := ss.find(tmpl)
	if err != nil {
		return 0, false, err
	}
	what := fmt.Sprintf("with the CKA_ID (%x) of certificate %q", id, s.cfg.CertLabel)
	if len(id) == 0 {
		what = fmt.Sprintf("labelled %q", label)
	} else if label != "" {
		what += fmt.Sprintf(" and labelled %q", label)
	}
	switch len(handles) {
	case 0:
		return 0, false, notFound("no private key %s on token %q", what, ss.token.Label)
	case 1:
	default:
		return 0, false, fmt.Errorf("pkcs11signer: %d private keys %s on token %q", len(handles), what, ss.token.Label)
	}
	key := handles[0]
	attrs, err := ss.c.GetAttributeValue(ss.h, key, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
	if err != nil {
		return 0, false, wrap(err, "cannot read the type of the private key %s", what)
	}
	want := uint(pkcs11.CKK_EC)
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); ok {
		want = pkcs11.CKK_RSA
	}
	if got := ulong(attrs[0].Value); got != want {
		return 0, false, fmt.Errorf("pkcs11signer: the private key %s has key type %#x, but the certificate holds a %T", what, got, leaf.PublicKey)
	}
	always := false
	if attrs, err := ss.c.GetAttributeValue(ss.h, key, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil)}); err == nil && len(attrs[0].Value) == 1 {
		always = attrs[0].Value[0] != 0
	}
	return key, always, nil
}

// ulong decodes a CK_ULONG attribute value (native byte order, which is little-endian on
// every platform the relay runs on).
func ulong(b []byte) uint {
	var v uint
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint(b[i])
	}
	return v
}

// maxObjects bounds a search; a card holds a handful of objects, an HSM partition may
// hold many, but never this many with one label.
const maxObjects = 1024

// find returns the objects matching tmpl.
func (ss *session) find(tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := ss.c.FindObjectsInit(ss.h, tmpl); err != nil {
		return nil, wrap(err, "cannot search token %q", ss.token.Label)
	}
	var out []pkcs11.ObjectHandle
	for len(out) < maxObjects {
		batch, _, err := ss.c.FindObjects(ss.h, 64)
		if err != nil {
			ss.c.FindObjectsFinal(ss.h) //nolint:errcheck // the search failed already
			return nil, wrap(err, "cannot search token %q", ss.token.Label)
		}
		if len(batch) == 0 {
			break
		}
		out = append(out, batch...)
	}
	if err := ss.c.FindObjectsFinal(ss.h); err != nil {
		return nil, wrap(err, "cannot search token %q", ss.token.Label)
	}
	return out, nil
}

// wrap classifies a PKCS#11 error: a missing or failing token is ErrUnavailable.
func wrap(err error, format string, args ...any) error {
	e := &Error{Msg: fmt.Sprintf(format, args...), Err: err}
	var rv pkcs11.Error
	if errors.As(err, &rv) {
		switch uint(rv) {
		case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_DEVICE_REMOVED,
			pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_MEMORY, pkcs11.CKR_SLOT_ID_INVALID,
			pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_SESSION_COUNT,
			pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, pkcs11.CKR_HOST_MEMORY, pkcs11.CKR_GENERAL_ERROR,
			pkcs11.CKR_FUNCTION_FAILED:
			e.Kind = backend.ErrUnavailable
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_FUNCTION_CANCELED:
			e.Kind = backend.ErrRefused
		}
	}
	return e
}

// status reports progress to the page, if there is one.
func status(in backend.Interaction, state, url, msg string) {
	if in != nil {
		in.Status(state, url, msg)
	}
}
