package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/relay/internal/store"
)

// TestFullDisk: on a full disk Ping fails (so the relay refuses new sessions), writes return
// errors instead of panicking or half-writing, what was stored stays readable, and the
// store recovers once space is freed.
func TestFullDisk(t *testing.T) {
	dir := testtool.TinyDisk(t)
	ctx := context.Background()
	s, err := open(filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatalf("Open on tmpfs: %v", err)
	}
	t.Cleanup(func() { s.Close() })

	sess := &store.Session{ID: "before", SignerID: "alice", Methods: []string{"itsme"}, MaxSigns: 10,
		Expires: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	d1 := bytes.Repeat([]byte{1}, 32)
	d2 := bytes.Repeat([]byte{2}, 32)
	for _, d := range [][]byte{d1, d2} {
		if _, _, err := s.StartJob(ctx, &store.Job{SessionID: "before", Digest: d}, 10); err != nil {
			t.Fatal(err)
		}
	}
	cms := bytes.Repeat([]byte{0x30}, 3000)
	if err := s.FinishJob(ctx, &store.Job{SessionID: "before", Digest: d1, State: store.JobDone, CMS: cms}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping before the disk is full: %v", err)
	}

	filler := testtool.FillDisk(t, dir)

	if err := s.Ping(ctx); err == nil {
		t.Error("Ping on a full disk = nil; the relay would go on taking sessions it cannot keep")
	} else {
		t.Logf("Ping on a full disk: %v", err)
	}
	// The probe write alone fails too (it appends to the WAL, which needs a new block).
	s.minFree = 0
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping's probe write succeeded on a full disk")
	} else {
		t.Logf("Ping's probe write on a full disk: %v", err)
	}
	s.minFree = defaultMinFree
	// Writes big enough to need new blocks must fail, cleanly. Several of them, since a
	// small one may still fit in space SQLite's WAL already holds.
	failed := 0
	for i := range 20 {
		big := &store.Session{ID: fmt.Sprintf("full-%d", i), SignerID: "bob", MaxSigns: 1,
			Expires: time.Now().Add(time.Hour), Chain: [][]byte{bytes.Repeat([]byte{0x30}, 8000)}}
		if err := s.CreateSession(ctx, big); err != nil {
			failed++
			if !errors.Is(err, store.ErrUnwritable) {
				t.Errorf("CreateSession on a full disk: %v, want an error matching store.ErrUnwritable", err)
			}
		}
	}
	if failed == 0 {
		t.Error("CreateSession never failed on a full disk")
	}
	t.Logf("%d of 20 CreateSession calls failed on the full disk", failed)
	jobFailed := false
	for i := range 200 {
		d := bytes.Repeat([]byte{byte(i), 0xee}, 16)
		if _, _, err := s.StartJob(ctx, &store.Job{SessionID: "before", Digest: d, Label: string(bytes.Repeat([]byte("x"), 4000))}, 1000); err != nil {
			if !errors.Is(err, store.ErrUnwritable) {
				t.Fatalf("StartJob on a full disk: %v, want an error matching store.ErrUnwritable", err)
			}
			t.Logf("StartJob on a full disk: %v", err)
			jobFailed = true
			break
		}
	}
	if !jobFailed {
		t.Error("StartJob never failed on a full disk")
	}

	// What was stored before is intact and readable.
	got, err := s.Session(ctx, "before")
	if err != nil || got.SignerID != "alice" {
		t.Errorf("Session after the disk filled: %+v, %v", got, err)
	}
	j, err := s.Job(ctx, "before", d1)
	if err != nil || j.State != store.JobDone || !bytes.Equal(j.CMS, cms) {
		t.Errorf("done job after the disk filled: %+v, %v", j, err)
	}
	if p, err := s.PendingJobs(ctx, "before"); err != nil || len(p) < 2 {
		t.Errorf("PendingJobs after the disk filled = %d, %v", len(p), err)
	}

	// Freeing space brings the store back without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after space was freed: %v", err)
	}
	if err := s.CreateSession(ctx, &store.Session{ID: "after", MaxSigns: 1, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("CreateSession after space was freed: %v", err)
	}
	if err := s.FinishJob(ctx, &store.Job{SessionID: "before", Digest: d2, State: store.JobFailed, ErrCode: "x"}); err != nil {
		t.Errorf("FinishJob after space was freed: %v", err)
	}

	// And the file is sound: close, reopen, check its integrity.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := open(filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	var ok string
	if err := s2.db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check = %q, %v", ok, err)
	}
	if j, err := s2.Job(ctx, "before", d1); err != nil || !bytes.Equal(j.CMS, cms) {
		t.Errorf("done job after reopen: %+v, %v", j, err)
	}
}
