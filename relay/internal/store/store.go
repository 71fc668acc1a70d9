// Package store keeps what the relay must not lose: sessions and their pending or finished
// signatures (so an approved signature is delivered exactly once, across reconnects and
// restarts), the audit trail, and credits. It holds no document; beyond what the portal's
// session token carries, the only personal data is a session's Identity, kept only while
// the session lives.
package store

import (
	"context"
	"errors"
	"time"
)

// Session is a signing session opened by a portal's token.
type Session struct {
	ID       string
	SignerID string // from the token
	Audience string
	Methods  []string // allowed by the token
	MaxSigns int
	Expires  time.Time
	Created  time.Time
	// Method, Chain (DER, leaf first), Credential and Signer are set by identify, and kept
	// with the session so that a client resuming it on another relay, or after a restart,
	// signs without identifying again.
	Method     string
	Chain      [][]byte
	Credential string
	Signer     Identity
}

// Identity is who identified in a session, as the page said: the name, email and capacity
// shown with the signature, the phone a TAN code goes to. It lives as long as the session
// (the sweep deletes it with it) and never enters the audit trail.
type Identity struct {
	Name     string
	Email    string
	Capacity string
	Phone    string
}

// Job is one requested signature, keyed by (session, digest): asking again for the same
// digest finds the same job, so a signer is never asked twice for it.
type Job struct {
	SessionID string
	Digest    []byte
	HashAlg   string
	Label     string
	Level     string
	State     string // pending, done, failed
	CMS       []byte // set when done
	ErrCode   string // set when failed
	ErrMsg    string
	Delivered bool // the client acknowledged the CMS
	Created   time.Time
	Updated   time.Time
}

// Job states. A job goes pending → done or failed, possibly through signed: the CMS is
// made (the signer approved) but its timestamp is missing, so a retry asks only the TSA.
const (
	JobPending = "pending"
	JobSigned  = "signed"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Audit is one record of the audit trail: what was signed, how, with which certificate.
type Audit struct {
	Time       time.Time
	SessionID  string
	SignerID   string
	Method     string
	Digest     []byte
	CertSerial string
	Outcome    string // signed, refused, failed
}

// Booking is what CompleteJob books for a finished signature.
type Booking struct {
	Audit   Audit
	Credits float64
	Priced  bool // false: the method has no price, no credit row is touched
}

// Credit is a portal's consumption for one signer, in OKSign's shape.
type Credit struct {
	SignerID      string  `json:"signerid"`
	SigningOption string  `json:"signingoption"`
	Credits       float64 `json:"credits"`
	Subscription  float64 `json:"subscription"`
}

// Store is implemented by SQLite (the default, embedded) and PostgreSQL (several relays
// behind a load balancer). Every method is safe for concurrent use.
type Store interface {
	// CreateSession stores a new session; ErrExists when the id is taken.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns a session; ErrNotFound when it does not exist or has expired.
	Session(ctx context.Context, id string) (*Session, error)
	// UpdateSession saves the identify result of a session (Method, Chain, Credential,
	// Signer).
	UpdateSession(ctx context.Context, s *Session) error
	// StartJob creates the job for (session, digest) unless it exists, atomically, and
	// returns the stored job and whether this call created it. A session's job count is
	// checked against max: ErrLimit when creating one more would exceed it.
	StartJob(ctx context.Context, j *Job, max int) (stored *Job, created bool, err error)
	// Job returns the job for (session, digest); ErrNotFound when there is none.
	Job(ctx context.Context, sessionID string, digest []byte) (*Job, error)
	// FinishJob records a job's progress or outcome: signed or done with a CMS, failed
	// with a code. Only a pending or signed job changes.
	FinishJob(ctx context.Context, j *Job) error
	// CompleteJob records a job done, as FinishJob, and in the same transaction books it:
	// the audit record and, when b.Priced, b.Credits for (b.Audit.SignerID, b.Audit.Method).
	// A signature is thus never stored without its booking, and never booked twice: when
	// the job is already done with the same CMS nothing changes and nil is returned.
	CompleteJob(ctx context.Context, j *Job, b *Booking) error
	// PendingJobs lists the session's jobs that are done but not acknowledged, or pending.
	PendingJobs(ctx context.Context, sessionID string) ([]*Job, error)
	// Acknowledge marks a done job as delivered.
	Acknowledge(ctx context.Context, sessionID string, digest []byte) error
	// AddAudit appends to the audit trail; AddCredit books the price of a signature.
	AddAudit(ctx context.Context, a *Audit) error
	AddCredit(ctx context.Context, signerID, method string, credits float64) error
	// Credits returns a signer's consumption per method.
	Credits(ctx context.Context, signerID string) ([]Credit, error)
	// Ping checks that the store can take writes (a full disk makes it fail).
	Ping(ctx context.Context) error
	// Expire deletes sessions, jobs and checkpoints that expired before now.
	Expire(ctx context.Context, now time.Time) error

	// Checkpoints are small opaque records (a few hundred bytes, never a document) that
	// let work waiting on someone outside the relay outlive the process that started it:
	// an itsme® approval the signer gives after the relay was restarted still completes
	// the signature it was asked for, instead of being refused and asked for again.
	//
	// PutCheckpoint stores value under key until expires, replacing what key held.
	PutCheckpoint(ctx context.Context, key string, value []byte, expires time.Time) error
	// Checkpoint returns the value under key; ErrNotFound when absent or expired.
	Checkpoint(ctx context.Context, key string) ([]byte, error)
	// TakeCheckpoint returns the value under key and deletes it, atomically: of callers
	// racing for one key (in this process or on another relay) exactly one gets it, the
	// others ErrNotFound — what makes a checkpoint single-use. Expired ones are not taken.
	TakeCheckpoint(ctx context.Context, key string) ([]byte, error)
	// DeleteCheckpoint removes key; deleting what is not there is not an error.
	DeleteCheckpoint(ctx context.Context, key string) error
	Close() error
}

var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrLimit    = errors.New("store: the session's signature limit is reached")
	// ErrUnwritable marks a write the store could not make because it cannot take writes
	// now: a full disk, an I/O error, a read-only file. It passes once the cause is fixed,
	// so callers refuse new work and keep what they have, rather than give up on it.
	ErrUnwritable = errors.New("store: cannot write")
)
