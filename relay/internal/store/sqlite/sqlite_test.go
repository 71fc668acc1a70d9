package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp) }

// Two handles on one file stand for two relay processes sharing it: the in-process write
// queue does not cover that case, BEGIN IMMEDIATE and the busy timeout must.
func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "relay.db")
		a, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(path)
		if err != nil {
			a.Close()
			t.Fatal(err)
		}
		return a, b
	})
}

// TestRestart: a signature that was made but not delivered survives a relay restart, so
// the reconnecting client gets it without asking the signer again.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "relay.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sess := &store.Session{ID: "s1", SignerID: "alice", Methods: []string{"itsme"}, MaxSigns: 3,
		Expires: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	d := bytes.Repeat([]byte{0xab}, 32)
	if _, _, err := s.StartJob(ctx, &store.Job{SessionID: "s1", Digest: d, HashAlg: "SHA-256"}, 3); err != nil {
		t.Fatal(err)
	}
	cms := []byte{0x30, 0x82, 0x05, 0x00}
	if err := s.FinishJob(ctx, &store.Job{SessionID: "s1", Digest: d, State: store.JobDone, CMS: cms}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCredit(ctx, "alice", "itsme", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	jobs, err := s.PendingJobs(ctx, "s1")
	if err != nil || len(jobs) != 1 || jobs[0].State != store.JobDone || !bytes.Equal(jobs[0].CMS, cms) || jobs[0].Delivered {
		t.Fatalf("after restart PendingJobs = %+v, %v; want the done, unacknowledged job", jobs, err)
	}
	if j, created, err := s.StartJob(ctx, &store.Job{SessionID: "s1", Digest: d}, 3); err != nil || created || !bytes.Equal(j.CMS, cms) {
		t.Errorf("after restart StartJob = %+v, %v, %v; want the done job", j, created, err)
	}
	if c, err := s.Credits(ctx, "alice"); err != nil || len(c) != 1 || c[0].Credits != 1 {
		t.Errorf("after restart Credits = %+v, %v", c, err)
	}
}

// TestSchemaTooNew: an older relay refuses a file a newer one migrated.
func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	s, err := open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE schema_version SET version = ?`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted a schema newer than it knows")
	}
}

// TestStoredForm checks what an auditor sees with the sqlite3 shell: digests as BLOBs,
// times as UTC text.
func TestStoredForm(t *testing.T) {
	s, err := open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
	if err := s.AddAudit(context.Background(), &store.Audit{Time: at, SessionID: "s", Digest: []byte{1, 2}, Outcome: "signed"}); err != nil {
		t.Fatal(err)
	}
	var typ, tm string
	if err := s.db.QueryRow(`SELECT typeof(digest), time FROM audit`).Scan(&typ, &tm); err != nil {
		t.Fatal(err)
	}
	if typ != "blob" || tm != "2026-01-02T08:04:05.000006Z" {
		t.Errorf("stored digest type %q, time %q", typ, tm)
	}
}

// TestExpireBacklog: a sweep over more expired sessions than one batch holds deletes them
// all, with their jobs and checkpoints, and nothing that is still live.
func TestExpireBacklog(t *testing.T) {
	ctx := context.Background()
	st, err := open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	n := 2*expireBatch + 7
	// Written in one transaction of the store's own statements: a commit each would make
	// this test wait for a thousand disk syncs.
	err = st.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for i := range n + 1 {
			exp := now.Add(time.Hour)
			if i == n {
				exp = now.Add(3 * time.Hour) // the one that stays
			}
			id := fmt.Sprintf("s%04d", i)
			if _, err := tx.Exec(`INSERT INTO sessions (id, signer_id, audience, methods, max_signs, expires, created)
				VALUES (?, 'x', '', '[]', 1, ?, ?)`, id, ts(exp), ts(now)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO jobs (session_id, digest, hash_alg, label, level, state, created, updated)
				VALUES (?, ?, 'sha256', '', 'B-B', 'pending', ?, ?)`, id, bytes.Repeat([]byte{1}, 32), ts(now), ts(now)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO checkpoints (key, value, expires) VALUES (?, 'v', ?)`, "k-"+id, ts(exp)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Expire(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	for table, want := range map[string]int{"sessions": 1, "jobs": 1, "checkpoints": 1} {
		var got int
		if err := st.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s after sweeping %d expired sessions: %d rows, want %d", table, n, got, want)
		}
	}
	if _, err := st.Session(ctx, fmt.Sprintf("s%04d", n)); err != nil {
		t.Errorf("the live session: %v", err)
	}
}
