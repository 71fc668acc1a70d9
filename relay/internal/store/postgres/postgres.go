// Package postgres is the store for several relays behind a load balancer: a client that
// reconnects to another relay finds its session and jobs, and StartJob stays atomic across
// relays. It uses pgx's native pool (github.com/jackc/pgx/v5), pure Go like the rest.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/internal/rules"
)

// migrateLock is the pg_advisory_xact_lock key that serialises schema migrations: relays
// started together against an empty database would otherwise race on CREATE TABLE. Any
// fixed number works; this one spells "veilsign" in ASCII.
const migrateLock int64 = 0x7665696c7369676e

// DB is a Store backed by PostgreSQL. Besides the Store methods it has Audits, for
// exporting the audit trail.
type DB struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*DB)(nil)

// Open connects to dsn (a postgres:// URL or key=value string; parameters pgx does not know,
// such as search_path, are sent to the server as settings) and brings the schema up to date.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, failed("store: postgres dsn", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, failed("store: postgres", err)
	}
	s := &DB{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrations are applied in order, each once; schema_version holds how many were. Append
// new steps, never edit applied ones.
var migrations = []string{
	`CREATE TABLE sessions (
		id         text PRIMARY KEY,
		signer_id  text NOT NULL,
		audience   text NOT NULL,
		methods    text[] NOT NULL,
		max_signs  integer NOT NULL,
		expires    timestamptz NOT NULL,
		created    timestamptz NOT NULL,
		method     text NOT NULL DEFAULT '',
		chain      bytea[] NOT NULL DEFAULT '{}', -- DER, leaf first
		credential text NOT NULL DEFAULT ''
	);
	CREATE INDEX sessions_expires ON sessions (expires);
	CREATE TABLE jobs (
		session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
		digest     bytea NOT NULL,
		hash_alg   text NOT NULL,
		label      text NOT NULL,
		level      text NOT NULL,
		state      text NOT NULL CHECK (state IN ('pending', 'signed', 'done', 'failed')),
		cms        bytea,
		err_code   text NOT NULL DEFAULT '',
		err_msg    text NOT NULL DEFAULT '',
		delivered  boolean NOT NULL DEFAULT false,
		created    timestamptz NOT NULL,
		updated    timestamptz NOT NULL,
		PRIMARY KEY (session_id, digest)
	);
	-- The audit trail outlives the sessions it records: no foreign key.
	CREATE TABLE audit (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		time        timestamptz NOT NULL,
		session_id  text NOT NULL,
		signer_id   text NOT NULL,
		method      text NOT NULL,
		digest      bytea NOT NULL,
		cert_serial text NOT NULL,
		outcome     text NOT NULL
	);
	CREATE INDEX audit_session ON audit (session_id);
	CREATE TABLE credits (
		signer_id text NOT NULL,
		method    text NOT NULL,
		credits   double precision NOT NULL,
		PRIMARY KEY (signer_id, method)
	);
	-- Ping commits a change to this one row to prove the database still takes writes.
	CREATE TABLE write_probe (
		id integer PRIMARY KEY CHECK (id = 1),
		n  bigint NOT NULL,
		at timestamptz NOT NULL
	);
	INSERT INTO write_probe (id, n, at) VALUES (1, 0, now());
	-- Work waiting outside the relay (an itsme approval) that must survive a restart.
	CREATE TABLE checkpoints (
		key     text PRIMARY KEY,
		value   bytea NOT NULL,
		expires timestamptz NOT NULL
	);
	CREATE INDEX checkpoints_expires ON checkpoints (expires);`,
	// Who identified, so that identify survives a restart (store.Identity).
	`ALTER TABLE sessions ADD COLUMN signer_name text NOT NULL DEFAULT '',
		ADD COLUMN signer_email text NOT NULL DEFAULT '',
		ADD COLUMN signer_capacity text NOT NULL DEFAULT '',
		ADD COLUMN signer_phone text NOT NULL DEFAULT '';`,
}

// migrate holds the advisory lock for its transaction: relays started together wait for the
// first one instead of racing; DDL is transactional, so a failed step changes nothing.
func (s *DB) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return failed("store: schema lock", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
			return failed("store: schema", err)
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return failed("store: schema", err)
			}
		} else if err != nil {
			return failed("store: schema", err)
		}
		if v > len(migrations) {
			// An older relay must not write into a schema it does not know.
			return fmt.Errorf("store: the database has schema version %d, this relay knows up to %d", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("store: schema step %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, len(migrations)); err != nil {
			return failed("store: schema", err)
		}
		return nil
	})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// CreateSession implements store.Store.
func (s *DB) CreateSession(ctx context.Context, sess *store.Session) error {
	if err := rules.CheckSession(sess); err != nil {
		return err
	}
	created := sess.Created
	if created.IsZero() {
		created = time.Now()
	}
	// ON CONFLICT DO NOTHING tells a taken id from a failed write without parsing SQLSTATEs.
	who := &sess.Signer
	tag, err := s.pool.Exec(ctx, `INSERT INTO sessions
		(id, signer_id, audience, methods, max_signs, expires, created, method, chain, credential,
		signer_name, signer_email, signer_capacity, signer_phone)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
		sess.ID, sess.SignerID, sess.Audience, nonNil(sess.Methods), sess.MaxSigns,
		rules.Norm(sess.Expires), rules.Norm(created), sess.Method, nonNil(sess.Chain), sess.Credential,
		who.Name, who.Email, who.Capacity, who.Phone)
	if err != nil {
		return failed("store: create session", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: session %q", store.ErrExists, sess.ID)
	}
	return nil
}

// Session implements store.Store.
func (s *DB) Session(ctx context.Context, id string) (*store.Session, error) {
	var sess store.Session
	who := &sess.Signer
	err := s.pool.QueryRow(ctx, `SELECT id, signer_id, audience, methods, max_signs, expires,
		created, method, chain, credential, signer_name, signer_email, signer_capacity, signer_phone
		FROM sessions WHERE id = $1 AND expires > $2`, id, rules.Now()).
		Scan(&sess.ID, &sess.SignerID, &sess.Audience, &sess.Methods, &sess.MaxSigns, &sess.Expires,
			&sess.Created, &sess.Method, &sess.Chain, &sess.Credential, &who.Name, &who.Email, &who.Capacity, &who.Phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: session %q", store.ErrNotFound, id)
	}
	if err != nil {
		return nil, failed("store: session", err)
	}
	// Empty lists come back nil, as a Session that never had them would hold.
	if len(sess.Methods) == 0 {
		sess.Methods = nil
	}
	if len(sess.Chain) == 0 {
		sess.Chain = nil
	}
	sess.Expires, sess.Created = sess.Expires.UTC(), sess.Created.UTC()
	return &sess, nil
}

// UpdateSession implements store.Store. Only the identify result (Method, Chain,
// Credential, Signer) changes: what the portal's token granted is fixed at creation.
func (s *DB) UpdateSession(ctx context.Context, sess *store.Session) error {
	if sess == nil || sess.ID == "" {
		return errors.New("store: session without id")
	}
	who := &sess.Signer
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET method = $1, chain = $2, credential = $3,
		signer_name = $4, signer_email = $5, signer_capacity = $6, signer_phone = $7
		WHERE id = $8 AND expires > $9`, sess.Method, nonNil(sess.Chain), sess.Credential,
		who.Name, who.Email, who.Capacity, who.Phone, sess.ID, rules.Now())
	if err != nil {
		return failed("store: update session", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: session %q", store.ErrNotFound, sess.ID)
	}
	return nil
}

const jobCols = `j.session_id, j.digest, j.hash_alg, j.label, j.level, j.state, j.cms,
	j.err_code, j.err_msg, j.delivered, j.created, j.updated`

func scanJob(r pgx.Row) (*store.Job, error) {
	var j store.Job
	if err := r.Scan(&j.SessionID, &j.Digest, &j.HashAlg, &j.Label, &j.Level, &j.State, &j.CMS,
		&j.ErrCode, &j.ErrMsg, &j.Delivered, &j.Created, &j.Updated); err != nil {
		return nil, err
	}
	j.Created, j.Updated = j.Created.UTC(), j.Updated.UTC()
	return &j, nil
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// liveJob reads a job whose session has not expired: a job is visible exactly as long as
// its session, so a reconnect after expiry finds nothing, sweep or no sweep.
func liveJob(ctx context.Context, q querier, sessionID string, digest []byte, now time.Time) (*store.Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs j
		JOIN sessions s ON s.id = j.session_id
		WHERE j.session_id = $1 AND j.digest = $2 AND s.expires > $3`, sessionID, digest, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: job %x in session %q", store.ErrNotFound, digest, sessionID)
	}
	if err != nil {
		return nil, failed("store: job", err)
	}
	return j, nil
}

// StartJob implements store.Store. Atomic across relays: the transaction first locks the
// session's row (SELECT … FOR UPDATE), so every StartJob of one session, on any relay,
// runs after the previous one committed; under READ COMMITTED each later statement then
// sees that commit, and the lookup, the count and the insert cannot interleave. Sessions do
// not wait for each other. max is taken literally: with max <= 0 no job can be created (a
// missing limit fails closed instead of allowing unlimited signatures).
func (s *DB) StartJob(ctx context.Context, j *store.Job, max int) (*store.Job, bool, error) {
	if err := rules.CheckNewJob(j); err != nil {
		return nil, false, err
	}
	var (
		stored  *store.Job
		created bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		stored, created = nil, false // BeginFunc may not retry, but keep each run clean
		now := rules.Now()
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE id = $1 AND expires > $2 FOR UPDATE`,
			j.SessionID, now).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: session %q", store.ErrNotFound, j.SessionID)
		}
		if err != nil {
			return failed("store: start job", err)
		}
		stored, err = liveJob(ctx, tx, j.SessionID, j.Digest, now)
		if err == nil {
			return nil // asked before: the same job, never a second one
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE session_id = $1`, j.SessionID).Scan(&n); err != nil {
			return failed("store: start job", err)
		}
		if n+1 > max {
			return fmt.Errorf("%w: %d of %d", store.ErrLimit, n, max)
		}
		// ON CONFLICT DO NOTHING is a second guard: should a writer ever bypass the session
		// lock, the primary key still yields one job, and we return the one that exists.
		tag, err := tx.Exec(ctx, `INSERT INTO jobs (session_id, digest, hash_alg, label, level, state,
			created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (session_id, digest) DO NOTHING`,
			j.SessionID, j.Digest, j.HashAlg, j.Label, j.Level, store.JobPending, now)
		if err != nil {
			return failed("store: start job", err)
		}
		stored, err = liveJob(ctx, tx, j.SessionID, j.Digest, now)
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

// Job implements store.Store.
func (s *DB) Job(ctx context.Context, sessionID string, digest []byte) (*store.Job, error) {
	return liveJob(ctx, s.pool, sessionID, digest, rules.Now())
}

// FinishJob implements store.Store. Only a pending job changes; recording the same outcome
// again is accepted, a different one is refused with ErrExists (see rules.FinishConflict).
func (s *DB) FinishJob(ctx context.Context, j *store.Job) error {
	if err := rules.CheckFinish(j); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := finish(ctx, tx, j)
		return err
	})
}

// CompleteJob implements store.Store. The job's row is updated first, so two relays
// completing the same job at once book it once: the second waits on the row lock and then
// finds it done.
func (s *DB) CompleteJob(ctx context.Context, j *store.Job, b *store.Booking) error {
	if err := rules.CheckComplete(j, b); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		changed, err := finish(ctx, tx, j)
		if err != nil || !changed {
			return err
		}
		if err := addAudit(ctx, tx, &b.Audit); err != nil {
			return err
		}
		if b.Priced {
			return addCredit(ctx, tx, b.Audit.SignerID, b.Audit.Method, b.Credits)
		}
		return nil
	})
}

// finish records j's outcome in tx; changed is false when the same outcome was already
// recorded.
func finish(ctx context.Context, tx pgx.Tx, j *store.Job) (changed bool, err error) {
	var cms []byte
	if j.State == store.JobDone || j.State == store.JobSigned {
		cms = j.CMS
	}
	now := rules.Now()
	tag, err := tx.Exec(ctx, `UPDATE jobs SET state = $1, cms = $2, err_code = $3, err_msg = $4,
		updated = $5 WHERE session_id = $6 AND digest = $7 AND state IN ('pending', 'signed')
		AND EXISTS (SELECT 1 FROM sessions WHERE id = $6 AND expires > $5)`,
		j.State, cms, j.ErrCode, j.ErrMsg, now, j.SessionID, j.Digest)
	if err != nil {
		return false, failed("store: finish job", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	stored, err := liveJob(ctx, tx, j.SessionID, j.Digest, now)
	if err != nil {
		return false, err
	}
	return false, rules.FinishConflict(stored, j)
}

// PendingJobs implements store.Store, oldest first.
func (s *DB) PendingJobs(ctx context.Context, sessionID string) ([]*store.Job, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+jobCols+` FROM jobs j
		JOIN sessions s ON s.id = j.session_id
		WHERE j.session_id = $1 AND s.expires > $2
		AND (j.state IN ('pending', 'signed') OR (j.state = 'done' AND NOT j.delivered))
		ORDER BY j.created, j.digest`, sessionID, rules.Now())
	if err != nil {
		return nil, failed("store: pending jobs", err)
	}
	defer rows.Close()
	jobs := []*store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, failed("store: pending jobs", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, failed("store: pending jobs", err)
	}
	return jobs, nil
}

// Acknowledge implements store.Store. Acknowledging twice is fine (the client may retry);
// a job that is not done yields ErrNotFound, as there is no CMS to acknowledge.
func (s *DB) Acknowledge(ctx context.Context, sessionID string, digest []byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		now := rules.Now()
		tag, err := tx.Exec(ctx, `UPDATE jobs SET delivered = true, updated = $1
			WHERE session_id = $2 AND digest = $3 AND state = 'done' AND NOT delivered
			AND EXISTS (SELECT 1 FROM sessions WHERE id = $2 AND expires > $1)`, now, sessionID, digest)
		if err != nil {
			return failed("store: acknowledge", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		stored, err := liveJob(ctx, tx, sessionID, digest, now)
		if err != nil {
			return err
		}
		return rules.AckConflict(stored)
	})
}

// AddAudit implements store.Store.
func (s *DB) AddAudit(ctx context.Context, a *store.Audit) error {
	if a == nil {
		return errors.New("store: nil audit record")
	}
	return addAudit(ctx, s.pool, a)
}

// execer is what a pool and a transaction share for statements without rows.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func addAudit(ctx context.Context, q execer, a *store.Audit) error {
	at := a.Time
	if at.IsZero() {
		at = time.Now()
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit (time, session_id, signer_id, method, digest,
		cert_serial, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7)`, rules.Norm(at), a.SessionID,
		a.SignerID, a.Method, nonNil(a.Digest), a.CertSerial, a.Outcome); err != nil {
		return failed("store: audit", err)
	}
	return nil
}

// Audits returns the audit records of a session (all sessions when sessionID is empty),
// oldest first. It is not part of store.Store: the relay only appends; this is for export
// and for tests.
func (s *DB) Audits(ctx context.Context, sessionID string) ([]store.Audit, error) {
	rows, err := s.pool.Query(ctx, `SELECT time, session_id, signer_id, method, digest,
		cert_serial, outcome FROM audit WHERE $1 = '' OR session_id = $1 ORDER BY id`, sessionID)
	if err != nil {
		return nil, failed("store: audits", err)
	}
	defer rows.Close()
	out := []store.Audit{}
	for rows.Next() {
		var a store.Audit
		if err := rows.Scan(&a.Time, &a.SessionID, &a.SignerID, &a.Method, &a.Digest, &a.CertSerial, &a.Outcome); err != nil {
			return nil, failed("store: audits", err)
		}
		a.Time = a.Time.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, failed("store: audits", err)
	}
	return out, nil
}

// AddCredit implements store.Store; the sum is kept per (signer, method), added in one
// statement so that relays booking at once do not lose each other's additions.
func (s *DB) AddCredit(ctx context.Context, signerID, method string, credits float64) error {
	return addCredit(ctx, s.pool, signerID, method, credits)
}

func addCredit(ctx context.Context, q execer, signerID, method string, credits float64) error {
	if _, err := q.Exec(ctx, `INSERT INTO credits (signer_id, method, credits) VALUES ($1, $2, $3)
		ON CONFLICT (signer_id, method) DO UPDATE SET credits = credits.credits + excluded.credits`,
		signerID, method, credits); err != nil {
		return failed("store: add credit", err)
	}
	return nil
}

// Credits implements store.Store, ordered by method. Subscription is 0: the relay sells
// per signature; the field is there because OKSign's shape has it.
func (s *DB) Credits(ctx context.Context, signerID string) ([]store.Credit, error) {
	rows, err := s.pool.Query(ctx, `SELECT method, credits FROM credits WHERE signer_id = $1
		ORDER BY method`, signerID)
	if err != nil {
		return nil, failed("store: credits", err)
	}
	defer rows.Close()
	out := []store.Credit{} // encodes as [] rather than null for a signer with none
	for rows.Next() {
		c := store.Credit{SignerID: signerID}
		if err := rows.Scan(&c.SigningOption, &c.Credits); err != nil {
			return nil, failed("store: credits", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, failed("store: credits", err)
	}
	return out, nil
}

// Ping implements store.Store with a committed write. A rolled-back one would not do:
// PostgreSQL flushes WAL at commit, so only a commit meets a full WAL disk; and it also
// fails on a read-only server (a standby after a failover, default_transaction_read_only).
func (s *DB) Ping(ctx context.Context) error {
	tag, err := s.pool.Exec(ctx, `UPDATE write_probe SET n = n + 1, at = $1 WHERE id = 1`, rules.Now())
	if err != nil {
		return failed("store: write probe", err)
	}
	if tag.RowsAffected() != 1 {
		return errors.New("store: write probe row is missing")
	}
	return nil
}

// Expire implements store.Store; the jobs go with their session (ON DELETE CASCADE). FOR
// UPDATE SKIP LOCKED lets relays sweep at the same time without waiting for or deadlocking
// on each other, and skips a session whose StartJob is in flight: the next sweep takes it.
func (s *DB) Expire(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE expires <= $1 FOR UPDATE SKIP LOCKED)`, rules.Norm(now)); err != nil {
		return failed("store: expire", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM checkpoints WHERE expires <= $1`, rules.Norm(now)); err != nil {
		return failed("store: expire", err)
	}
	return nil
}

// PutCheckpoint implements store.Store.
func (s *DB) PutCheckpoint(ctx context.Context, key string, value []byte, expires time.Time) error {
	if err := rules.CheckCheckpoint(key, value, expires); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (key, value, expires) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		key, nonNil(value), rules.Norm(expires)); err != nil {
		return failed("store: put checkpoint", err)
	}
	return nil
}

// Checkpoint implements store.Store.
func (s *DB) Checkpoint(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM checkpoints WHERE key = $1 AND expires > $2`,
		key, rules.Now()).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: checkpoint %q", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, failed("store: checkpoint", err)
	}
	return nonNil(v), nil
}

// TakeCheckpoint implements store.Store. DELETE … RETURNING is one statement: of relays
// racing for a key, the row lock lets one delete it, and the others, re-checking after
// its commit, find no row.
func (s *DB) TakeCheckpoint(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `DELETE FROM checkpoints WHERE key = $1 AND expires > $2 RETURNING value`,
		key, rules.Now()).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: checkpoint %q", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, failed("store: take checkpoint", err)
	}
	return nonNil(v), nil
}

// DeleteCheckpoint implements store.Store.
func (s *DB) DeleteCheckpoint(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM checkpoints WHERE key = $1`, key); err != nil {
		return failed("store: delete checkpoint", err)
	}
	return nil
}

// Close implements store.Store.
func (s *DB) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction; a commit that fails for want of space is ErrUnwritable
// like any statement.
func (s *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, fn))
}

// failed wraps err under what, classified.
func failed(what string, err error) error { return classify(fmt.Errorf("%s: %w", what, err)) }

// classify marks the failures that mean the database cannot take writes now — a full disk
// (53100), an I/O error (58030), a read-only database or standby (25006) — as
// store.ErrUnwritable, so the relay stops taking new work until a write succeeds again.
func classify(err error) error {
	var pe *pgconn.PgError
	if err == nil || errors.Is(err, store.ErrUnwritable) || !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "53100", "58030", "25006":
		return fmt.Errorf("%w: %w", store.ErrUnwritable, err)
	}
	return err
}
