// Package sqlite is the relay's default store: one file next to the binary, no server to
// run. It uses modernc.org/sqlite, SQLite translated to Go, so the relay stays cgo-free and
// builds as one static binary for every platform.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/internal/rules"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// tsLayout stores times as fixed-width UTC text: readable with the sqlite3 shell by whoever
// audits the file, and ordered correctly by plain string comparison in SQL.
const tsLayout = "2006-01-02T15:04:05.000000Z"

// busyTimeout is how long a connection waits for another process holding the write lock
// (a backup, the sqlite3 shell) before a write fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is a Store backed by one SQLite file. Besides the Store methods it has Audits, for
// exporting the audit trail.
type DB struct {
	db   *sql.DB
	path string
	// w runs every write of this process, in group commits. SQLite allows one writer
	// anyway; queueing in the process is fairer and cheaper than letting every goroutine
	// poll the file lock in the busy handler. Other processes are still kept out by BEGIN
	// IMMEDIATE and waited for by the busy timeout.
	w     *writer
	stmts *stmtCache
	// minFree is the free space below which Ping fails; a field so tests can switch the
	// check off and reach the probe write.
	minFree uint64
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(path string) (store.Store, error) {
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	return db, nil
}

func open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	q := url.Values{}
	// Every connection of the pool gets these pragmas as it opens, so none runs without them.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// WAL lets readers (reconnecting clients polling their jobs) run beside the writer.
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL on every commit: in WAL mode NORMAL may lose the last commits on a
	// power cut, and a lost "done" job means a signer is asked twice. (NORMAL would survive
	// a SIGKILL of the relay, the WAL being in the OS's cache by then, but not the machine
	// going down.) The relay answers a client only after the commit, so FULL is what keeps
	// the promise; group commit (writer.go) shares each sync among the writes queued
	// meanwhile, which is where the speed comes from instead.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Write transactions take the write lock at BEGIN: a deferred transaction that reads
	// and then writes can fail with SQLITE_BUSY at once, without waiting, when another
	// connection wrote in between, and StartJob reads before it writes.
	q.Set("_txlock", "immediate")
	// A file: URI with the path escaped, so a '?' or '#' in a path cannot be read as options.
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()

	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// A few connections are enough for concurrent reads; each holds its own page cache.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	s := &DB{db: sdb, path: abs, stmts: newStmtCache(sdb), minFree: defaultMinFree}

	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	var mode string
	if err := sdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if mode != "wal" {
		// Without WAL readers block the writer; better to say so than to run slowly.
		sdb.Close()
		return nil, fmt.Errorf("store: %s: journal mode is %q, WAL is required (is the file on a network filesystem?)", abs, mode)
	}
	if s.w, err = newWriter(ctx, sdb, s.stmts); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrations are applied in order, each once; schema_version holds how many were. Append
// new steps, never edit applied ones: a relay upgraded in place runs only the new ones.
var migrations = []string{
	`CREATE TABLE sessions (
		id         TEXT PRIMARY KEY,
		signer_id  TEXT NOT NULL,
		audience   TEXT NOT NULL,
		methods    TEXT NOT NULL,              -- JSON array of strings
		max_signs  INTEGER NOT NULL,
		expires    TEXT NOT NULL,
		created    TEXT NOT NULL,
		method     TEXT NOT NULL DEFAULT '',
		chain      TEXT NOT NULL DEFAULT '[]', -- JSON array of base64 DER, leaf first
		credential TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX sessions_expires ON sessions (expires);
	CREATE TABLE jobs (
		session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
		digest     BLOB NOT NULL,
		hash_alg   TEXT NOT NULL,
		label      TEXT NOT NULL,
		level      TEXT NOT NULL,
		state      TEXT NOT NULL CHECK (state IN ('pending', 'signed', 'done', 'failed')),
		cms        BLOB,
		err_code   TEXT NOT NULL DEFAULT '',
		err_msg    TEXT NOT NULL DEFAULT '',
		delivered  INTEGER NOT NULL DEFAULT 0,
		created    TEXT NOT NULL,
		updated    TEXT NOT NULL,
		PRIMARY KEY (session_id, digest)
	);
	-- The audit trail outlives the sessions it records: no foreign key.
	CREATE TABLE audit (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		time        TEXT NOT NULL,
		session_id  TEXT NOT NULL,
		signer_id   TEXT NOT NULL,
		method      TEXT NOT NULL,
		digest      BLOB NOT NULL,
		cert_serial TEXT NOT NULL,
		outcome     TEXT NOT NULL
	);
	CREATE INDEX audit_session ON audit (session_id);
	CREATE TABLE credits (
		signer_id TEXT NOT NULL,
		method    TEXT NOT NULL,
		credits   REAL NOT NULL,
		PRIMARY KEY (signer_id, method)
	);
	-- Ping commits a change to this one row to prove the file still takes writes.
	CREATE TABLE write_probe (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		n  INTEGER NOT NULL,
		at TEXT NOT NULL
	);
	INSERT INTO write_probe (id, n, at) VALUES (1, 0, '');
	-- Work waiting outside the relay (an itsme approval) that must survive a restart.
	CREATE TABLE checkpoints (
		key     TEXT PRIMARY KEY,
		value   BLOB NOT NULL,
		expires TEXT NOT NULL
	);
	CREATE INDEX checkpoints_expires ON checkpoints (expires);`,
	// Who identified, so that identify survives a restart (store.Identity).
	`ALTER TABLE sessions ADD COLUMN signer_name TEXT NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN signer_email TEXT NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN signer_capacity TEXT NOT NULL DEFAULT '';
	ALTER TABLE sessions ADD COLUMN signer_phone TEXT NOT NULL DEFAULT '';`,
}

// migrate runs inside one write transaction (BEGIN IMMEDIATE): two relays opening the same
// new file cannot both create the tables, and a failed step leaves the schema as it was.
func (s *DB) migrate(ctx context.Context) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("store: schema: %w", err)
		}
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("store: schema: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("store: schema: %w", err)
		}
		if v > len(migrations) {
			// An older relay must not write into a schema it does not know.
			return fmt.Errorf("store: %s has schema version %d, this relay knows up to %d", s.path, v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("store: schema step %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
			return fmt.Errorf("store: schema: %w", err)
		}
		return nil
	})
}

// write runs fn in a write transaction (shared with other callers' writes, each in its
// own savepoint), committed when fn returns nil; see writer.
func (s *DB) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.do(ctx, fn)
}

// exec and queryRow run a prepared statement; see stmtCache.
func (s *DB) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	return s.stmts.exec(ctx, tx, q, args...)
}

func (s *DB) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) rowScanner {
	return s.stmts.queryRow(ctx, tx, q, args...)
}

func ts(t time.Time) string { return rules.Norm(t).Format(tsLayout) }

func parseTS(s string) (time.Time, error) {
	t, err := time.Parse(tsLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	return t, nil
}

// CreateSession implements store.Store.
func (s *DB) CreateSession(ctx context.Context, sess *store.Session) error {
	if err := rules.CheckSession(sess); err != nil {
		return err
	}
	methods, err := json.Marshal(nonNil(sess.Methods))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	chain, err := json.Marshal(nonNil(sess.Chain))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	created := sess.Created
	if created.IsZero() {
		created = time.Now()
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// ON CONFLICT DO NOTHING tells a taken id from a failed write without parsing
		// driver error codes.
		who := &sess.Signer
		res, err := s.exec(ctx, tx, `INSERT INTO sessions
			(id, signer_id, audience, methods, max_signs, expires, created, method, chain, credential,
			signer_name, signer_email, signer_capacity, signer_phone)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			sess.ID, sess.SignerID, sess.Audience, string(methods), sess.MaxSigns,
			ts(sess.Expires), ts(created), sess.Method, string(chain), sess.Credential,
			who.Name, who.Email, who.Capacity, who.Phone)
		if err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: create session: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: session %q", store.ErrExists, sess.ID)
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

// Session implements store.Store.
func (s *DB) Session(ctx context.Context, id string) (*store.Session, error) {
	var (
		sess             store.Session
		methods, chain   string
		expires, created string
	)
	who := &sess.Signer
	err := s.queryRow(ctx, nil, `SELECT id, signer_id, audience, methods, max_signs, expires,
		created, method, chain, credential, signer_name, signer_email, signer_capacity, signer_phone
		FROM sessions WHERE id = ? AND expires > ?`, id, ts(time.Now())).
		Scan(&sess.ID, &sess.SignerID, &sess.Audience, &methods, &sess.MaxSigns, &expires,
			&created, &sess.Method, &chain, &sess.Credential, &who.Name, &who.Email, &who.Capacity, &who.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: session %q", store.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	if err := json.Unmarshal([]byte(methods), &sess.Methods); err != nil {
		return nil, fmt.Errorf("store: session %q methods: %w", id, err)
	}
	if err := json.Unmarshal([]byte(chain), &sess.Chain); err != nil {
		return nil, fmt.Errorf("store: session %q chain: %w", id, err)
	}
	// Empty lists come back nil, as a Session that never had them would hold.
	if len(sess.Methods) == 0 {
		sess.Methods = nil
	}
	if len(sess.Chain) == 0 {
		sess.Chain = nil
	}
	if sess.Expires, err = parseTS(expires); err != nil {
		return nil, err
	}
	if sess.Created, err = parseTS(created); err != nil {
		return nil, err
	}
	return &sess, nil
}

// UpdateSession implements store.Store. Only the identify result (Method, Chain,
// Credential, Signer) changes: what the portal's token granted is fixed at creation.
func (s *DB) UpdateSession(ctx context.Context, sess *store.Session) error {
	if sess == nil || sess.ID == "" {
		return errors.New("store: session without id")
	}
	chain, err := json.Marshal(nonNil(sess.Chain))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		who := &sess.Signer
		res, err := s.exec(ctx, tx, `UPDATE sessions SET method = ?, chain = ?, credential = ?,
			signer_name = ?, signer_email = ?, signer_capacity = ?, signer_phone = ?
			WHERE id = ? AND expires > ?`, sess.Method, string(chain), sess.Credential,
			who.Name, who.Email, who.Capacity, who.Phone, sess.ID, ts(time.Now()))
		if err != nil {
			return fmt.Errorf("store: update session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: update session: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: session %q", store.ErrNotFound, sess.ID)
		}
		return nil
	})
}

const jobCols = `j.session_id, j.digest, j.hash_alg, j.label, j.level, j.state, j.cms,
	j.err_code, j.err_msg, j.delivered, j.created, j.updated`

func scanJob(r rowScanner) (*store.Job, error) {
	var (
		j                store.Job
		created, updated string
		delivered        int
	)
	if err := r.Scan(&j.SessionID, &j.Digest, &j.HashAlg, &j.Label, &j.Level, &j.State, &j.CMS,
		&j.ErrCode, &j.ErrMsg, &delivered, &created, &updated); err != nil {
		return nil, err
	}
	j.Delivered = delivered != 0
	var err error
	if j.Created, err = parseTS(created); err != nil {
		return nil, err
	}
	if j.Updated, err = parseTS(updated); err != nil {
		return nil, err
	}
	return &j, nil
}

// liveJob reads a job whose session has not expired: a job is visible exactly as long as
// its session, so a reconnect after expiry finds nothing, sweep or no sweep.
func (s *DB) liveJob(ctx context.Context, tx *sql.Tx, sessionID string, digest []byte, now time.Time) (*store.Job, error) {
	j, err := scanJob(s.queryRow(ctx, tx, `SELECT `+jobCols+` FROM jobs j
		JOIN sessions s ON s.id = j.session_id
		WHERE j.session_id = ? AND j.digest = ? AND s.expires > ?`, sessionID, digest, ts(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: job %x in session %q", store.ErrNotFound, digest, sessionID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: job: %w", err)
	}
	return j, nil
}

// StartJob implements store.Store. The lookup, the count and the insert share one write
// transaction, which SQLite runs alone, so concurrent identical requests create one job.
// max is taken literally: with max <= 0 no job can be created (a missing limit fails
// closed instead of allowing unlimited signatures).
func (s *DB) StartJob(ctx context.Context, j *store.Job, max int) (*store.Job, bool, error) {
	if err := rules.CheckNewJob(j); err != nil {
		return nil, false, err
	}
	var (
		stored  *store.Job
		created bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := time.Now()
		t := rules.Norm(now)
		// The common case in one statement: a new digest in a live session under its limit.
		// When it inserts nothing, the reads below say which rule stopped it.
		res, err := s.exec(ctx, tx, `INSERT INTO jobs (session_id, digest, hash_alg, label, level,
			state, created, updated) SELECT ?, ?, ?, ?, ?, ?, ?, ?
			WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ? AND expires > ?)
			AND (SELECT count(*) FROM jobs WHERE session_id = ?) < ?
			ON CONFLICT (session_id, digest) DO NOTHING`,
			j.SessionID, j.Digest, j.HashAlg, j.Label, j.Level, store.JobPending, ts(t), ts(t),
			j.SessionID, ts(now), j.SessionID, max)
		if err != nil {
			return fmt.Errorf("store: start job: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: start job: %w", err)
		} else if n == 1 {
			stored, created = newPending(j, t), true
			return nil
		}
		var one int
		err = s.queryRow(ctx, tx, `SELECT 1 FROM sessions WHERE id = ? AND expires > ?`,
			j.SessionID, ts(now)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: session %q", store.ErrNotFound, j.SessionID)
		}
		if err != nil {
			return fmt.Errorf("store: start job: %w", err)
		}
		stored, err = s.liveJob(ctx, tx, j.SessionID, j.Digest, now)
		if err == nil {
			return nil // asked before: the same job, never a second one
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var n int
		if err := s.queryRow(ctx, tx, `SELECT count(*) FROM jobs WHERE session_id = ?`,
			j.SessionID).Scan(&n); err != nil {
			return fmt.Errorf("store: start job: %w", err)
		}
		if n+1 > max {
			return fmt.Errorf("%w: %d of %d", store.ErrLimit, n, max)
		}
		// Live, under the limit, not there: the insert above cannot have missed it, as this
		// transaction runs alone.
		return fmt.Errorf("store: start job: session %q: job neither created nor found", j.SessionID)
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

// newPending is the job StartJob created from j at t.
func newPending(j *store.Job, t time.Time) *store.Job {
	return &store.Job{SessionID: j.SessionID, Digest: append([]byte(nil), j.Digest...),
		HashAlg: j.HashAlg, Label: j.Label, Level: j.Level, State: store.JobPending,
		Created: t, Updated: t}
}

// Job implements store.Store.
func (s *DB) Job(ctx context.Context, sessionID string, digest []byte) (*store.Job, error) {
	return s.liveJob(ctx, nil, sessionID, digest, time.Now())
}

// FinishJob implements store.Store. Only a pending job changes; recording the same outcome
// again is accepted, a different one is refused with ErrExists (see rules.FinishConflict).
func (s *DB) FinishJob(ctx context.Context, j *store.Job) error {
	if err := rules.CheckFinish(j); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.finish(ctx, tx, j)
		return err
	})
}

// CompleteJob implements store.Store.
func (s *DB) CompleteJob(ctx context.Context, j *store.Job, b *store.Booking) error {
	if err := rules.CheckComplete(j, b); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		changed, err := s.finish(ctx, tx, j)
		if err != nil || !changed {
			return err
		}
		if err := s.addAudit(ctx, tx, &b.Audit); err != nil {
			return err
		}
		if b.Priced {
			return s.addCredit(ctx, tx, b.Audit.SignerID, b.Audit.Method, b.Credits)
		}
		return nil
	})
}

// finish records j's outcome in tx; changed is false when the same outcome was already
// recorded.
func (s *DB) finish(ctx context.Context, tx *sql.Tx, j *store.Job) (changed bool, err error) {
	var cms []byte
	if j.State == store.JobDone || j.State == store.JobSigned {
		cms = j.CMS
	}
	now := time.Now()
	res, err := s.exec(ctx, tx, `UPDATE jobs SET state = ?, cms = ?, err_code = ?, err_msg = ?,
		updated = ? WHERE session_id = ? AND digest = ? AND state IN ('pending', 'signed')
		AND session_id IN (SELECT id FROM sessions WHERE id = ? AND expires > ?)`,
		j.State, cms, j.ErrCode, j.ErrMsg, ts(now), j.SessionID, j.Digest, j.SessionID, ts(now))
	if err != nil {
		return false, fmt.Errorf("store: finish job: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("store: finish job: %w", err)
	} else if n == 1 {
		return true, nil
	}
	stored, err := s.liveJob(ctx, tx, j.SessionID, j.Digest, now)
	if err != nil {
		return false, err
	}
	return false, rules.FinishConflict(stored, j)
}

// PendingJobs implements store.Store, oldest first.
func (s *DB) PendingJobs(ctx context.Context, sessionID string) ([]*store.Job, error) {
	rows, err := s.stmts.query(ctx, `SELECT `+jobCols+` FROM jobs j
		JOIN sessions s ON s.id = j.session_id
		WHERE j.session_id = ? AND s.expires > ?
		AND (j.state IN ('pending', 'signed') OR (j.state = 'done' AND j.delivered = 0))
		ORDER BY j.created, j.digest`, sessionID, ts(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: pending jobs: %w", err)
	}
	defer rows.Close()
	jobs := []*store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: pending jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending jobs: %w", err)
	}
	return jobs, nil
}

// Acknowledge implements store.Store. Acknowledging twice is fine (the client may retry);
// a job that is not done yields ErrNotFound, as there is no CMS to acknowledge.
func (s *DB) Acknowledge(ctx context.Context, sessionID string, digest []byte) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := time.Now()
		res, err := s.exec(ctx, tx, `UPDATE jobs SET delivered = 1, updated = ?
			WHERE session_id = ? AND digest = ? AND state = 'done' AND delivered = 0
			AND session_id IN (SELECT id FROM sessions WHERE id = ? AND expires > ?)`,
			ts(now), sessionID, digest, sessionID, ts(now))
		if err != nil {
			return fmt.Errorf("store: acknowledge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: acknowledge: %w", err)
		} else if n == 1 {
			return nil
		}
		stored, err := s.liveJob(ctx, tx, sessionID, digest, now)
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
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.addAudit(ctx, tx, a) })
}

func (s *DB) addAudit(ctx context.Context, tx *sql.Tx, a *store.Audit) error {
	at := a.Time
	if at.IsZero() {
		at = time.Now()
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO audit (time, session_id, signer_id, method, digest,
		cert_serial, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)`, ts(at), a.SessionID, a.SignerID,
		a.Method, nonNil(a.Digest), a.CertSerial, a.Outcome); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// Audits returns the audit records of a session (all sessions when sessionID is empty),
// oldest first. It is not part of store.Store: the relay only appends; this is for export
// and for tests.
func (s *DB) Audits(ctx context.Context, sessionID string) ([]store.Audit, error) {
	rows, err := s.stmts.query(ctx, `SELECT time, session_id, signer_id, method, digest,
		cert_serial, outcome FROM audit WHERE ? = '' OR session_id = ? ORDER BY id`, sessionID, sessionID)
	if err != nil {
		return nil, fmt.Errorf("store: audits: %w", err)
	}
	defer rows.Close()
	out := []store.Audit{}
	for rows.Next() {
		var (
			a  store.Audit
			at string
		)
		if err := rows.Scan(&at, &a.SessionID, &a.SignerID, &a.Method, &a.Digest, &a.CertSerial, &a.Outcome); err != nil {
			return nil, fmt.Errorf("store: audits: %w", err)
		}
		if a.Time, err = parseTS(at); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audits: %w", err)
	}
	return out, nil
}

// AddCredit implements store.Store; the sum is kept per (signer, method).
func (s *DB) AddCredit(ctx context.Context, signerID, method string, credits float64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.addCredit(ctx, tx, signerID, method, credits) })
}

func (s *DB) addCredit(ctx context.Context, tx *sql.Tx, signerID, method string, credits float64) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO credits (signer_id, method, credits) VALUES (?, ?, ?)
		ON CONFLICT (signer_id, method) DO UPDATE SET credits = credits + excluded.credits`,
		signerID, method, credits); err != nil {
		return fmt.Errorf("store: add credit: %w", err)
	}
	return nil
}

// Credits implements store.Store, ordered by method. Subscription is 0: the relay sells
// per signature; the field is there because OKSign's shape has it.
func (s *DB) Credits(ctx context.Context, signerID string) ([]store.Credit, error) {
	rows, err := s.stmts.query(ctx, `SELECT method, credits FROM credits WHERE signer_id = ?
		ORDER BY method`, signerID)
	if err != nil {
		return nil, fmt.Errorf("store: credits: %w", err)
	}
	defer rows.Close()
	out := []store.Credit{} // encodes as [] rather than null for a signer with none
	for rows.Next() {
		c := store.Credit{SignerID: signerID}
		if err := rows.Scan(&c.SigningOption, &c.Credits); err != nil {
			return nil, fmt.Errorf("store: credits: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: credits: %w", err)
	}
	return out, nil
}

// defaultMinFree is the free space below which Ping fails. A committed probe write alone does not
// notice a full disk: SQLite rewrites WAL space it already owns, so small commits go on
// succeeding until a checkpoint or a bigger write needs a new block and fails — possibly
// the write that records a finished signature. Refusing new sessions while there is still
// room lets the sessions in flight finish (a CMS, its chain and the audit row are a few
// tens of KiB each).
const defaultMinFree = 1 << 20

// Ping implements store.Store: enough free space on the file's filesystem, and a committed
// write (a read-only file, filesystem or a failing disk makes it fail).
func (s *DB) Ping(ctx context.Context) error {
	if free, ok, err := freeBytes(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("store: free space of %s: %w", s.path, err)
	} else if ok && free < s.minFree {
		return fmt.Errorf("%w: %s: only %d KiB free, need %d KiB to take new work", store.ErrUnwritable, s.path, free>>10, s.minFree>>10)
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `UPDATE write_probe SET n = n + 1, at = ? WHERE id = 1`,
			ts(time.Now())); err != nil {
			return fmt.Errorf("store: write probe: %w", err)
		}
		return nil
	})
}

// expireBatch bounds what one transaction of Expire deletes. SQLite has one writer: a sweep
// of a large backlog (a relay that was down for a day) in one transaction would hold every
// signature's write behind it; in batches, each queued like any other write, the
// signatures go in between.
const expireBatch = 500

// Expire implements store.Store, in batches of expireBatch sessions (and checkpoints). The
// jobs are deleted explicitly as well as by the foreign key's cascade, so that a
// connection opened without foreign_keys cannot leave orphans.
func (s *DB) Expire(ctx context.Context, now time.Time) error {
	const expired = `SELECT id FROM sessions WHERE expires <= ? ORDER BY expires, id LIMIT ?`
	err := s.inBatches(ctx, func(ctx context.Context, tx *sql.Tx) (sql.Result, error) {
		if _, err := s.exec(ctx, tx, `DELETE FROM jobs WHERE session_id IN (`+expired+`)`, ts(now), expireBatch); err != nil {
			return nil, err
		}
		return s.exec(ctx, tx, `DELETE FROM sessions WHERE id IN (`+expired+`)`, ts(now), expireBatch)
	})
	if err != nil {
		return err
	}
	return s.inBatches(ctx, func(ctx context.Context, tx *sql.Tx) (sql.Result, error) {
		return s.exec(ctx, tx, `DELETE FROM checkpoints WHERE key IN
			(SELECT key FROM checkpoints WHERE expires <= ? LIMIT ?)`, ts(now), expireBatch)
	})
}

// inBatches runs del, one write each time, until it deletes fewer than expireBatch rows.
func (s *DB) inBatches(ctx context.Context, del func(ctx context.Context, tx *sql.Tx) (sql.Result, error)) error {
	for more := true; more; {
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := del(ctx, tx)
			if err != nil {
				return fmt.Errorf("store: expire: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("store: expire: %w", err)
			}
			more = n == expireBatch
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// PutCheckpoint implements store.Store.
func (s *DB) PutCheckpoint(ctx context.Context, key string, value []byte, expires time.Time) error {
	if err := rules.CheckCheckpoint(key, value, expires); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO checkpoints (key, value, expires) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
			key, nonNil(value), ts(expires)); err != nil {
			return fmt.Errorf("store: put checkpoint: %w", err)
		}
		return nil
	})
}

// Checkpoint implements store.Store.
func (s *DB) Checkpoint(ctx context.Context, key string) ([]byte, error) {
	return s.readCheckpoint(ctx, nil, key)
}

func (s *DB) readCheckpoint(ctx context.Context, tx *sql.Tx, key string) ([]byte, error) {
	var v []byte
	err := s.queryRow(ctx, tx, `SELECT value FROM checkpoints WHERE key = ? AND expires > ?`,
		key, ts(time.Now())).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: checkpoint %q", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("store: checkpoint: %w", err)
	}
	return nonNil(v), nil
}

// TakeCheckpoint implements store.Store. The read and the delete share one write
// transaction, which holds SQLite's write lock from BEGIN: another taker, in this process
// or another one on the same file, runs after the commit and finds nothing.
func (s *DB) TakeCheckpoint(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if v, err = s.readCheckpoint(ctx, tx, key); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM checkpoints WHERE key = ?`, key); err != nil {
			return fmt.Errorf("store: take checkpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DeleteCheckpoint implements store.Store.
func (s *DB) DeleteCheckpoint(ctx context.Context, key string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM checkpoints WHERE key = ?`, key); err != nil {
			return fmt.Errorf("store: delete checkpoint: %w", err)
		}
		return nil
	})
}

// Close implements store.Store. Closing the last connection checkpoints the WAL into the
// main file.
func (s *DB) Close() error {
	if s.w != nil {
		s.w.close()
	}
	s.stmts.close()
	return s.db.Close()
}
