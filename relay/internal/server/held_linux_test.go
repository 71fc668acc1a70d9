package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/tsa"
	"github.com/veilsign/veilsign/relay/protocol"
)

// gate holds calls until the test opens it: entered receives one value per call that
// reached it. A nil gate lets every call through.
type gate struct {
	entered chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 16), open: make(chan struct{})} }

func (g *gate) pass(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.entered <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("gave up waiting: %s", what)
	}
}

// gatedBackend is the counting in-process signer, held at its gate before it signs: the
// signer has approved, the relay has not written the result yet.
type gatedBackend struct {
	countingBackend
	gate atomic.Pointer[gate]
}

func (b *gatedBackend) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	res, err := b.countingBackend.Sign(ctx, r, in)
	if err == nil {
		err = b.gate.Load().pass(ctx)
	}
	return res, err
}

// heldRelay is a relay over a SQLite file on a tiny tmpfs, with the gated signer and the
// dev TSA behind a counting, gated handler; it can be restarted over the same file.
type heldRelay struct {
	t       *testing.T
	dbPath  string
	max     int
	st      store.Store
	srv     *server.Server
	url     string
	backend *gatedBackend
	stamps  atomic.Int32 // tokens made
	tsaGate atomic.Pointer[gate]
	tsaDown atomic.Bool
	stop    func()
}

func newHeldRelay(t *testing.T, dir string, max int) *heldRelay {
	seal := sharedPKI(t).Seal()
	r := &heldRelay{t: t, dbPath: filepath.Join(dir, "relay.db"), max: max,
		backend: &gatedBackend{countingBackend: countingBackend{loadBackend: loadBackend{chain: seal.Chain, key: seal.Key}}}}
	r.start()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *heldRelay) start() {
	t := r.t
	st, err := sqlite.Open(r.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	devTSA := tsa.NewServer(sharedPKI(t), nil)
	mux.HandleFunc("/tsa", func(w http.ResponseWriter, req *http.Request) {
		if r.tsaDown.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		if r.tsaGate.Load().pass(req.Context()) != nil {
			return
		}
		r.stamps.Add(1)
		devTSA.ServeHTTP(w, req)
	})
	tc, err := tsa.NewClient([]string{hs.URL + "/tsa"}, tsa.Options{Timeout: 20 * time.Second, Total: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{r.backend}, Store: st, TSA: tc, PerTokenRate: 200, PerIPRate: 200,
		Prices:         map[string]float64{"x509": 1.5},
		HealthInterval: 50 * time.Millisecond, SweepInterval: time.Hour, MaxHeldResults: r.max,
		Log: slog.New(slog.DiscardHandler),
	})
	mux.Handle("/", srv.Handler())
	r.st, r.srv, r.url = st, srv, hs.URL
	r.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.CloseClientConnections()
		srv.Shutdown(ctx)
		hs.Close()
		st.Close()
	}
}

// restart stops the relay and starts a new one over the same file.
func (r *heldRelay) restart() {
	r.stop()
	r.start()
}

func (r *heldRelay) metric(name string) float64 { return r.srv.Metrics().Value(name, "") }

// session is one raw websocket of a session, so that the test decides when it drops.
type session struct {
	t  *testing.T
	ws *websocket.Conn
	id string
}

// hello opens a session (resume == "") or resumes one; it returns the refusal as an error.
func (r *heldRelay) hello(ctx context.Context, tok, resume string) (*session, error) {
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.url, "http")+"/v1/sign", nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxServerFrame)
	s := &session{t: r.t, ws: ws}
	r.t.Cleanup(func() { ws.CloseNow() })
	s.send(ctx, &protocol.Hello{Token: tok, Resume: resume})
	switch m := s.read(ctx).(type) {
	case *protocol.Welcome:
		s.id = m.Session
		return s, nil
	case *protocol.Error:
		return nil, m
	default:
		return nil, fmt.Errorf("no welcome but %T", m)
	}
}

func (s *session) send(ctx context.Context, msg any) {
	s.t.Helper()
	b, err := protocol.Encode(msg)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		s.t.Fatalf("send %T: %v", msg, err)
	}
}

func (s *session) read(ctx context.Context) any {
	s.t.Helper()
	_, b, err := s.ws.Read(ctx)
	if err != nil {
		s.t.Fatalf("read: %v", err)
	}
	m, err := protocol.DecodeServer(b)
	if err != nil {
		s.t.Fatalf("decode %.100s: %v", b, err)
	}
	return m
}

func (s *session) identify(ctx context.Context) {
	s.t.Helper()
	s.send(ctx, &protocol.Identify{Method: "x509", Signer: protocol.Signer{Name: "Held Result"}})
	for {
		switch m := s.read(ctx).(type) {
		case *protocol.Certificate:
			return
		case *protocol.Error:
			s.t.Fatalf("identify: %v", m)
		}
	}
}

// signature reads until the signature for digest (its CMS) or an error arrives.
func (s *session) signature(ctx context.Context, digest []byte) ([]byte, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		switch m := s.read(ctx).(type) {
		case *protocol.Signature:
			if m.Digest != b64(digest) {
				continue
			}
			der, err := base64.StdEncoding.DecodeString(m.CMS)
			if err != nil {
				s.t.Fatal(err)
			}
			return der, nil
		case *protocol.Error:
			return nil, m
		}
	}
}

func (s *session) sign(ctx context.Context, digest []byte, level string) {
	s.send(ctx, &protocol.Sign{Digest: b64(digest), HashAlgorithm: "sha256", Label: "held", Level: level})
}

// drop closes the socket abruptly and waits until the relay has let go of it, so that
// nothing it sends afterwards can reach this client.
func (s *session) drop(r *heldRelay) {
	s.ws.CloseNow()
	waitFor(s.t, "the relay seeing the socket drop", func() bool { return r.metric("veilsign_relay_connections") == 0 })
}

// resumed resumes session id on tok and reads the CMS for digest that the relay delivers
// with the welcome (held in memory or taken from the store); what says which resume it is.
func (r *heldRelay) resumed(ctx context.Context, t *testing.T, tok, id string, digest []byte, what string) (*session, []byte) {
	t.Helper()
	c, err := r.hello(ctx, tok, id)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	cms, err := c.signature(ctx, digest)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return c, cms
}

// signAgain repeats the sign request for digest and fails unless the answer is want: a
// repeated request gets the result the relay holds or stored, never a new signature.
func (s *session) signAgain(ctx context.Context, digest []byte, level string, want []byte, what string) {
	s.t.Helper()
	s.sign(ctx, digest, level)
	got, err := s.signature(ctx, digest)
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		s.t.Errorf("%s: another CMS than the one delivered before", what)
	}
}

// roomAgain frees the disk (removes filler) and waits until the relay has stored what it
// held; it returns the stored job of session id for digest.
func (r *heldRelay) roomAgain(ctx context.Context, t *testing.T, filler, id string, digest []byte) *store.Job {
	t.Helper()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held signature stored", func() bool { return r.metric("veilsign_relay_held_signatures") == 0 })
	j, err := r.st.Job(ctx, id, digest)
	if err != nil {
		t.Fatalf("stored job after space came back: %v", err)
	}
	return j
}

func heldToken(t *testing.T, signer string) string { return issueToken(t, signer, []string{"x509"}, 5) }

// identified is a new session on tok that has said hello and identified.
func (r *heldRelay) identified(ctx context.Context, t *testing.T, tok string) *session {
	t.Helper()
	c, err := r.hello(ctx, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	c.identify(ctx)
	return c
}

func credits(t *testing.T, st store.Store, signer string) float64 {
	t.Helper()
	list, err := st.Credits(context.Background(), signer)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, c := range list {
		sum += c.Credits
	}
	return sum
}

// TestHeldSignatureSurvivesFullDisk (B-B): the disk fills up while the signer approves, so
// the final write fails; the client's socket drops before the CMS reaches it. It resumes
// and gets the CMS the relay held in memory, and again when it asks for the same digest:
// the signer was asked once. Once the disk has room the relay stores the result by itself,
// done with one booking, and after a restart a resume delivers it from the store.
func TestHeldSignatureSurvivesFullDisk(t *testing.T) {
	ctx := testCtx(t)
	dir := testtool.TinyDisk(t)
	r := newHeldRelay(t, dir, 16)
	tok := heldToken(t, "bt_held_bb")
	c := r.identified(ctx, t, tok)

	g := newGate()
	r.backend.gate.Store(g)
	digest := randomDigest()
	c.sign(ctx, digest, "B-B")
	g.wait(t, "the signer approving")
	filler := testtool.FillDisk(t, dir)
	c.drop(r)
	close(g.open)
	waitFor(t, "the signature held in memory", func() bool { return r.metric("veilsign_relay_held_signatures") == 1 })
	if j, err := r.st.Job(ctx, c.id, digest); err != nil || j.State != store.JobPending {
		t.Fatalf("stored job while the disk is full: %+v, %v; want it still pending (the write must have failed)", j, err)
	}
	if r.metric("veilsign_relay_store_writable") != 0 {
		t.Error("the store is not marked unwritable after the final write failed")
	}
	if !strings.Contains(metricsText(t, r.url), "veilsign_relay_held_signatures 1\n") {
		t.Error("/metrics does not show the held signature")
	}

	// The client resumes: the held CMS comes with the welcome, and again for a repeated
	// sign request. The signer was asked once.
	c2, got := r.resumed(ctx, t, tok, c.id, digest, "resume on a full disk")
	checkCMS(t, got, digest)
	c2.signAgain(ctx, digest, "B-B", got, "repeated sign")
	if n := r.backend.signs.Load(); n != 1 {
		t.Errorf("the signer was asked %d times, want 1", n)
	}
	if n := audits(t, r.st, c.id); n != 0 {
		t.Errorf("%d audit records on the full disk", n)
	}

	// Room again: the relay writes the held result by itself, with one booking.
	j := r.roomAgain(ctx, t, filler, c.id, digest)
	if j.State != store.JobDone || !bytes.Equal(j.CMS, got) || j.Delivered {
		t.Fatalf("stored job after space came back: %+v; want done with the delivered CMS, not acknowledged", j)
	}
	if n := audits(t, r.st, c.id); n != 1 {
		t.Errorf("%d audit records, want 1", n)
	}
	if got := credits(t, r.st, "bt_held_bb"); got != 1.5 {
		t.Errorf("credits booked: %g, want 1.5 (one signature)", got)
	}
	if n := r.metric("veilsign_relay_held_signatures_stored_total"); n != 1 {
		t.Errorf("held signatures stored: %g, want 1", n)
	}

	// A restart: nothing is in memory now; the resume delivers the CMS from the store.
	c2.ws.CloseNow()
	r.restart()
	c3, fromStore := r.resumed(ctx, t, tok, c.id, digest, "resume after restart")
	if !bytes.Equal(fromStore, got) {
		t.Error("the CMS delivered after the restart is not the one delivered from memory")
	}
	c3.send(ctx, &protocol.Ack{Digest: b64(digest)})
	waitFor(t, "the acknowledgement stored", func() bool {
		j, err := r.st.Job(ctx, c.id, digest)
		return err == nil && j.Delivered
	})
	if n := r.backend.signs.Load(); n != 1 {
		t.Errorf("the signer was asked %d times in all, want 1", n)
	}
	if n := audits(t, r.st, c.id); n != 1 {
		t.Errorf("%d audit records after the restart, want 1", n)
	}
}

// TestHeldTimestampSurvivesFullDisk (B-T): the signature is stored as signed, then the disk
// fills while the TSA answers, so the timestamped CMS is not stored. The resumed client
// gets it from memory and acknowledges it there; a repeated request gets the same CMS,
// and neither the signer nor the TSA is asked again. With room again the job is stored
// done, acknowledged, with one booking.
func TestHeldTimestampSurvivesFullDisk(t *testing.T) {
	ctx := testCtx(t)
	dir := testtool.TinyDisk(t)
	r := newHeldRelay(t, dir, 16)
	tok := heldToken(t, "bt_held_bt")
	c := r.identified(ctx, t, tok)

	g := newGate()
	r.tsaGate.Store(g)
	digest := randomDigest()
	c.sign(ctx, digest, "B-T")
	g.wait(t, "the TSA asked")
	if j, err := r.st.Job(ctx, c.id, digest); err != nil || j.State != store.JobSigned {
		t.Fatalf("job before the timestamp: %+v, %v; want signed", j, err)
	}
	filler := testtool.FillDisk(t, dir)
	c.drop(r)
	close(g.open)
	waitFor(t, "the timestamped signature held in memory", func() bool { return r.metric("veilsign_relay_held_signatures") == 1 })
	if j, err := r.st.Job(ctx, c.id, digest); err != nil || j.State != store.JobSigned {
		t.Fatalf("stored job while the disk is full: %+v, %v; want still signed", j, err)
	}

	c2, got := r.resumed(ctx, t, tok, c.id, digest, "resume on a full disk")
	if sig := checkCMS(t, got, digest); sig.Timestamp == nil {
		t.Error("the held CMS has no timestamp")
	}
	c2.send(ctx, &protocol.Ack{Digest: b64(digest)})
	c2.signAgain(ctx, digest, "B-T", got, "repeated sign")
	if n, s := r.backend.signs.Load(), r.stamps.Load(); n != 1 || s != 1 {
		t.Errorf("the signer was asked %d times and the TSA %d times, want 1 and 1", n, s)
	}

	j := r.roomAgain(ctx, t, filler, c.id, digest)
	if j.State != store.JobDone || !bytes.Equal(j.CMS, got) || !j.Delivered {
		t.Fatalf("stored job after space came back: %+v; want done with the CMS, acknowledged", j)
	}
	if n := audits(t, r.st, c.id); n != 1 {
		t.Errorf("%d audit records, want 1", n)
	}
	if got := credits(t, r.st, "bt_held_bt"); got != 1.5 {
		t.Errorf("credits booked: %g, want 1.5", got)
	}
	// Now from the store: still the same CMS, still one timestamp.
	c2.signAgain(ctx, digest, "B-T", got, "sign after the store took it")
	if n, s := r.backend.signs.Load(), r.stamps.Load(); n != 1 || s != 1 {
		t.Errorf("the signer was asked %d times and the TSA %d times in all, want 1 and 1", n, s)
	}
}

// TestHeldSignaturesBound: with room for two, two running signatures take it all — a third
// request is refused before its signer is asked — and once the disk is full and both are
// held, the third is still refused, by the bound; when the store takes them the third
// signs.
func TestHeldSignaturesBound(t *testing.T) {
	ctx := testCtx(t)
	dir := testtool.TinyDisk(t)
	r := newHeldRelay(t, dir, 2)
	var sessions []*session
	for i := range 3 {
		sessions = append(sessions, r.identified(ctx, t, heldToken(t, fmt.Sprintf("bt_bound_%d", i))))
	}
	a, b, third := sessions[0], sessions[1], sessions[2]
	g := newGate()
	r.backend.gate.Store(g)
	da, db, d3 := randomDigest(), randomDigest(), randomDigest()
	a.sign(ctx, da, "B-B")
	b.sign(ctx, db, "B-B")
	g.wait(t, "the first signer approving")
	g.wait(t, "the second signer approving")

	refused := func(when string) {
		t.Helper()
		third.sign(ctx, d3, "B-B")
		_, err := third.signature(ctx, d3)
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != protocol.CodeUnavailable || !perr.Retryable || !strings.Contains(perr.Message, "holding signatures") {
			t.Fatalf("third sign %s = %v, want a retryable %q refusal by the bound", when, err, protocol.CodeUnavailable)
		}
	}
	refused("while two run")

	filler := testtool.FillDisk(t, dir)
	close(g.open)
	// Both clients are connected: each gets its CMS although the store did not take it.
	for _, s := range []struct {
		c *session
		d []byte
	}{{a, da}, {b, db}} {
		got, err := s.c.signature(ctx, s.d)
		if err != nil {
			t.Fatalf("signature on the full disk: %v", err)
		}
		checkCMS(t, got, s.d)
	}
	waitFor(t, "two signatures held", func() bool { return r.metric("veilsign_relay_held_signatures") == 2 })
	refused("while two are held")
	if n := r.backend.signs.Load(); n != 2 {
		t.Errorf("signers asked %d times, want 2: a refused request must not reach its signer", n)
	}
	if n := r.metric("veilsign_relay_held_signatures"); n != 2 {
		t.Errorf("%g signatures held, want 2", n)
	}
	if n := r.metric("veilsign_relay_held_signatures_lost_total"); n != 0 {
		t.Errorf("%g signatures lost", n)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the held signatures stored", func() bool { return r.metric("veilsign_relay_held_signatures") == 0 })
	third.sign(ctx, d3, "B-B")
	got, err := third.signature(ctx, d3)
	if err != nil {
		t.Fatalf("third sign once the store took the held ones: %v", err)
	}
	checkCMS(t, got, d3)
	if n := r.backend.signs.Load(); n != 3 {
		t.Errorf("signers asked %d times, want 3", n)
	}
	for _, s := range []struct {
		c *session
		d []byte
	}{{a, da}, {b, db}, {third, d3}} {
		if j, err := r.st.Job(ctx, s.c.id, s.d); err != nil || j.State != store.JobDone {
			t.Errorf("job %x: %+v, %v; want done", s.d[:4], j, err)
		}
		if n := audits(t, r.st, s.c.id); n != 1 {
			t.Errorf("session %s: %d audit records, want 1", s.c.id, n)
		}
	}
}

// TestHeldSignedSurvivesFullDiskAndTSAOutage (B-T): the disk fills while the signer
// approves, so not even the signed state is stored, and the TSA is down too. The signed CMS
// is held: the retry asks the TSA only, the final write fails as well and the timestamped
// CMS is held in its place, then stored, once, with one booking, when the disk has room.
func TestHeldSignedSurvivesFullDiskAndTSAOutage(t *testing.T) {
	ctx := testCtx(t)
	dir := testtool.TinyDisk(t)
	r := newHeldRelay(t, dir, 16)
	c := r.identified(ctx, t, heldToken(t, "bt_held_signed"))

	g := newGate()
	r.backend.gate.Store(g)
	r.tsaDown.Store(true)
	digest := randomDigest()
	c.sign(ctx, digest, "B-T")
	g.wait(t, "the signer approving")
	filler := testtool.FillDisk(t, dir)
	close(g.open)
	_, err := c.signature(ctx, digest)
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeTSAUnavailable {
		t.Fatalf("sign with the TSA down = %v, want %q", err, protocol.CodeTSAUnavailable)
	}
	if n := r.metric("veilsign_relay_held_signatures"); n != 1 {
		t.Fatalf("%g signatures held, want the signed one", n)
	}
	if j, err := r.st.Job(ctx, c.id, digest); err != nil || j.State != store.JobPending {
		t.Fatalf("stored job: %+v, %v; want still pending (the signed write must have failed)", j, err)
	}

	// The TSA is back, the disk still full: the retry asks the TSA only.
	r.tsaDown.Store(false)
	c.sign(ctx, digest, "B-T")
	got, err := c.signature(ctx, digest)
	if err != nil {
		t.Fatalf("retry of the timestamp: %v", err)
	}
	if sig := checkCMS(t, got, digest); sig.Timestamp == nil {
		t.Error("the CMS has no timestamp")
	}
	if n, s := r.backend.signs.Load(), r.stamps.Load(); n != 1 || s != 1 {
		t.Errorf("the signer was asked %d times and %d timestamps were made, want 1 and 1", n, s)
	}
	if n := r.metric("veilsign_relay_held_signatures"); n != 1 {
		t.Errorf("%g signatures held, want the timestamped one in place of the signed one", n)
	}
	c.signAgain(ctx, digest, "B-T", got, "repeated sign")

	j := r.roomAgain(ctx, t, filler, c.id, digest)
	if j.State != store.JobDone || !bytes.Equal(j.CMS, got) {
		t.Fatalf("stored job after space came back: %+v; want done with the delivered CMS", j)
	}
	if n := audits(t, r.st, c.id); n != 1 {
		t.Errorf("%d audit records, want 1", n)
	}
	if n, s := r.backend.signs.Load(), r.stamps.Load(); n != 1 || s != 1 {
		t.Errorf("in all the signer was asked %d times and %d timestamps were made, want 1 and 1", n, s)
	}
}
