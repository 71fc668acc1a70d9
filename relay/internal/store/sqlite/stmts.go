package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each statement once. SQLite compiles SQL text into a program before it
// runs it, and for the relay's short statements that compilation cost more than running
// them (a third of a write, profiled); database/sql keeps a prepared statement per pooled
// connection, so each connection compiles each statement once.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[q]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	// Prepared outside the lock: preparing waits for a pooled connection, and lookups of
	// statements already prepared must not wait behind it.
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		st.Close() // prepared twice at once; keep the first
		return prev, nil
	}
	c.m[q] = st
	return st, nil
}

// exec runs q in tx, prepared.
func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	st, err := c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// queryRow runs q in tx (or on the pool when tx is nil), prepared. A failed preparation
// comes back through the Row, as database/sql does.
func (c *stmtCache) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) rowScanner {
	st, err := c.get(ctx, q)
	if err != nil {
		return errRow{err}
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs q on the pool, prepared.
func (c *stmtCache) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
