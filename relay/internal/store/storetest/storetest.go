// Package storetest is the conformance suite every store.Store implementation must pass, so
// that the relay behaves the same on SQLite and on PostgreSQL.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
)

// Auditor is implemented by stores that can read their audit trail back (both do); the
// suite needs it to check what AddAudit stored.
type Auditor interface {
	Audits(ctx context.Context, sessionID string) ([]store.Audit, error)
}

// Run runs the suite. open must return a new, empty store for each call; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"UpdateSession", testUpdateSession},
		{"SessionNotFound", testSessionNotFound},
		{"SessionExpired", testSessionExpired},
		{"SessionDuplicate", testSessionDuplicate},
		{"StartJobIdempotent", testStartJobIdempotent},
		{"StartJobNoSession", testStartJobNoSession},
		{"StartJobLimit", testStartJobLimit},
		{"ConcurrentSameDigest", func(t *testing.T, s store.Store) { testConcurrentSameDigest(t, s, s) }},
		{"ConcurrentLimit", func(t *testing.T, s store.Store) { testConcurrentLimit(t, s, s) }},
		{"FinishPendingAcknowledge", testFinishPendingAcknowledge},
		{"FinishJobRules", testFinishJobRules},
		{"Audit", testAudit},
		{"CompleteJob", testCompleteJob},
		{"CompleteJobConcurrent", func(t *testing.T, s store.Store) { testCompleteJobConcurrent(t, s, s) }},
		{"Credits", testCredits},
		{"Expire", testExpire},
		{"Ping", testPing},
		{"Checkpoints", testCheckpoints},
		{"CheckpointExpiry", testCheckpointExpiry},
		{"ConcurrentTake", func(t *testing.T, s store.Store) { testConcurrentTake(t, s, s) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// RunShared checks StartJob's atomicity between two stores on the same database, as two
// relays (or two processes) would hold. open returns both; the suite closes them.
func RunShared(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, a, b store.Store)
	}{
		{"ConcurrentSameDigest", testConcurrentSameDigest},
		{"ConcurrentLimit", testConcurrentLimit},
		{"SeenByOther", testSeenByOther},
		{"ConcurrentTake", testConcurrentTake},
		{"CompleteJobConcurrent", testCompleteJobConcurrent},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() {
				a.Close()
				b.Close()
			})
			c.fn(t, a, b)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func newSession(id string) *store.Session {
	now := time.Now()
	return &store.Session{
		ID:       id,
		SignerID: "signer-" + id,
		Audience: "portal.example",
		Methods:  []string{"itsme", "eid"},
		MaxSigns: 5,
		Expires:  now.Add(time.Hour),
		Created:  now,
		Signer:   store.Identity{Name: "Signer " + id, Capacity: "self"},
	}
}

func mustCreate(t *testing.T, s store.Store, sess *store.Session) {
	t.Helper()
	if err := s.CreateSession(ctx(t), sess); err != nil {
		t.Fatalf("CreateSession(%q): %v", sess.ID, err)
	}
}

func digest(i int) []byte {
	d := bytes.Repeat([]byte{byte(i)}, 32)
	d[0] = 0xd1 // never all zero, and distinct for each i < 256
	return d
}

func newJob(sessionID string, i int) *store.Job {
	return &store.Job{SessionID: sessionID, Digest: digest(i), HashAlg: "SHA-256",
		Label: fmt.Sprintf("document %d", i), Level: "B-T"}
}

// micro is what every store keeps of a time: UTC, microseconds.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func checkUTC(t *testing.T, what string, v time.Time) {
	t.Helper()
	if v.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, v.Location())
	}
}

func testSessionRoundTrip(t *testing.T, s store.Store) {
	want := newSession("s1")
	mustCreate(t, s, want)
	got, err := s.Session(ctx(t), "s1")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	checkUTC(t, "Expires", got.Expires)
	checkUTC(t, "Created", got.Created)
	exp := *want
	exp.Expires, exp.Created = micro(want.Expires), micro(want.Created)
	if !reflect.DeepEqual(got, &exp) {
		t.Errorf("Session round trip:\n got %+v\nwant %+v", got, &exp)
	}

	// A zero Created is filled in with the time of creation.
	before := micro(time.Now())
	z := newSession("s2")
	z.Created = time.Time{}
	mustCreate(t, s, z)
	got, err = s.Session(ctx(t), "s2")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if got.Created.Before(before) || got.Created.After(time.Now()) {
		t.Errorf("Created = %v, want about now", got.Created)
	}
}

func testUpdateSession(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	upd := &store.Session{ID: "s1", Method: "itsme", Chain: [][]byte{{0x30, 1, 2}, {0x30, 3}},
		Credential: "cred-1", SignerID: "ignored", MaxSigns: 99,
		Signer: store.Identity{Name: "Ελένη Παπαδοπούλου", Email: "e@example.be", Capacity: "director", Phone: "+32470123456"}}
	if err := s.UpdateSession(ctx(t), upd); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	got, err := s.Session(ctx(t), "s1")
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if got.Method != "itsme" || got.Credential != "cred-1" || !reflect.DeepEqual(got.Chain, upd.Chain) ||
		got.Signer != upd.Signer {
		t.Errorf("identify result not saved: %+v", got)
	}
	if got.SignerID != "signer-s1" || got.MaxSigns != 5 {
		t.Errorf("UpdateSession changed what the token granted: %+v", got)
	}
	err = s.UpdateSession(ctx(t), &store.Session{ID: "nope", Method: "eid"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSession(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessionNotFound(t *testing.T, s store.Store) {
	if _, err := s.Session(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessionExpired(t *testing.T, s store.Store) {
	old := newSession("old")
	old.Expires = time.Now().Add(-time.Minute)
	mustCreate(t, s, old)
	if _, err := s.Session(ctx(t), "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(expired) = %v, want ErrNotFound", err)
	}
	if err := s.UpdateSession(ctx(t), &store.Session{ID: "old", Method: "eid"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSession(expired) = %v, want ErrNotFound", err)
	}
}

func testSessionDuplicate(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	dup := newSession("s1")
	dup.SignerID = "someone else"
	if err := s.CreateSession(ctx(t), dup); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSession(duplicate) = %v, want ErrExists", err)
	}
	got, err := s.Session(ctx(t), "s1")
	if err != nil || got.SignerID != "signer-s1" {
		t.Errorf("the first session was changed: %+v, %v", got, err)
	}
	// An expired id that was not swept yet is still taken.
	old := newSession("old")
	old.Expires = time.Now().Add(-time.Minute)
	mustCreate(t, s, old)
	if err := s.CreateSession(ctx(t), newSession("old")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateSession(expired, unswept id) = %v, want ErrExists", err)
	}
}

func testStartJobIdempotent(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	first, created, err := s.StartJob(ctx(t), newJob("s1", 1), 5)
	if err != nil || !created {
		t.Fatalf("StartJob = %v, %v; want created", created, err)
	}
	if first.State != store.JobPending || !bytes.Equal(first.Digest, digest(1)) ||
		first.Label != "document 1" || first.HashAlg != "SHA-256" || first.Level != "B-T" {
		t.Errorf("created job: %+v", first)
	}
	checkUTC(t, "Created", first.Created)
	again := newJob("s1", 1)
	again.Label = "asked again"
	second, created, err := s.StartJob(ctx(t), again, 5)
	if err != nil || created {
		t.Fatalf("StartJob again = %v, %v; want the existing job", created, err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("StartJob again returned another job:\n got %+v\nwant %+v", second, first)
	}
	got, err := s.Job(ctx(t), "s1", digest(1))
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("Job = %+v, %v; want %+v", got, err, first)
	}
	if _, err := s.Job(ctx(t), "s1", digest(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(unknown digest) = %v, want ErrNotFound", err)
	}
}

func testStartJobNoSession(t *testing.T, s store.Store) {
	if _, _, err := s.StartJob(ctx(t), newJob("nope", 1), 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StartJob(unknown session) = %v, want ErrNotFound", err)
	}
	old := newSession("old")
	old.Expires = time.Now().Add(-time.Minute)
	mustCreate(t, s, old)
	if _, _, err := s.StartJob(ctx(t), newJob("old", 1), 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StartJob(expired session) = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newSession("s1"))
	for _, bad := range []*store.Job{
		{SessionID: "s1"},
		{SessionID: "s1", Digest: digest(1), State: store.JobDone, CMS: []byte{1}},
	} {
		if _, _, err := s.StartJob(ctx(t), bad, 5); err == nil {
			t.Errorf("StartJob(%+v) accepted an invalid job", bad)
		}
	}
}

func testStartJobLimit(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	mustCreate(t, s, newSession("s2"))
	for i := 1; i <= 2; i++ {
		if _, created, err := s.StartJob(ctx(t), newJob("s1", i), 2); err != nil || !created {
			t.Fatalf("StartJob(%d) = %v, %v", i, created, err)
		}
	}
	// Asking again for a known digest is not one more signature.
	for i := 1; i <= 2; i++ {
		if _, created, err := s.StartJob(ctx(t), newJob("s1", i), 2); err != nil || created {
			t.Errorf("StartJob(%d) again at the limit = %v, %v; want the existing job", i, created, err)
		}
	}
	if _, _, err := s.StartJob(ctx(t), newJob("s1", 3), 2); !errors.Is(err, store.ErrLimit) {
		t.Errorf("StartJob(3rd digest, max 2) = %v, want ErrLimit", err)
	}
	// The limit is per session.
	if _, created, err := s.StartJob(ctx(t), newJob("s2", 3), 2); err != nil || !created {
		t.Errorf("StartJob in another session = %v, %v", created, err)
	}
	// A zero limit allows nothing: a missing limit must not mean "unlimited".
	if _, _, err := s.StartJob(ctx(t), newJob("s2", 4), 0); !errors.Is(err, store.ErrLimit) {
		t.Errorf("StartJob(max 0) = %v, want ErrLimit", err)
	}
	jobs, err := s.PendingJobs(ctx(t), "s1")
	if err != nil || len(jobs) != 2 {
		t.Errorf("PendingJobs = %d jobs, %v; want 2", len(jobs), err)
	}
}

// testConcurrentSameDigest: 20 identical requests at once (a, b may be one store or two on
// the same database) create exactly one job, and all of them get it back.
func testConcurrentSameDigest(t *testing.T, a, b store.Store) {
	mustCreate(t, a, newSession("s1"))
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		jobs    []*store.Job
		errs    []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			<-start
			j, c, err := s.StartJob(context.Background(), newJob("s1", 7), 5)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if c {
				created++
			}
			jobs = append(jobs, j)
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d StartJob calls failed, first: %v", len(errs), n, errs[0])
	}
	if created != 1 {
		t.Errorf("%d calls created the job, want exactly 1", created)
	}
	for _, j := range jobs {
		if !j.Created.Equal(jobs[0].Created) || !bytes.Equal(j.Digest, digest(7)) {
			t.Errorf("calls got different jobs: %+v and %+v", j, jobs[0])
			break
		}
	}
	pending, err := a.PendingJobs(ctx(t), "s1")
	if err != nil || len(pending) != 1 {
		t.Errorf("PendingJobs = %d jobs, %v; want 1", len(pending), err)
	}
}

// testConcurrentLimit: 20 distinct digests at once with max 5: exactly 5 jobs.
func testConcurrentLimit(t *testing.T, a, b store.Store) {
	mustCreate(t, a, newSession("s1"))
	const n, max = 20, 5
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		created, limit int
		other          []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			<-start
			_, c, err := s.StartJob(context.Background(), newJob("s1", i+1), max)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrLimit):
				limit++
			case err != nil:
				other = append(other, err)
			case c:
				created++
			default:
				other = append(other, errors.New("a new digest found an existing job"))
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("%d unexpected results, first: %v", len(other), other[0])
	}
	if created != max || limit != n-max {
		t.Errorf("created %d, ErrLimit %d; want %d and %d", created, limit, max, n-max)
	}
	pending, err := b.PendingJobs(ctx(t), "s1")
	if err != nil || len(pending) != max {
		t.Errorf("PendingJobs = %d jobs, %v; want %d", len(pending), err, max)
	}
}

// testSeenByOther: what one store writes the other reads (a client reconnecting to another
// relay finds its finished job).
func testSeenByOther(t *testing.T, a, b store.Store) {
	mustCreate(t, a, newSession("s1"))
	if _, _, err := a.StartJob(ctx(t), newJob("s1", 1), 5); err != nil {
		t.Fatal(err)
	}
	done := newJob("s1", 1)
	done.State, done.CMS = store.JobDone, []byte{0x30, 0x82, 1}
	if err := a.FinishJob(ctx(t), done); err != nil {
		t.Fatal(err)
	}
	j, created, err := b.StartJob(ctx(t), newJob("s1", 1), 5)
	if err != nil || created || j.State != store.JobDone || !bytes.Equal(j.CMS, done.CMS) {
		t.Errorf("other store: StartJob = %+v, %v, %v; want the done job", j, created, err)
	}
	if err := b.Acknowledge(ctx(t), "s1", digest(1)); err != nil {
		t.Fatal(err)
	}
	if p, err := a.PendingJobs(ctx(t), "s1"); err != nil || len(p) != 0 {
		t.Errorf("PendingJobs after the other store's Acknowledge = %d, %v; want none", len(p), err)
	}
}

func testFinishPendingAcknowledge(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	for i := 1; i <= 3; i++ {
		if _, _, err := s.StartJob(ctx(t), newJob("s1", i), 5); err != nil {
			t.Fatal(err)
		}
	}
	cms := []byte{0x30, 0x82, 0x01, 0x00, 0xaa}
	done := newJob("s1", 1)
	done.State, done.CMS = store.JobDone, cms
	if err := s.FinishJob(ctx(t), done); err != nil {
		t.Fatalf("FinishJob(done): %v", err)
	}
	failed := newJob("s1", 2)
	failed.State, failed.ErrCode, failed.ErrMsg = store.JobFailed, "refused", "the signer refused"
	if err := s.FinishJob(ctx(t), failed); err != nil {
		t.Fatalf("FinishJob(failed): %v", err)
	}

	j, err := s.Job(ctx(t), "s1", digest(1))
	if err != nil || j.State != store.JobDone || !bytes.Equal(j.CMS, cms) || j.Delivered {
		t.Errorf("done job: %+v, %v", j, err)
	}
	if err == nil && j.Updated.Before(j.Created) {
		t.Errorf("Updated %v before Created %v", j.Updated, j.Created)
	}
	j, err = s.Job(ctx(t), "s1", digest(2))
	if err != nil || j.State != store.JobFailed || j.ErrCode != "refused" || j.ErrMsg != "the signer refused" || j.CMS != nil {
		t.Errorf("failed job: %+v, %v", j, err)
	}
	// A retry that starts the same digest again gets the outcome, not a new request.
	if j, created, err := s.StartJob(ctx(t), newJob("s1", 1), 5); err != nil || created || !bytes.Equal(j.CMS, cms) {
		t.Errorf("StartJob(done digest) = %+v, %v, %v", j, created, err)
	}

	pendingDigests := func() [][]byte {
		t.Helper()
		jobs, err := s.PendingJobs(ctx(t), "s1")
		if err != nil {
			t.Fatalf("PendingJobs: %v", err)
		}
		var ds [][]byte
		for _, j := range jobs {
			ds = append(ds, j.Digest)
		}
		return ds
	}
	// Done-but-unacknowledged and pending; the failed one is not.
	if got := pendingDigests(); !sameSet(got, digest(1), digest(3)) {
		t.Errorf("PendingJobs = %x, want digests 1 and 3", got)
	}
	if err := s.Acknowledge(ctx(t), "s1", digest(1)); err != nil {
		t.Fatalf("Acknowledge: %v", err)
	}
	if got := pendingDigests(); !sameSet(got, digest(3)) {
		t.Errorf("PendingJobs after Acknowledge = %x, want digest 3", got)
	}
	if j, err := s.Job(ctx(t), "s1", digest(1)); err != nil || !j.Delivered || !bytes.Equal(j.CMS, cms) {
		t.Errorf("acknowledged job: %+v, %v", j, err)
	}
	if err := s.Acknowledge(ctx(t), "s1", digest(1)); err != nil {
		t.Errorf("Acknowledge twice = %v, want nil (a client may retry)", err)
	}
	if err := s.Acknowledge(ctx(t), "s1", digest(3)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Acknowledge(pending job) = %v, want ErrNotFound", err)
	}
	if err := s.Acknowledge(ctx(t), "s1", digest(9)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Acknowledge(unknown job) = %v, want ErrNotFound", err)
	}
	if jobs, err := s.PendingJobs(ctx(t), "nope"); err != nil || len(jobs) != 0 {
		t.Errorf("PendingJobs(unknown session) = %v, %v; want none", jobs, err)
	}
}

func testFinishJobRules(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("s1"))
	if _, _, err := s.StartJob(ctx(t), newJob("s1", 1), 5); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*store.Job{
		{SessionID: "s1", Digest: digest(1), State: store.JobPending},
		{SessionID: "s1", Digest: digest(1), State: store.JobDone},   // no CMS
		{SessionID: "s1", Digest: digest(1), State: store.JobFailed}, // no code
	} {
		if err := s.FinishJob(ctx(t), bad); err == nil {
			t.Errorf("FinishJob(%+v) accepted an invalid outcome", bad)
		}
	}
	unknown := newJob("s1", 2)
	unknown.State, unknown.CMS = store.JobDone, []byte{1}
	if err := s.FinishJob(ctx(t), unknown); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishJob(unknown) = %v, want ErrNotFound", err)
	}
	done := newJob("s1", 1)
	done.State, done.CMS = store.JobDone, []byte{1, 2, 3}
	if err := s.FinishJob(ctx(t), done); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishJob(ctx(t), done); err != nil {
		t.Errorf("FinishJob with the same outcome again = %v, want nil", err)
	}
	other := newJob("s1", 1)
	other.State, other.CMS = store.JobDone, []byte{9, 9}
	if err := s.FinishJob(ctx(t), other); !errors.Is(err, store.ErrExists) {
		t.Errorf("FinishJob replacing a CMS = %v, want ErrExists", err)
	}
	fail := newJob("s1", 1)
	fail.State, fail.ErrCode = store.JobFailed, "late"
	if err := s.FinishJob(ctx(t), fail); !errors.Is(err, store.ErrExists) {
		t.Errorf("FinishJob failing a done job = %v, want ErrExists", err)
	}
	if j, err := s.Job(ctx(t), "s1", digest(1)); err != nil || !bytes.Equal(j.CMS, []byte{1, 2, 3}) {
		t.Errorf("the first CMS was replaced: %+v, %v", j, err)
	}
}

func sameSet(got [][]byte, want ...[]byte) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || bytes.Equal(g, w)
		}
		if !found {
			return false
		}
	}
	return true
}

func testAudit(t *testing.T, s store.Store) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.FixedZone("CET", 3600))
	recs := []*store.Audit{
		{Time: at, SessionID: "s1", SignerID: "alice", Method: "itsme", Digest: digest(1), CertSerial: "0a1b", Outcome: "signed"},
		{Time: at.Add(time.Second), SessionID: "s1", SignerID: "alice", Method: "itsme", Digest: digest(2), Outcome: "refused"},
		{Time: at, SessionID: "s2", SignerID: "bob", Method: "eid", Digest: digest(3), CertSerial: "ff", Outcome: "failed"},
	}
	for _, a := range recs {
		if err := s.AddAudit(ctx(t), a); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
	}
	// A record without a time is stamped now.
	if err := s.AddAudit(ctx(t), &store.Audit{SessionID: "s3", Outcome: "signed"}); err != nil {
		t.Fatalf("AddAudit(no time): %v", err)
	}
	au, ok := s.(Auditor)
	if !ok {
		t.Fatalf("%T has no Audits method to read the trail back", s)
	}
	got, err := au.Audits(ctx(t), "s1")
	if err != nil {
		t.Fatalf("Audits: %v", err)
	}
	want := []store.Audit{*recs[0], *recs[1]}
	for i := range want {
		want[i].Time = micro(want[i].Time)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Audits(s1):\n got %+v\nwant %+v", got, want)
	}
	for _, a := range got {
		checkUTC(t, "audit time", a.Time)
	}
	all, err := au.Audits(ctx(t), "")
	if err != nil || len(all) != 4 {
		t.Fatalf("Audits(all) = %d, %v; want 4", len(all), err)
	}
	if d := time.Since(all[3].Time); d < 0 || d > time.Minute {
		t.Errorf("audit record without time stamped %v", all[3].Time)
	}
}

// testCompleteJob: the job, its audit record and its credits are written together, once.
func testCompleteJob(t *testing.T, s store.Store) {
	mustCreate(t, s, newSession("c"))
	for i := 1; i <= 3; i++ {
		if _, _, err := s.StartJob(ctx(t), newJob("c", i), 5); err != nil {
			t.Fatal(err)
		}
	}
	done := func(i int, cms string) *store.Job {
		return &store.Job{SessionID: "c", Digest: digest(i), State: store.JobDone, CMS: []byte(cms)}
	}
	book := func(i int, priced bool) *store.Booking {
		return &store.Booking{Audit: store.Audit{SessionID: "c", SignerID: "signer-c", Method: "itsme",
			Digest: digest(i), CertSerial: "0a", Outcome: "signed"}, Credits: 4.2, Priced: priced}
	}
	if err := s.CompleteJob(ctx(t), done(1, "cms-1"), book(1, true)); err != nil {
		t.Fatalf("CompleteJob: %v", err)
	}
	// The same outcome again (a retry) is accepted and books nothing more.
	if err := s.CompleteJob(ctx(t), done(1, "cms-1"), book(1, true)); err != nil {
		t.Fatalf("CompleteJob again: %v", err)
	}
	// Another CMS for a done job is refused, and books nothing.
	if err := s.CompleteJob(ctx(t), done(1, "other"), book(1, true)); !errors.Is(err, store.ErrExists) {
		t.Errorf("CompleteJob with another CMS = %v, want ErrExists", err)
	}
	// A method without a price: audited, no credit.
	if err := s.CompleteJob(ctx(t), done(2, "cms-2"), book(2, false)); err != nil {
		t.Fatalf("CompleteJob unpriced: %v", err)
	}
	// A failed job is not completed, and refused outcomes are not booked.
	if err := s.FinishJob(ctx(t), &store.Job{SessionID: "c", Digest: digest(3), State: store.JobFailed, ErrCode: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteJob(ctx(t), done(3, "cms-3"), book(3, true)); !errors.Is(err, store.ErrExists) {
		t.Errorf("CompleteJob of a failed job = %v, want ErrExists", err)
	}
	// Bad input is refused before anything is written.
	if err := s.CompleteJob(ctx(t), &store.Job{SessionID: "c", Digest: digest(4), State: store.JobSigned, CMS: []byte("x")}, book(4, true)); err == nil {
		t.Error("CompleteJob with state signed = nil")
	}
	if err := s.CompleteJob(ctx(t), done(4, "x"), nil); err == nil {
		t.Error("CompleteJob without a booking = nil")
	}

	j, err := s.Job(ctx(t), "c", digest(1))
	if err != nil || j.State != store.JobDone || string(j.CMS) != "cms-1" {
		t.Errorf("completed job = %+v, %v", j, err)
	}
	if got, err := s.Credits(ctx(t), "signer-c"); err != nil || len(got) != 1 || got[0].Credits != 4.2 {
		t.Errorf("Credits after one priced completion (and retries) = %+v, %v; want itsme 4.2", got, err)
	}
	au, ok := s.(Auditor)
	if !ok {
		t.Fatalf("%T has no Audits method to read the trail back", s)
	}
	recs, err := au.Audits(ctx(t), "c")
	if err != nil || len(recs) != 2 || !bytes.Equal(recs[0].Digest, digest(1)) || !bytes.Equal(recs[1].Digest, digest(2)) {
		t.Errorf("Audits after two completions = %+v, %v; want digests 1 and 2, once each", recs, err)
	}
}

// testCompleteJobConcurrent: completions of one job racing (two relays finishing the same
// approval) book it once.
func testCompleteJobConcurrent(t *testing.T, a, b store.Store) {
	mustCreate(t, a, newSession("cc"))
	if _, _, err := a.StartJob(ctx(t), newJob("cc", 1), 5); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CompleteJob(context.Background(), &store.Job{SessionID: "cc", Digest: digest(1), State: store.JobDone, CMS: []byte("cms")},
				&store.Booking{Audit: store.Audit{SessionID: "cc", SignerID: "signer-cc", Method: "eid", Digest: digest(1), Outcome: "signed"}, Credits: 1, Priced: true})
			if err != nil {
				t.Errorf("CompleteJob: %v", err)
			}
		}()
	}
	wg.Wait()
	if got, err := a.Credits(ctx(t), "signer-cc"); err != nil || len(got) != 1 || got[0].Credits != 1 {
		t.Errorf("Credits after 10 racing completions = %+v, %v; want 1", got, err)
	}
	if recs, err := a.(Auditor).Audits(ctx(t), "cc"); err != nil || len(recs) != 1 {
		t.Errorf("audit records after 10 racing completions = %d, %v; want 1", len(recs), err)
	}
}

func testCredits(t *testing.T, s store.Store) {
	for _, c := range []struct {
		signer, method string
		n              float64
	}{
		{"alice", "itsme", 1}, {"alice", "itsme", 2.5}, {"alice", "eid", 1}, {"bob", "itsme", 4},
	} {
		if err := s.AddCredit(ctx(t), c.signer, c.method, c.n); err != nil {
			t.Fatalf("AddCredit: %v", err)
		}
	}
	got, err := s.Credits(ctx(t), "alice")
	if err != nil {
		t.Fatalf("Credits: %v", err)
	}
	want := []store.Credit{
		{SignerID: "alice", SigningOption: "eid", Credits: 1, Subscription: 0},
		{SignerID: "alice", SigningOption: "itsme", Credits: 3.5, Subscription: 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Credits(alice) = %+v, want %+v", got, want)
	}
	none, err := s.Credits(ctx(t), "carol")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("Credits(unknown) = %#v, %v; want an empty, non-nil list", none, err)
	}

	// Concurrent bookings must all count.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.AddCredit(context.Background(), "dave", "itsme", 0.5); err != nil {
				t.Errorf("AddCredit: %v", err)
			}
		}()
	}
	wg.Wait()
	if got, err := s.Credits(ctx(t), "dave"); err != nil || len(got) != 1 || got[0].Credits != 10 {
		t.Errorf("Credits(dave) after 20 concurrent bookings of 0.5 = %+v, %v; want 10", got, err)
	}
}

func testExpire(t *testing.T, s store.Store) {
	old := newSession("old")
	old.Expires = time.Now().Add(time.Second)
	mustCreate(t, s, old)
	mustCreate(t, s, newSession("live"))
	for _, id := range []string{"old", "live"} {
		if _, _, err := s.StartJob(ctx(t), newJob(id, 1), 5); err != nil {
			t.Fatal(err)
		}
	}
	// Sweep as of a moment "old" has expired at; "live" (one hour left) stays.
	if err := s.Expire(ctx(t), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if _, err := s.Job(ctx(t), "live", digest(1)); err != nil {
		t.Errorf("Expire removed a live session's job: %v", err)
	}
	if _, err := s.Session(ctx(t), "live"); err != nil {
		t.Errorf("Expire removed a live session: %v", err)
	}
	// The id is free again and no job survived: deleted, not just hidden.
	if err := s.CreateSession(ctx(t), newSession("old")); err != nil {
		t.Fatalf("CreateSession(swept id): %v", err)
	}
	if _, err := s.Job(ctx(t), "old", digest(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job of a swept session = %v, want ErrNotFound", err)
	}
	if p, err := s.PendingJobs(ctx(t), "old"); err != nil || len(p) != 0 {
		t.Errorf("PendingJobs of a swept session = %d, %v; want none", len(p), err)
	}
	// A sweep as of later takes everything, jobs included.
	if err := s.Expire(ctx(t), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	for _, id := range []string{"old", "live"} {
		if err := s.CreateSession(ctx(t), newSession(id)); err != nil {
			t.Errorf("CreateSession(%q) after the second sweep: %v", id, err)
		}
		if p, err := s.PendingJobs(ctx(t), id); err != nil || len(p) != 0 {
			t.Errorf("PendingJobs(%q) after the second sweep = %d, %v; want none", id, len(p), err)
		}
	}
}

func testPing(t *testing.T, s store.Store) {
	for range 3 {
		if err := s.Ping(ctx(t)); err != nil {
			t.Fatalf("Ping on a healthy store: %v", err)
		}
	}
}

func testCheckpoints(t *testing.T, s store.Store) {
	exp := time.Now().Add(time.Hour)
	// Binary values come back byte for byte, NULs and all.
	val := []byte{0, 1, 2, 0xff, 0, '{', '}'}
	if err := s.PutCheckpoint(ctx(t), "csc:abc", val, exp); err != nil {
		t.Fatalf("PutCheckpoint: %v", err)
	}
	if got, err := s.Checkpoint(ctx(t), "csc:abc"); err != nil || !bytes.Equal(got, val) {
		t.Errorf("Checkpoint = %x, %v; want %x", got, err, val)
	}
	// Reading does not consume.
	if _, err := s.Checkpoint(ctx(t), "csc:abc"); err != nil {
		t.Errorf("Checkpoint read twice: %v", err)
	}
	if _, err := s.Checkpoint(ctx(t), "csc:nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint(unknown) = %v, want ErrNotFound", err)
	}
	// Put replaces value and expiry.
	if err := s.PutCheckpoint(ctx(t), "csc:abc", []byte("second"), exp); err != nil {
		t.Fatalf("PutCheckpoint again: %v", err)
	}
	if got, err := s.Checkpoint(ctx(t), "csc:abc"); err != nil || string(got) != "second" {
		t.Errorf("Checkpoint after replace = %q, %v", got, err)
	}
	// An empty value is a marker, and reads back as empty, not as absent.
	if err := s.PutCheckpoint(ctx(t), "job:1", nil, exp); err != nil {
		t.Fatalf("PutCheckpoint(empty): %v", err)
	}
	if got, err := s.Checkpoint(ctx(t), "job:1"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Checkpoint(empty) = %#v, %v; want an empty, non-nil value", got, err)
	}
	// Take hands the value out once.
	if got, err := s.TakeCheckpoint(ctx(t), "csc:abc"); err != nil || string(got) != "second" {
		t.Errorf("TakeCheckpoint = %q, %v", got, err)
	}
	if _, err := s.TakeCheckpoint(ctx(t), "csc:abc"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeCheckpoint twice = %v, want ErrNotFound", err)
	}
	if _, err := s.Checkpoint(ctx(t), "csc:abc"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint after Take = %v, want ErrNotFound", err)
	}
	// Delete is idempotent, and leaves other keys alone.
	if err := s.PutCheckpoint(ctx(t), "job:2", []byte("x"), exp); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DeleteCheckpoint(ctx(t), "job:1"); err != nil {
			t.Errorf("DeleteCheckpoint: %v", err)
		}
	}
	if _, err := s.Checkpoint(ctx(t), "job:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Checkpoint(ctx(t), "job:2"); err != nil {
		t.Errorf("Delete removed another key: %v", err)
	}
	for name, bad := range map[string]func() error{
		"empty key":  func() error { return s.PutCheckpoint(ctx(t), "", []byte("x"), exp) },
		"no expiry":  func() error { return s.PutCheckpoint(ctx(t), "k", []byte("x"), time.Time{}) },
		"long key":   func() error { return s.PutCheckpoint(ctx(t), string(bytes.Repeat([]byte("k"), 300)), nil, exp) },
		"huge value": func() error { return s.PutCheckpoint(ctx(t), "k", make([]byte, 1<<20), exp) },
	} {
		if err := bad(); err == nil {
			t.Errorf("PutCheckpoint with %s accepted", name)
		}
	}
}

func testCheckpointExpiry(t *testing.T, s store.Store) {
	if err := s.PutCheckpoint(ctx(t), "old", []byte("x"), time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("PutCheckpoint(expired): %v", err)
	}
	if _, err := s.Checkpoint(ctx(t), "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint(expired) = %v, want ErrNotFound", err)
	}
	if _, err := s.TakeCheckpoint(ctx(t), "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeCheckpoint(expired) = %v, want ErrNotFound", err)
	}
	// An expired key can be put again (the row left for the sweep is replaced).
	if err := s.PutCheckpoint(ctx(t), "old", []byte("new"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("PutCheckpoint over an expired one: %v", err)
	}
	if got, err := s.Checkpoint(ctx(t), "old"); err != nil || string(got) != "new" {
		t.Errorf("Checkpoint = %q, %v; want new", got, err)
	}
	if err := s.PutCheckpoint(ctx(t), "live", []byte("y"), time.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The sweep deletes by expiry: as of two hours from now "old" (one hour left) goes and
	// "live" stays. Observed now, "old" would still be readable had it only been hidden.
	if err := s.Expire(ctx(t), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if _, err := s.Checkpoint(ctx(t), "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint after the sweep = %v, want ErrNotFound", err)
	}
	if _, err := s.Checkpoint(ctx(t), "live"); err != nil {
		t.Errorf("the sweep removed a live checkpoint: %v", err)
	}
}

// testConcurrentTake: 20 takers of one checkpoint at once (a, b may be one store or two on
// the same database): exactly one gets it, so a replayed callback cannot sign twice.
func testConcurrentTake(t *testing.T, a, b store.Store) {
	if err := a.PutCheckpoint(ctx(t), "csc:race", []byte("dance"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		got, absent int
		other       []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			<-start
			v, err := s.TakeCheckpoint(context.Background(), "csc:race")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && string(v) == "dance":
				got++
			case errors.Is(err, store.ErrNotFound):
				absent++
			default:
				other = append(other, fmt.Errorf("%q, %v", v, err))
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("%d unexpected results, first: %v", len(other), other[0])
	}
	if got != 1 || absent != n-1 {
		t.Errorf("%d takers got the checkpoint, %d found none; want 1 and %d", got, absent, n-1)
	}
}
