package csc

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/store"
)

// Checkpoints is the durable part of the Backend, with the semantics of store.Store's
// methods of the same names (which the relay's store provides): ErrNotFound for a key
// absent or expired, and TakeCheckpoint atomic across every relay sharing the store.
type Checkpoints interface {
	PutCheckpoint(ctx context.Context, key string, value []byte, expires time.Time) error
	Checkpoint(ctx context.Context, key string) ([]byte, error)
	TakeCheckpoint(ctx context.Context, key string) ([]byte, error)
	DeleteCheckpoint(ctx context.Context, key string) error
}

// danceRecord is what a credential dance needs to be finished by a process that did not
// start it: everything signHash takes except the SAD, which the callback's code yields,
// and the key that checks the answer. No token is kept: with the SAD as bearer (CSC v1
// allows a credential-scope token there) the service token is not needed, so a copy of
// the store grants nothing.
type danceRecord struct {
	Signer     string `json:"signer"`     // the account id (account_token sub)
	Credential string `json:"credential"` // credentialID
	Hash       []byte `json:"hash"`       // the one hash the approval covers
	SignAlgo   string `json:"signAlgo"`   // signAlgo OID; it also fixes the hash algorithm
	Key        []byte `json:"key"`        // the leaf's SubjectPublicKeyInfo
	Label      string `json:"label"`      // what the signer saw, for the logs of a support case
	Job        string `json:"job"`        // the relay's job, handed back on completion
	// Code and Err are filled in by the callback that ends the dance (not stored).
	code string
	err  *Error
}

// Checkpoint keys. The state itself is a bearer secret that ties a callback to its dance;
// only its hash is stored, so reading the store does not let anyone forge a callback.
const (
	danceKeyPrefix = "csc:dance:"
	jobKeyPrefix   = "csc:job:"
)

func danceKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return danceKeyPrefix + hex.EncodeToString(h[:])
}

func jobKey(job string) string { return jobKeyPrefix + job }

const (
	// danceLifetime is how long a dance is kept when the caller's context has no deadline;
	// the relay always sets one (its approval timeout).
	danceLifetime = 10 * time.Minute
	// jobMarkerMargin keeps the job marker a little longer than its dance, so that it still
	// stands while an approval given at the last moment is being completed.
	jobMarkerMargin = 2 * time.Minute
	// storeTimeout bounds checkpoint writes made after the caller's context ended.
	storeTimeout = 5 * time.Second
)

// persist stores rec under the dance's state before the signer can see the authorise
// URL: the dance first, then the job marker, so that a crash in between leaves at worst
// a dance nobody can answer, never a marker that makes the relay wait for nothing.
func (b *Backend) persist(ctx context.Context, state string, rec *danceRecord) error {
	expires := time.Now().Add(danceLifetime)
	if d, ok := ctx.Deadline(); ok {
		expires = d
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := b.checkpoints.PutCheckpoint(ctx, danceKey(state), v, expires); err != nil {
		return err
	}
	return b.checkpoints.PutCheckpoint(ctx, jobKey(rec.Job), []byte(danceKey(state)), expires.Add(jobMarkerMargin))
}

// unpersist deletes a dance's checkpoints once this process is done with them. It runs
// when the caller's context may have ended, so it has its own.
func (b *Backend) unpersist(keys ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for _, k := range keys {
		b.checkpoints.DeleteCheckpoint(ctx, k) // an expiry sweeps what a failure leaves
	}
}

// Resume implements backend.Resumable: handler receives the approvals that arrive on
// CallbackHandler for dances this process did not start (it was restarted since). Until a
// handler is registered, such callbacks are answered 503 and left for a retry.
func (b *Backend) Resume(handler func(job string, complete backend.Completion)) {
	b.mu.Lock()
	b.resume = handler
	b.mu.Unlock()
}

// Outstanding implements backend.Resumable: whether job has a credential dance that some
// relay process started and that may still be approved.
func (b *Backend) Outstanding(ctx context.Context, job string) (bool, error) {
	if b.checkpoints == nil || job == "" {
		return false, nil
	}
	_, err := b.checkpoints.Checkpoint(ctx, jobKey(job))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// completion finishes a dance taken from the store: the code for the SAD, one signHash
// with the SAD as bearer, and a check of the raw signature against the stored key. The
// job marker goes when it is done; the relay holds the job meanwhile.
func (b *Backend) completion(rec *danceRecord) backend.Completion {
	return func(ctx context.Context) (backend.Result, error) {
		defer b.unpersist(jobKey(rec.Job))
		if rec.err != nil {
			return backend.Result{}, mapError(rec.err)
		}
		alg, h, ok := algorithmOf(rec.SignAlgo)
		if !ok || len(rec.Hash) != h.Size() {
			return backend.Result{}, fmt.Errorf("csc: the stored dance names signAlgo %q for a %d-byte hash", rec.SignAlgo, len(rec.Hash))
		}
		pub, err := x509.ParsePKIXPublicKey(rec.Key)
		if err != nil {
			return backend.Result{}, fmt.Errorf("csc: the stored dance's key: %w", err)
		}
		sad, err := b.client.Token(ctx, rec.code)
		if err != nil {
			return backend.Result{}, mapError(err)
		}
		sigs, err := b.client.SignHash(ctx, sad.AccessToken, rec.Credential, sad.AccessToken, [][]byte{rec.Hash}, rec.SignAlgo)
		if err != nil {
			return backend.Result{}, mapError(err)
		}
		if err := verifyRaw(pub, h, rec.Hash, sigs[0]); err != nil {
			return backend.Result{}, mapError(fmt.Errorf("%w: the signature does not match the certificate: %v", ErrProtocol, err))
		}
		return backend.Result{Signature: sigs[0], Algorithm: alg}, nil
	}
}
