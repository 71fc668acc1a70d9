package server_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/relay/protocol"
)

// TestFullDiskRefusesNewSessions fills the filesystem under the relay's SQLite file: the
// relay turns unhealthy, answers new hellos with a retryable "unavailable", still delivers
// a signature approved before; once space is freed it takes new sessions again, by itself.
func TestFullDiskRefusesNewSessions(t *testing.T) {
	ctx := testCtx(t)
	dir := testtool.TinyDisk(t)
	r := newUpkeepRelay(t, filepath.Join(dir, "relay.db"), 50*time.Millisecond, time.Hour)

	c, err := r.dial(t, ctx, "bt_full")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identify(ctx, "x509", protocol.Signer{Name: "Full Disk"}); err != nil {
		t.Fatal(err)
	}
	owed, owedCMS := randomDigest(), bytes.Repeat([]byte{0x30}, 3000)
	approvedWhileAway(t, r.st, c.Session(), owed, owedCMS)
	if code := health(t, r.url); code != http.StatusOK {
		t.Fatalf("/healthz before the disk filled: %d", code)
	}

	filler := testtool.FillDisk(t, dir)
	// The relay's own probe notices, before any request fails on it.
	waitFor(t, "the store marked unwritable", func() bool {
		return r.srv.Metrics().Value("veilsign_relay_store_writable", "") == 0
	})
	if code := health(t, r.url); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz on a full disk: %d, want 503", code)
	}
	if !strings.Contains(metricsText(t, r.url), "veilsign_relay_store_writable 0\n") {
		t.Error("/metrics does not show the store as unwritable")
	}

	// A new session is refused, with a code the page can act on.
	_, err = r.dial(t, ctx, "bt_full_new")
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeUnavailable || !perr.Retryable {
		t.Fatalf("hello on a full disk = %v, want a retryable %q error", err, protocol.CodeUnavailable)
	}

	// The session that was open gets its signature: the socket drops, the client resumes
	// and is handed the stored CMS.
	c.Drop()
	got, _, err := c.Sign(ctx, owed, "sha256", "away", "B-B")
	if err != nil {
		t.Fatalf("the approved signature on a full disk: %v", err)
	}
	if !bytes.Equal(got, owedCMS) {
		t.Error("the signature delivered on a full disk is not the stored one")
	}
	if n := r.backend.signs.Load(); n != 0 {
		t.Errorf("the signer was asked %d times", n)
	}

	// Space comes back: the relay notices by itself and takes sessions again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store marked writable again", func() bool {
		return r.srv.Metrics().Value("veilsign_relay_store_writable", "") == 1
	})
	if code := health(t, r.url); code != http.StatusOK {
		t.Errorf("/healthz after space was freed: %d, want 200", code)
	}
	c2, err := r.dial(t, ctx, "bt_full_after")
	if err != nil {
		t.Fatalf("hello after space was freed: %v", err)
	}
	if _, err := c2.Identify(ctx, "x509", protocol.Signer{Name: "After"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.Sign(ctx, randomDigest(), "sha256", "after", "B-B"); err != nil {
		t.Fatalf("sign after space was freed: %v", err)
	}
}

func health(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
