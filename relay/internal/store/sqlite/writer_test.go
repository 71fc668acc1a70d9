package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestGroupCommitIsolation: writes that queue while another commits share the next
// transaction, yet each keeps its own outcome: a write that fails after changing rows
// leaves none of them, and its neighbours in the batch are committed all the same.
func TestGroupCommitIsolation(t *testing.T) {
	ctx := context.Background()
	st, err := open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	insert := func(tx *sql.Tx, id string) error {
		_, err := st.exec(ctx, tx, `INSERT INTO sessions (id, signer_id, audience, methods, max_signs, expires, created)
			VALUES (?, 'x', '', '[]', 1, ?, ?)`, id, ts(time.Now().Add(time.Hour)), ts(time.Now()))
		return err
	}
	// The first write holds the writer until the others have queued behind it.
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := st.write(ctx, func(ctx context.Context, tx *sql.Tx) error { <-release; return insert(tx, "first") }); err != nil {
			t.Errorf("first write: %v", err)
		}
	}()
	refused := errors.New("refused after writing")
	const n = 40
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if err := insert(tx, fmt.Sprintf("w%02d", i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return refused
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range errs {
		if want := i%2 == 1; want != errors.Is(err, refused) || (!want && err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	for i := range n {
		var c int
		if err := st.db.QueryRow(`SELECT count(*) FROM sessions WHERE id = ?`, fmt.Sprintf("w%02d", i)).Scan(&c); err != nil {
			t.Fatal(err)
		}
		if want := 1 - i%2; c != want {
			t.Errorf("session w%02d: %d rows, want %d (a failed write's rows must be undone, the others kept)", i, c, want)
		}
	}
}
