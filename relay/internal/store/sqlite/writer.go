package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/veilsign/veilsign/relay/internal/store"

	sqlite3 "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

// maxBatch bounds how many writes share one transaction, so one commit never holds callers
// for long and a batch's savepoints stay few.
const maxBatch = 64

// writeReq is one caller's write transaction, waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// writer commits every write of this process: SQLite lets one writer in at a time, and a
// commit (with its WAL sync) costs far more than the few statements of a relay write. So
// the writes that queued up while one transaction committed go together into the next —
// group commit — each inside its own savepoint, so one caller's failure (a taken id, a
// reached limit) undoes only its own statements. Every caller still learns the truth: nil
// only once its statements are committed and synced.
type writer struct {
	conn  *sql.Conn
	stmts *stmtCache
	reqs  chan *writeReq // unbuffered: a request sent is a request the writer has
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	batch []*writeReq
	errs  []error
}

func newWriter(ctx context.Context, db *sql.DB, stmts *stmtCache) (*writer, error) {
	// One connection for every write keeps its prepared statements warm and its page cache
	// current; readers use the rest of the pool beside it (WAL).
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, stmts: stmts, reqs: make(chan *writeReq), quit: make(chan struct{})}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

var errClosed = errors.New("store: the SQLite store is closed")

// do runs fn in a write transaction and returns once it is committed or failed. A caller
// whose ctx ends before the writer took its request gets ctx's error and nothing ran; once
// taken, it waits for the outcome (bounded by the busy timeout), so nil always means
// committed and an error always means nothing of fn was kept.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	return <-r.done
}

func (w *writer) loop() {
	defer w.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-w.reqs:
		case <-w.quit:
			return
		}
		w.batch = append(w.batch[:0], first)
		// Let the goroutines that are ready to run go first: under load many are a step
		// away from a write, and joining this batch costs them nothing while a commit of
		// their own would cost a sync each. Profiled on the load test, batches grew from
		// under 2 writes to 6-12, and the CPU per signature fell by a sixth. Alone, the
		// yield returns at once.
		runtime.Gosched()
	gather:
		for len(w.batch) < maxBatch {
			select {
			case r := <-w.reqs:
				w.batch = append(w.batch, r)
			default:
				break gather
			}
		}
		w.commit(w.batch)
		clear(w.batch)
	}
}

// commit runs a batch in one transaction and tells each caller its outcome.
func (w *writer) commit(batch []*writeReq) {
	errs := w.errs[:0]
	for range batch {
		errs = append(errs, nil)
	}
	w.errs = errs
	defer func() {
		for i, r := range batch {
			r.done <- classify(errs[i])
		}
	}()
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	// The transaction is not bound to any caller's context: one caller giving up must
	// not roll back the others' writes (see stmtContext).
	tx, err := w.conn.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	if len(batch) == 1 {
		// Alone, a failure rolls back the transaction: no savepoint needed.
		r := batch[0]
		if errs[0] = r.ctx.Err(); errs[0] == nil {
			errs[0] = r.fn(stmtContext(r), tx)
		}
		if errs[0] != nil {
			tx.Rollback()
			return
		}
	} else {
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if err := w.savepoint(tx, r, &errs[i]); err != nil {
				// The transaction is in a state nobody can vouch for: keep nothing.
				tx.Rollback()
				fail(err)
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
	}
}

// savepoint runs r.fn inside a savepoint, storing its error in *fnErr and undoing its
// statements when it fails. The returned error is about the savepoint itself.
// One name serves every savepoint: each is released before the next begins.
func (w *writer) savepoint(tx *sql.Tx, r *writeReq, fnErr *error) error {
	ctx := context.Background()
	if _, err := w.stmts.exec(ctx, tx, "SAVEPOINT w"); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if *fnErr = r.fn(stmtContext(r), tx); *fnErr != nil {
		if _, err := w.stmts.exec(ctx, tx, "ROLLBACK TO w"); err != nil {
			return fmt.Errorf("store: rollback to savepoint: %w", err)
		}
	}
	if _, err := w.stmts.exec(ctx, tx, "RELEASE w"); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

// stmtContext is the context r's statements run with: its caller's values, not its
// cancellation. The driver interrupts a cancelled statement, and SQLite answers an
// interrupted write inside a transaction by rolling back the whole transaction — which
// here holds the other callers' writes too. A caller that gave up before its turn is
// still skipped (commit checks r.ctx first); its statements, once started, are short.
func stmtContext(r *writeReq) context.Context { return context.WithoutCancel(r.ctx) }

func (w *writer) close() {
	w.once.Do(func() {
		close(w.quit)
		w.wg.Wait()
		w.conn.Close()
	})
}

// classify marks the failures that mean the file cannot take writes now — a full disk, a
// quota, an I/O error, a file made read-only — as store.ErrUnwritable, so the relay stops
// taking new work until a write succeeds again.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnwritable) {
		return err
	}
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlitelib.SQLITE_FULL, sqlitelib.SQLITE_IOERR, sqlitelib.SQLITE_READONLY, sqlitelib.SQLITE_CANTOPEN:
		return fmt.Errorf("%w: %w", store.ErrUnwritable, err)
	}
	return err
}
