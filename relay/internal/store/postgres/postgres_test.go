package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/storetest"
)

// envDSN names the variable holding the test database's DSN, e.g.
// postgres://veilsign:veilsign@127.0.0.1:5432/veilsign_test?sslmode=disable
const envDSN = "VEILSIGN_TEST_POSTGRES"

// testDSN returns the DSN, or stops the test: off CI it skips loudly, in CI (which sets up
// PostgreSQL) a missing DSN is a failure, so the suite can never silently not run there.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn != "" {
		return dsn
	}
	if testtool.InCI() {
		t.Fatalf("%s is not set in CI: the PostgreSQL store is untested (.ci/run must start PostgreSQL and export it)", envDSN)
	}
	t.Skipf("SKIPPED: %s is not set; the PostgreSQL store tests did not run (see relay/internal/store/postgres/postgres_test.go)", envDSN)
	return ""
}

// freshSchema creates a schema of its own for one test, dropped afterwards, and returns the
// DSN that puts it first on the search_path: tests and parallel runs never see each other.
func freshSchema(t *testing.T) string {
	t.Helper()
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", envDSN, err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "veilsign_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t *testing.T, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: %v", envDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func openDSN(t *testing.T, dsn string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openDSN(t, freshSchema(t)) })
}

// Two pools on one schema stand for two relays behind a load balancer.
func TestConformanceShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		dsn := freshSchema(t)
		return openDSN(t, dsn), openDSN(t, dsn)
	})
}

// TestConcurrentMigration: relays starting together on an empty schema all come up (the
// advisory lock makes them take turns) and agree on the version.
func TestConcurrentMigration(t *testing.T) {
	dsn := freshSchema(t)
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			s, err := Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	s := openDSN(t, dsn).(*DB)
	defer s.Close()
	var v, n int
	if err := s.pool.QueryRow(context.Background(), `SELECT max(version), count(*) FROM schema_version`).Scan(&v, &n); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || n != 1 {
		t.Errorf("schema_version: version %d in %d rows, want %d in 1", v, n, len(migrations))
	}
}

// TestSchemaTooNew: an older relay refuses a schema a newer one migrated.
func TestSchemaTooNew(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn).(*DB)
	if _, err := s.pool.Exec(context.Background(), `UPDATE schema_version SET version = $1`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(context.Background(), dsn); err == nil {
		s.Close()
		t.Fatal("Open accepted a schema newer than it knows")
	}
}

// TestPingReadOnly: a server that refuses writes (a standby after failover) fails Ping.
// Open itself refuses such a server when its schema needs DDL, so the store is migrated
// first and then reached through a pool whose sessions are read-only.
func TestPingReadOnly(t *testing.T) {
	dsn := freshSchema(t)
	openDSN(t, dsn).Close()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &DB{pool: pool}
	defer s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping on a read-only server = nil")
	} else {
		t.Logf("Ping on a read-only server: %v", err)
	}
}

// TestReadOnlyIsUnwritable: a database that refuses writes (here every transaction is
// read-only, as on a standby or after an administrator's switch) makes Ping and the writes
// fail with store.ErrUnwritable — what tells the relay to refuse new sessions — while
// reads go on.
func TestReadOnlyIsUnwritable(t *testing.T) {
	dsn := freshSchema(t)
	rw := openDSN(t, dsn) // creates the schema
	defer rw.Close()
	ctx := context.Background()
	sess := &store.Session{ID: "before", SignerID: "alice", MaxSigns: 1, Expires: time.Now().Add(time.Hour)}
	if err := rw.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Skipf("SKIPPED: %s is not a URL; the read-only test needs one", envDSN)
	}
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	ro := &DB{pool: pool}
	defer ro.Close()
	if err := ro.Ping(ctx); !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("Ping on a read-only database = %v, want store.ErrUnwritable", err)
	}
	err = ro.CreateSession(ctx, &store.Session{ID: "after", SignerID: "bob", MaxSigns: 1, Expires: time.Now().Add(time.Hour)})
	if !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("CreateSession on a read-only database = %v, want store.ErrUnwritable", err)
	}
	_, _, err = ro.StartJob(ctx, &store.Job{SessionID: "before", Digest: []byte("0123456789abcdef0123456789abcdef")}, 1)
	if !errors.Is(err, store.ErrUnwritable) {
		t.Errorf("StartJob on a read-only database = %v, want store.ErrUnwritable", err)
	}
	if got, err := ro.Session(ctx, "before"); err != nil || got.SignerID != "alice" {
		t.Errorf("Session on a read-only database = %+v, %v", got, err)
	}
	if _, err := ro.Session(ctx, "nope"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnwritable) {
		t.Errorf("Session(unknown) on a read-only database = %v, want ErrNotFound only", err)
	}
}
