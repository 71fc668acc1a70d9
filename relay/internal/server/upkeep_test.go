package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/protocol"
)

// countingBackend is the in-process ECDSA signer of the load test, counting its signatures:
// a signature delivered from the store must not have asked the signer again.
type countingBackend struct {
	loadBackend
	signs atomic.Int32
}

func (b *countingBackend) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	b.signs.Add(1)
	return b.loadBackend.Sign(ctx, r, in)
}

// upkeepRelay is a relay over the SQLite file at dbPath whose upkeep runs fast.
type upkeepRelay struct {
	st      store.Store
	srv     *server.Server
	url     string // http://127.0.0.1:port
	backend *countingBackend
}

func newUpkeepRelay(t *testing.T, dbPath string, probe, sweep time.Duration) *upkeepRelay {
	t.Helper()
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	seal := sharedPKI(t).Seal()
	b := &countingBackend{loadBackend: loadBackend{chain: seal.Chain, key: seal.Key}}
	srv := server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{b}, Store: st, PerTokenRate: 200, PerIPRate: 200,
		HealthInterval: probe, SweepInterval: sweep, Log: slog.New(slog.DiscardHandler),
	})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Close()
		srv.Shutdown(ctx)
		st.Close()
	})
	return &upkeepRelay{st: st, srv: srv, url: hs.URL, backend: b}
}

func (r *upkeepRelay) dial(t *testing.T, ctx context.Context, signer string) (*client.Client, error) {
	tok, err := token.Issue(tokenKey, audience, signer, []string{"x509"}, 5, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{URL: "ws" + strings.TrimPrefix(r.url, "http") + "/v1/sign", Token: tok, Retries: 3}
	if err := c.Dial(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// approvedWhileAway stores what a signature approved while its client was away leaves: a
// done job, not yet delivered.
func approvedWhileAway(t *testing.T, st store.Store, session string, digest, cmsDER []byte) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := st.StartJob(ctx, &store.Job{SessionID: session, Digest: digest, HashAlg: "sha256", Label: "away", Level: "B-B"}, 5); err != nil {
		t.Fatal(err)
	}
	j := &store.Job{SessionID: session, Digest: digest, State: store.JobDone, CMS: cmsDER}
	if err := st.CompleteJob(ctx, j, &store.Booking{Audit: store.Audit{SessionID: session, SignerID: "x", Method: "x509", Digest: digest, Outcome: "signed"}}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countRows(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestSweepKeepsWhatIsOwed: the periodic sweep deletes an expired session with its jobs and
// an expired checkpoint, and leaves a live session's approved, undelivered signature,
// which its client then gets once, from the store, without the signer being asked again.
func TestSweepKeepsWhatIsOwed(t *testing.T) {
	ctx := testCtx(t)
	dbPath := filepath.Join(t.TempDir(), "relay.db")
	r := newUpkeepRelay(t, dbPath, time.Hour, 20*time.Millisecond)

	c, err := r.dial(t, ctx, "bt_sweep")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identify(ctx, "x509", protocol.Signer{Name: "Sweep Test"}); err != nil {
		t.Fatal(err)
	}
	owed, owedCMS := randomDigest(), []byte("cms approved while the client was away")
	approvedWhileAway(t, r.st, c.Session(), owed, owedCMS)

	old := &store.Session{ID: "expiring", SignerID: "bt_old", Methods: []string{"x509"}, MaxSigns: 5,
		Expires: time.Now().Add(300 * time.Millisecond), Signer: store.Identity{Name: "Old", Phone: "+32470000000"}}
	if err := r.st.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	approvedWhileAway(t, r.st, "expiring", randomDigest(), []byte("cms of an expired session"))
	if err := r.st.PutCheckpoint(ctx, "expiring-checkpoint", []byte("x"), time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	waitFor(t, "the sweep deleting the expired session and checkpoint", func() bool {
		return countRows(t, raw, `SELECT count(*) FROM sessions WHERE id = 'expiring'`) == 0 &&
			countRows(t, raw, `SELECT count(*) FROM checkpoints WHERE key = 'expiring-checkpoint'`) == 0
	})
	if n := countRows(t, raw, `SELECT count(*) FROM jobs WHERE session_id = 'expiring'`); n != 0 {
		t.Errorf("%d jobs of the swept session left", n)
	}
	// Let a few more sweeps pass over the live session.
	sweeps := r.srv.Metrics().Value("veilsign_relay_store_sweeps_total", "")
	waitFor(t, "more sweeps", func() bool { return r.srv.Metrics().Value("veilsign_relay_store_sweeps_total", "") >= sweeps+3 })
	if n := countRows(t, raw, `SELECT count(*) FROM jobs WHERE session_id = ? AND state = 'done' AND delivered = 0`, c.Session()); n != 1 {
		t.Fatalf("the live session's undelivered signature: %d rows, want 1", n)
	}

	// The client asks for the digest (as after a reconnect): the stored CMS, no new signature.
	got, _, err := c.Sign(ctx, owed, "sha256", "away", "B-B")
	if err != nil {
		t.Fatalf("sign of the owed digest: %v", err)
	}
	if !bytes.Equal(got, owedCMS) {
		t.Errorf("got %q, want the stored CMS", got)
	}
	if n := r.backend.signs.Load(); n != 0 {
		t.Errorf("the signer was asked %d times for a signature already approved", n)
	}
	waitFor(t, "the acknowledgement", func() bool {
		return countRows(t, raw, `SELECT count(*) FROM jobs WHERE session_id = ? AND delivered = 1`, c.Session()) == 1
	})
}
