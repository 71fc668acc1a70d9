package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/relay/internal/devstore"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)

// startDemo runs relay serve --demo on 127.0.0.1 in-process and returns its base URL.
func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	f := serveFlags{addr: "127.0.0.1:0", store: "sqlite:" + filepath.Join(t.TempDir(), "relay.db"), audience: "veilsign-relay", prices: "itsme=4.2", demo: true}
	go func() { done <- runServe(ctx, f, out, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("relay serve did not stop")
		}
	})
	for i := 0; i < 100; i++ {
		if m := listenRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("relay serve: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("relay serve did not start: %s", out.String())
	return ""
}

func levelOf(t *testing.T, path string) (*pdfcore.Report, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pki, err := devstore.Load()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pdfcore.Verify(data, pdfcore.VerifyOptions{Roots: pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Signatures {
		if s.Field == "A" || strings.HasSuffix(s.Field, " A") {
			return rep, s.Level
		}
	}
	t.Fatalf("no signature A in %+v", rep)
	return nil, ""
}

// TestSignLevelsCLI: relay sign --level at every level, --dev and --relay against relay
// serve --demo, and relay extend on a B-T file; the verifier reports each level.
func TestSignLevelsCLI(t *testing.T) {
	t.Setenv("VEILSIGN_DEV_DIR", t.TempDir())
	base := startDemo(t)
	in := filepath.Join("..", "..", "..", "testdata", "pdf", "libreoffice-7.4-writer-xref-table.pdf")
	dir := t.TempDir()
	for _, mode := range [][]string{{"--dev"}, {"--relay", base, "--demo"}} {
		for _, level := range []string{"B-B", "B-T", "B-LT", "B-LTA"} {
			out := filepath.Join(dir, strings.TrimPrefix(mode[0], "--")+"-"+level+".pdf")
			var stdout, stderr bytes.Buffer
			args := append(append([]string{}, mode...), "--level", level, "--in", in, "--out", out, "--signer", "Jan Peeters")
			if code := Sign(args, &stdout, &stderr); code != ExitOK {
				t.Fatalf("sign %v: exit %d: %s", args, code, stderr.String())
			}
			rep, got := levelOf(t, out)
			if !rep.Valid || got != level {
				t.Fatalf("%v: valid %v level %q, want %s", mode, rep.Valid, got, level)
			}
		}
		bt := filepath.Join(dir, strings.TrimPrefix(mode[0], "--")+"-B-T.pdf")
		ext := filepath.Join(dir, strings.TrimPrefix(mode[0], "--")+"-extended.pdf")
		var stdout, stderr bytes.Buffer
		args := append(append([]string{"--level", "B-LTA"}, mode...), bt, "--out", ext)
		if code := Extend(args, &stdout, &stderr); code != ExitOK {
			t.Fatalf("extend %v: exit %d: %s", args, code, stderr.String())
		}
		if rep, got := levelOf(t, ext); !rep.Valid || got != "B-LTA" {
			t.Fatalf("extend %v: valid %v level %q", mode, rep.Valid, got)
		}
	}
	// The demo's revocation switch answers loopback clients only; here it is one.
	resp, err := http.Post(base+"/dev/revoke?serial=zz", "", nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("revoke with a bad serial: %v %v", err, resp)
	}
	if code := Sign([]string{"--dev", "--level", "B-XL", "--in", in, "--out", filepath.Join(dir, "x.pdf"), "--signer", "J"}, io.Discard, io.Discard); code != ExitBadInput {
		t.Fatalf("--level B-XL: exit %d", code)
	}
}
