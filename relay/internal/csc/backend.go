package csc

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/protocol"
)

// Backend signs through a CSC service whose authorisations go through the signer's
// browser (oauth2code), such as itsme®. It implements backend.Backend.
//
// Errors: every failure of the signer or the service matches one of backend.ErrTimeout (the signer did not answer, or
// ctx's deadline passed), backend.ErrRefused (the signer declined or gave a wrong PIN too
// often; also requests the provider will never accept, such as a label it cannot show or
// a hash it cannot sign — repeating them is pointless) or backend.ErrUnavailable (the
// service failed, could not be reached, or a token expired: a retry starts a new dance
// and may work). The CSC details stay reachable with errors.As (*Error, *TextError).
// Arguments the relay got wrong (no signer id, no credential, a digest of the wrong size)
// are plain errors: they are bugs, not answers.
//
// With Config.Checkpoints, the credential dance of every Sign whose Request names a Job is
// also kept in the store until it ends, and the Backend is a backend.Resumable: a relay
// restarted while the signer was approving finishes the signature when the approval
// arrives (CallbackHandler), and hands it to the handler given to Resume.
type Backend struct {
	client      *Client
	now         func() time.Time
	checkpoints Checkpoints

	mu       sync.Mutex
	dances   map[string]*dance   // by state
	sessions map[string]*session // by signer id
	resume   func(job string, complete backend.Completion)
}

// session is what dance 1 gave for one signer: the service access token (reused until it
// expires, so identifying again within the hour asks nothing of the signer) and the
// credential it led to.
type session struct {
	token      string
	expiry     time.Time
	credential string
	chain      []*x509.Certificate
	keyAlgos   []string
}

// expiryMargin keeps a token that is about to expire from being used for a call that
// would fail half-way.
const expiryMargin = 30 * time.Second

// NewBackend returns the backend for cfg's provider.
func NewBackend(cfg Config) (*Backend, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if c.cfg.Profile.Method == "" {
		return nil, errors.New("csc: the profile names no method")
	}
	return &Backend{client: c, now: c.cfg.Now, checkpoints: cfg.Checkpoints, dances: map[string]*dance{}, sessions: map[string]*session{}}, nil
}

// Client returns the CSC client the backend uses.
func (b *Backend) Client() *Client { return b.client }

// Method is the profile's method name ("itsme").
func (b *Backend) Method() string { return b.client.cfg.Profile.Method }

func (b *Backend) appMessage(what string) string {
	name := b.client.cfg.Profile.DisplayName
	if name == "" {
		name = b.client.cfg.Profile.Method
	}
	return what + " in the " + name + " app"
}

// Certificate runs dance 1 (scope service) unless a token of the signer's is still valid,
// then reads the credential and its chain. The first time a user signs, the provider asks
// them inside this dance to consent to the creation of their certificate.
func (b *Backend) Certificate(ctx context.Context, s backend.Signer, in backend.Interaction) ([]*x509.Certificate, string, error) {
	if s.ID == "" {
		return nil, "", errors.New("csc: the signer has no account id")
	}
	if sess := b.session(s.ID); sess != nil {
		chain, cred, err := b.describe(ctx, s.ID, sess.token)
		if err == nil {
			return chain, cred, nil
		}
		if !errors.Is(err, ErrExpired) {
			return nil, "", mapError(err)
		}
		b.forget(s.ID) // the service ended it early: dance again
	}
	code, err := b.authorize(ctx, s, in, b.client.cfg.Profile.ServiceScope, nil, protocol.StateAwaitingConsent, b.appMessage("Confirm"), nil)
	if err != nil {
		return nil, "", mapError(err)
	}
	tok, err := b.client.Token(ctx, code)
	if err != nil {
		return nil, "", mapError(err)
	}
	b.mu.Lock()
	b.sessions[s.ID] = &session{token: tok.AccessToken, expiry: tok.Expiry}
	b.mu.Unlock()
	chain, cred, err := b.describe(ctx, s.ID, tok.AccessToken)
	if err != nil {
		return nil, "", mapError(err)
	}
	return chain, cred, nil
}

// describe reads the signer's credential and chain with an access token, and remembers them.
func (b *Backend) describe(ctx context.Context, signerID, token string) ([]*x509.Certificate, string, error) {
	ids, err := b.client.CredentialsList(ctx, token, 10)
	if err != nil {
		return nil, "", err
	}
	if len(ids) == 0 {
		return nil, "", fmt.Errorf("%w: the user has no credential", ErrProtocol)
	}
	info, err := b.client.CredentialsInfo(ctx, token, ids[0])
	if err != nil {
		return nil, "", err
	}
	b.mu.Lock()
	if sess := b.sessions[signerID]; sess != nil && sess.token == token {
		sess.credential, sess.chain, sess.keyAlgos = ids[0], info.Chain, info.Key.Algo
	}
	b.mu.Unlock()
	return info.Chain, ids[0], nil
}

// Sign runs dance 2 (scope credential) bound to r.Hash, exchanges the code for the SAD and
// calls signHash. One approval makes exactly one signature; Client.SignHash signs up to
// Profile.MaxHashes under one authorisation for callers that batch.
//
// With checkpoints and r.Job, the dance is stored before the signer sees the URL. When
// ctx is cancelled while the signer has not answered yet — the relay is stopping — the
// stored dance is kept, for the next process to complete; every other end deletes it.
func (b *Backend) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	if r.Signer.ID == "" || r.Credential == "" {
		return backend.Result{}, errors.New("csc: Sign needs the signer's account id and the credential Certificate returned")
	}
	switch r.HashAlg {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return backend.Result{}, fmt.Errorf("csc: hash algorithm %v is not offered", r.HashAlg)
	}
	if len(r.Hash) != r.HashAlg.Size() {
		return backend.Result{}, fmt.Errorf("csc: the hash has %d bytes, not a %v digest", len(r.Hash), r.HashAlg)
	}
	sess := b.session(r.Signer.ID)
	chain := r.Chain
	var offered []string
	if sess != nil && sess.credential == r.Credential {
		offered = sess.keyAlgos
		if len(chain) == 0 {
			chain = sess.chain
		}
	}
	if len(chain) == 0 {
		return backend.Result{}, errors.New("csc: Sign needs the certificate chain")
	}
	oid, alg, err := SignAlgorithm(chain[0].PublicKey, r.HashAlg, offered)
	if err != nil {
		return backend.Result{}, mapError(err)
	}
	extra, err := b.client.CredentialParams(r.Credential, [][]byte{r.Hash}, r.Label)
	if err != nil {
		return backend.Result{}, mapError(err)
	}
	var rec *danceRecord
	if b.checkpoints != nil && r.Job != "" {
		key, err := x509.MarshalPKIXPublicKey(chain[0].PublicKey)
		if err != nil {
			return backend.Result{}, fmt.Errorf("csc: the certificate's key: %w", err)
		}
		rec = &danceRecord{Signer: r.Signer.ID, Credential: r.Credential, Hash: r.Hash, SignAlgo: oid,
			Key: key, Label: r.Label, Job: r.Job}
	}
	code, err := b.authorize(ctx, r.Signer, in, b.client.cfg.Profile.CredentialScope, extra, protocol.StateAwaitingApproval, b.appMessage("Confirm the signature"), rec)
	if rec != nil && !(err != nil && errors.Is(err, context.Canceled)) {
		// The job marker stays only with a dance kept for the next process; otherwise
		// this call ends the request, and the relay stores its outcome next.
		defer b.unpersist(jobKey(rec.Job))
	}
	if err != nil {
		return backend.Result{}, mapError(err)
	}
	sad, err := b.client.Token(ctx, code)
	if err != nil {
		return backend.Result{}, mapError(err)
	}
	in.Status(protocol.StateSigning, "", "")
	// The service token authenticates signHash; without one (it expired since
	// Certificate), CSC v1 lets the credential-scope token stand in as the bearer.
	bearer := sad.AccessToken
	if sess != nil {
		bearer = sess.token
	}
	sigs, err := b.client.SignHash(ctx, bearer, r.Credential, sad.AccessToken, [][]byte{r.Hash}, oid)
	if err != nil && bearer != sad.AccessToken && errors.Is(err, ErrExpired) {
		b.forget(r.Signer.ID)
		sigs, err = b.client.SignHash(ctx, sad.AccessToken, r.Credential, sad.AccessToken, [][]byte{r.Hash}, oid)
	}
	if err != nil {
		return backend.Result{}, mapError(err)
	}
	// A signature that does not verify would only fail later, inside the CMS; say so here.
	if err := verifyRaw(chain[0].PublicKey, r.HashAlg, r.Hash, sigs[0]); err != nil {
		return backend.Result{}, mapError(fmt.Errorf("%w: the signature does not match the certificate: %v", ErrProtocol, err))
	}
	return backend.Result{Signature: sigs[0], Algorithm: alg}, nil
}

// Forget revokes the signer's service token, if any, and drops it (end of a session).
func (b *Backend) Forget(ctx context.Context, signerID string) error {
	sess := b.session(signerID)
	b.forget(signerID)
	if sess == nil {
		return nil
	}
	return b.client.Revoke(ctx, sess.token, sess.token)
}

// session returns the signer's session while its token is valid, and drops expired ones.
func (b *Backend) session(signerID string) *session {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, s := range b.sessions {
		if !now.Add(expiryMargin).Before(s.expiry) {
			delete(b.sessions, id)
		}
	}
	if s := b.sessions[signerID]; s != nil {
		c := *s
		return &c
	}
	return nil
}

func (b *Backend) forget(signerID string) {
	b.mu.Lock()
	delete(b.sessions, signerID)
	b.mu.Unlock()
}

// mapError wraps err in the backend error the relay turns into a protocol code.
func mapError(err error) error {
	var te *TextError
	var ce *Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err // the session is gone: nobody reads the answer
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", backend.ErrTimeout, err)
	case errors.As(err, &te), errors.Is(err, ErrTooManyHashes), errors.Is(err, ErrUnsupportedAlgorithm):
		return fmt.Errorf("%w: %w", backend.ErrRefused, err)
	case errors.As(err, &ce) && ce.TimedOut():
		return fmt.Errorf("%w: %w", backend.ErrTimeout, err)
	case errors.As(err, &ce) && ce.Denied():
		return fmt.Errorf("%w: %w", backend.ErrRefused, err)
	}
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
}

var _ backend.Resumable = (*Backend)(nil)
