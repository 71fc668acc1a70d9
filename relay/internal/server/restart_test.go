package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/csc"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/tsa"
	"github.com/veilsign/veilsign/relay/protocol"
)

// outside is what a relay talks to and outlives it: the itsme simulator and a dev TSA,
// each on its own loopback server, and the signer's browser and phone.
type outside struct {
	t       *testing.T
	sim     *itsmesim.Sim
	simURL  string
	tsaURL  string
	browser *signerBrowser
}

// newOutside starts the simulator for a relay whose public URL is relayURL (the callback
// it registers must not change across the relay's restart).
func newOutside(t *testing.T, relayURL string) *outside {
	t.Helper()
	pki := sharedPKI(t)
	sim, err := itsmesim.New(itsmesim.Config{PKI: pki, ClientID: simClient, ClientSecret: simSecret,
		RedirectURIs: []string{relayURL + "/v1/csc/callback"}, PIN: simPIN, ApprovalTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	tsaSrv := httptest.NewServer(tsa.NewServer(pki, nil))
	t.Cleanup(tsaSrv.Close)
	o := &outside{t: t, sim: sim, simURL: simSrv.URL, tsaURL: tsaSrv.URL + "/tsa"}
	o.browser = &signerBrowser{sim: sim, simURL: simSrv.URL, held: make(chan string, 4),
		release: make(chan struct{}), errs: make(chan error, 8),
		// A browser of its own, without connections kept from one relay process to the next.
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return o
}

// signerBrowser is the signer: their browser opens each authorise URL the page receives
// and follows the redirect back to the relay; their phone approves identification at once
// but holds a signature request until the test releases it, as a person who approves
// while the relay is being restarted.
type signerBrowser struct {
	sim     *itsmesim.Sim
	simURL  string
	http    *http.Client
	held    chan string   // ids of signature requests on the phone
	release chan struct{} // closed: the phone approves what it holds
	errs    chan error

	mu        sync.Mutex
	signURLs  int      // signature authorise URLs opened: each is one request on the phone
	callbacks []string // callback URLs followed
	statuses  []int    // and how the relay answered them
}

func (b *signerBrowser) open(u string) {
	go func() {
		if err := b.visit(u); err != nil {
			b.errs <- err
		}
	}()
}

func (b *signerBrowser) visit(u string) error {
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	resp, err := b.http.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	id, wait := resp.Header.Get("X-Itsmesim-Request"), resp.Header.Get("X-Itsmesim-Wait")
	if resp.StatusCode != http.StatusOK || id == "" {
		return fmt.Errorf("authorise page: HTTP %d", resp.StatusCode)
	}
	if pu.Query().Get("scope") == "credential" {
		b.mu.Lock()
		b.signURLs++
		b.mu.Unlock()
		b.held <- id
		<-b.release
	}
	if err := b.sim.Approve(id, simPIN); err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	loc := ""
	for i := 0; i < 5 && loc == ""; i++ {
		r, err := b.http.Get(b.simURL + wait)
		if err != nil {
			return err
		}
		r.Body.Close()
		loc = r.Header.Get("Location")
	}
	if loc == "" {
		return errors.New("the authorise page never redirected")
	}
	cb, err := b.http.Get(loc)
	if err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	cb.Body.Close()
	b.mu.Lock()
	b.callbacks, b.statuses = append(b.callbacks, loc), append(b.statuses, cb.StatusCode)
	b.mu.Unlock()
	if cb.StatusCode != http.StatusOK {
		return fmt.Errorf("callback: HTTP %d", cb.StatusCode)
	}
	return nil
}

// restartClient is a client of the relay at addr that counts the signatures delivered to
// it and reports the status a restarted relay sends for a request already on the phone.
type restartClient struct {
	*client.Client
	signatures atomic.Int32
	waiting    chan struct{} // closed at the first awaiting-approval without a URL
}

func newRestartClient(t *testing.T, ctx context.Context, addr, tok string, b *signerBrowser) *restartClient {
	t.Helper()
	rc := &restartClient{Client: &client.Client{URL: "ws://" + addr + "/v1/sign", Token: tok}, waiting: make(chan struct{})}
	var once sync.Once
	rc.OnStatus = func(st protocol.Status) {
		if st.URL != "" {
			b.open(st.URL)
		} else if st.State == protocol.StateAwaitingApproval {
			once.Do(func() { close(rc.waiting) })
		}
	}
	rc.Trace = func(msg any) {
		if _, ok := msg.(*protocol.Signature); ok {
			rc.signatures.Add(1)
		}
	}
	if err := rc.Dial(ctx); err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}

type signResult struct {
	der   []byte
	level string
	err   error
}

// signAcrossRestart asks for a signature, lets restart replace the relay while the
// request is on the signer's phone, then lets the signer approve, and returns what the
// client received.
func signAcrossRestart(t *testing.T, ctx context.Context, o *outside, c *restartClient, digest []byte, restart func()) signResult {
	t.Helper()
	done := make(chan signResult, 1)
	go func() {
		der, level, err := c.Sign(ctx, digest, "sha256", "Contract 2026-114", "")
		done <- signResult{der, level, err}
	}()
	var id string
	select {
	case id = <-o.browser.held:
	case err := <-o.browser.errs:
		t.Fatalf("browser: %v", err)
	case r := <-done:
		t.Fatalf("sign ended before the request reached the phone: %v", r.err)
	case <-time.After(15 * time.Second):
		t.Fatal("the signature request never reached the phone")
	}
	restart()
	// The client reconnects to the new process by itself and is told the request is
	// still waiting for the signer, without a URL to open again.
	select {
	case <-c.waiting:
	case r := <-done:
		t.Fatalf("sign ended before the signer approved: %v", r.err)
	case <-time.After(15 * time.Second):
		t.Fatal("the client was not told, after the restart, that the request waits for the signer")
	}
	// The client re-sent its request on reconnecting; give a relay that would wrongly
	// run it again the time to put a second request on the phone.
	select {
	case id2 := <-o.browser.held:
		t.Fatalf("after the restart the signer was asked again (request %s besides %s)", id2, id)
	case <-time.After(500 * time.Millisecond):
	}
	if n := o.sim.SignHashCount(); n != 0 {
		t.Fatalf("%d signHash calls before the signer approved", n)
	}
	if p := o.sim.Pending(); len(p) != 1 || p[0].ID != id {
		t.Fatalf("the phone shows %+v, want only request %s", p, id)
	}
	close(o.browser.release) // the signer approves; itsme sends the browser to the new process
	select {
	case r := <-done:
		return r
	case err := <-o.browser.errs:
		t.Fatalf("browser: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no signature after the approval")
	}
	return signResult{}
}

// checkOnce checks that the approval gave one signature, delivered once, over digest.
func checkOnce(t *testing.T, o *outside, c *restartClient, r signResult, digest []byte, st store.Store) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("sign across the restart: %v", r.err)
	}
	if r.level != "B-T" {
		t.Errorf("level %q, want B-T", r.level)
	}
	sig := checkCMS(t, r.der, digest)
	if sig.Timestamp == nil {
		t.Error("the CMS has no timestamp")
	}
	time.Sleep(200 * time.Millisecond) // let a second signature, if any were made, arrive
	if n := o.sim.SignHashCount(); n != 1 {
		t.Errorf("the service made %d signHash calls, want 1", n)
	}
	if n := c.signatures.Load(); n != 1 {
		t.Errorf("the client received the signature %d times, want once", n)
	}
	o.browser.mu.Lock()
	asked, callbacks := o.browser.signURLs, append([]string(nil), o.browser.callbacks...)
	o.browser.mu.Unlock()
	if asked != 1 {
		t.Errorf("the signer was asked %d times to approve the signature, want once", asked)
	}
	if len(o.sim.Pending()) != 0 {
		t.Errorf("requests left on the phone: %+v", o.sim.Pending())
	}
	if n := audits(t, st, c.Session()); n != 1 {
		t.Errorf("%d signatures booked, want 1", n)
	}
	// The client acknowledged it (the ack is sent after Sign returns): nothing is left to
	// deliver on a later resume.
	deadline := time.Now().Add(5 * time.Second)
	for {
		j, err := st.Job(context.Background(), c.Session(), digest)
		if err == nil && j.Delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the job is not acknowledged: %+v, %v", j, err)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The approval is single use: the same callback again is refused, and signs nothing.
	last := callbacks[len(callbacks)-1]
	resp, err := o.browser.http.Get(last)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: HTTP %d, want 400", resp.StatusCode)
	}
	if n := o.sim.SignHashCount(); n != 1 {
		t.Errorf("after the replay the service made %d signHash calls, want 1", n)
	}
}

// checkCMS parses a CMS and checks that it signs digest and that its signature verifies.
func checkCMS(t *testing.T, der, digest []byte) *cms.Signature {
	t.Helper()
	sig, err := cms.Parse(der)
	if err != nil {
		t.Fatalf("parse CMS: %v", err)
	}
	if err := sig.CheckDigest(digest); err != nil {
		t.Errorf("CMS digest: %v", err)
	}
	if err := sig.Verify(); err != nil {
		t.Errorf("CMS verify: %v", err)
	}
	return sig
}

// inProcessRelay is one relay process, in this test process: a server over a SQLite file,
// the CSC backend and its callback, on a listener of its own.
type inProcessRelay struct {
	st   store.Store
	srv  *server.Server
	hs   *http.Server
	once sync.Once
}

func startInProcess(t *testing.T, ln net.Listener, dbPath string, o *outside) *inProcessRelay {
	t.Helper()
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	itsme, err := csc.NewBackend(csc.Config{BaseURL: o.simURL + "/csc/v1", ClientID: simClient, ClientSecret: simSecret,
		RedirectURI: public + "/v1/csc/callback", Profile: csc.ItsmeProfile(), Timeout: 10 * time.Second, Checkpoints: st})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tsa.NewClient([]string{o.tsaURL}, tsa.Options{Timeout: 2 * time.Second, Total: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{itsme}, Store: st, TSA: tc,
		Prices: map[string]float64{"itsme": 4.2}, PerTokenRate: 200, PerIPRate: 200,
	})
	mux := http.NewServeMux()
	mux.Handle("/v1/csc/callback", itsme.CallbackHandler())
	mux.Handle("/", srv.Handler())
	r := &inProcessRelay{st: st, srv: srv, hs: &http.Server{Handler: mux}}
	go r.hs.Serve(ln)
	t.Cleanup(func() {
		r.once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r.hs.Close()
			r.srv.Shutdown(ctx)
			r.st.Close()
		})
	})
	return r
}

// crash stops the relay the hard way, as far as a process can do it to itself: the
// listener and every connection close at once, every running signature is cancelled
// without being waited for, and the store is closed under it.
func (r *inProcessRelay) crash() {
	r.once.Do(func() { stopHard(r.hs, r.srv, r.st) })
}

// restartSite is where relays A and B of a restart test live in turn: a loopback address
// (A's listener on it) and a SQLite file.
func restartSite(t *testing.T) (ln net.Listener, addr, dbPath string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().String(), filepath.Join(t.TempDir(), "relay.db")
}

// stopHard is crash for any relay of this test process.
func stopHard(hs *http.Server, srv *server.Server, st store.Store) {
	hs.Close() // first: a reconnecting client must not reach this relay again
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	srv.Shutdown(gone) // waits for nothing; closes the websockets
	st.Close()
}

// TestRestartWhileAwaitingApproval: relay A dies while the signer holds the itsme request
// on their phone; relay B starts on the same address and SQLite file. The client resumes
// on B without the signer being asked again, the approval given after the restart reaches
// B's callback, and the signature is made once and delivered once.
func TestRestartWhileAwaitingApproval(t *testing.T) {
	ctx := testCtx(t)
	ln, addr, dbPath := restartSite(t)
	o := newOutside(t, "http://"+addr)
	a := startInProcess(t, ln, dbPath, o)
	c := newRestartClient(t, ctx, addr, signerToken(t, "bt_restart"), o.browser)
	if _, err := c.Identify(ctx, "itsme", protocol.Signer{Name: "Jan Peeters"}); err != nil {
		t.Fatalf("identify: %v", err)
	}
	var b *inProcessRelay
	digest := randomDigest()
	r := signAcrossRestart(t, ctx, o, c, digest, func() {
		a.crash()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("relay B cannot listen on %s: %v", addr, err)
		}
		b = startInProcess(t, ln, dbPath, o)
	})
	checkOnce(t, o, c, r, digest, b.st)
}

func signerToken(t *testing.T, signer string) string {
	tok, err := token.Issue(tokenKey, audience, signer, []string{"itsme"}, 3, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// relayProcess is `relay serve` run as a process of its own.
type relayProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

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

// buildRelay builds the relay command into dir, with the race detector when this test
// has it (the packages are then already compiled that way).
func buildRelay(t *testing.T, dir string) string {
	t.Helper()
	gocmd, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
	if err != nil {
		t.Fatalf("the go command is needed to build the relay: %v", err)
	}
	bin := filepath.Join(dir, "relay")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(gocmd, append(args, "github.com/veilsign/veilsign/relay")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startProcess(t *testing.T, bin string, args []string, addr string) *relayProcess {
	t.Helper()
	p := &relayProcess{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), exited: make(chan struct{}), out: &syncBuffer{}}
	// The flags say everything; no VEILSIGN_* variable of the environment may add to it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VEILSIGN_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("relay pid %d output:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	// Ready when /healthz answers (the store is open and takes writes).
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("relay serve exited: %v\n%s", p.cmd.ProcessState, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay serve is not ready after 15 s:\n%s", p.out.String())
		}
	}
}

// kill sends SIGKILL: no shutdown code runs, nothing is flushed or cancelled.
func (p *relayProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed relay did not exit")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRelayKilledWhileAwaitingApproval runs `relay serve` as a process, kills it with
// SIGKILL while the signer holds the itsme request on their phone, and starts it again
// with the same arguments: the approval given after the restart completes the signature,
// made once and delivered once, and the signer was asked once.
func TestRelayKilledWhileAwaitingApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the relay binary")
	}
	ctx := testCtx(t)
	dir := t.TempDir()
	bin := buildRelay(t, dir)
	addr := freeAddr(t)
	public := "http://" + addr
	o := newOutside(t, public)
	dbPath := filepath.Join(dir, "relay.db")
	args := []string{"--addr", addr, "--store", "sqlite:" + dbPath, "--token-hmac", string(tokenKey),
		"--audience", audience, "--csc-url", o.simURL + "/csc/v1", "--csc-client-id", simClient,
		"--csc-client-secret", simSecret, "--public-url", public, "--tsa", o.tsaURL}
	first := startProcess(t, bin, args, addr)
	c := newRestartClient(t, ctx, addr, signerToken(t, "bt_killed"), o.browser)
	if _, err := c.Identify(ctx, "itsme", protocol.Signer{Name: "Jan Peeters"}); err != nil {
		t.Fatalf("identify: %v", err)
	}
	digest := randomDigest()
	r := signAcrossRestart(t, ctx, o, c, digest, func() {
		first.kill(t)
		startProcess(t, bin, args, addr)
	})
	// The test reads the relay's file beside the running relay (WAL allows it).
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkOnce(t, o, c, r, digest, st)
}
