package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/seal"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/tsa"
	"github.com/veilsign/veilsign/relay/protocol"
)

// miniRelay is a relay on 127.0.0.1 built here rather than by newRelay, for tests that need
// a Config of their own (limits, timeouts) or another backend: SQLite store, dev TSA, pen
// sealing, plus the backends given.
type miniRelay struct {
	pki *devpki.PKI
	st  store.Store
	srv *server.Server
	url string
}

func newMiniRelay(t *testing.T, tune func(*server.Config), extra ...backend.Backend) *miniRelay {
	t.Helper()
	pki := sharedPKI(t)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux.Handle("/tsa", tsa.NewServer(pki, nil))
	tc, err := tsa.NewClient([]string{hs.URL + "/tsa"}, tsa.Options{Timeout: 5 * time.Second, Total: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sealID := pki.Seal()
	cfg := server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: append([]backend.Backend{seal.NewPen(sealID.Chain, sealID.Key)}, extra...),
		Store:    st, TSA: tc, PerTokenRate: 200, PerIPRate: 200,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tune != nil {
		tune(&cfg)
	}
	srv := server.New(cfg)
	mux.Handle("/", srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &miniRelay{pki: pki, st: st, srv: srv, url: hs.URL}
}

func (r *miniRelay) wsURL() string { return "ws" + strings.TrimPrefix(r.url, "http") + "/v1/sign" }

func issueToken(t *testing.T, signer string, methods []string, max int) string {
	t.Helper()
	tok, err := token.Issue(tokenKey, audience, signer, methods, max, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawSession is a websocket that said hello and read its welcome.
func rawSession(t *testing.T, ctx context.Context, url, tok string) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxServerFrame)
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+tok+`"}`)); err != nil {
		ws.CloseNow()
		return nil, err
	}
	_, b, err := ws.Read(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	if m, _ := protocol.DecodeServer(b); m == nil {
		ws.CloseNow()
		return nil, fmt.Errorf("no welcome: %.80s", b)
	} else if _, ok := m.(*protocol.Welcome); !ok {
		ws.CloseNow()
		return nil, fmt.Errorf("no welcome: %.80s", b)
	}
	return ws, nil
}

type hostileFrame struct {
	kind string
	typ  websocket.MessageType
	data []byte
	want string
}

// hostile returns the i-th hostile frame of a deterministic mix of every kind.
func hostile(i int) hostileFrame {
	txt := func(kind, s, want string) hostileFrame {
		return hostileFrame{kind: kind, typ: websocket.MessageText, data: []byte(s), want: want}
	}
	digest := func(n int) string { return b64(bytes.Repeat([]byte{byte(i)}, n)) }
	switch i % 12 {
	case 0: // between MaxFrame and the websocket read limit: an error, the connection stays
		n := protocol.MaxFrame + 1 + (i*7919)%(60<<10-protocol.MaxFrame)
		return txt("oversized", `{"type":"sign","label":"`+strings.Repeat("A", n)+`"}`, protocol.CodeFrameTooLarge)
	case 1:
		return txt("malformed-json", []string{`{"type":"sign",`, `[1,2,3]`, `"hello"`, `{}`, `{"type":"otp","code":"1234"} {"x":1}`, `nul`}[i%6], protocol.CodeMalformed)
	case 2:
		return hostileFrame{kind: "invalid-utf8", typ: websocket.MessageText, data: []byte{'{', 0xff, 0xfe, '}'}, want: protocol.CodeMalformed}
	case 3:
		return txt("unknown-type", fmt.Sprintf(`{"type":"teleport-%d"}`, i), protocol.CodeUnknownType)
	case 4:
		return txt("unknown-field", fmt.Sprintf(`{"type":"otp","code":"123456","x%d":1}`, i), protocol.CodeUnknownField)
	case 5:
		return txt("wrong-digest-length", `{"type":"sign","digest":"`+digest([]int{0, 1, 20, 31, 33, 48, 64}[i%7])+`","hashAlgorithm":"sha256","label":"x"}`, protocol.CodeBadDigest)
	case 6:
		return txt("wrong-digest-length", `{"type":"sign","digest":"`+digest(32)+`","hashAlgorithm":"sha384","label":"x"}`, protocol.CodeBadDigest)
	case 7:
		return txt("sign-before-identify", `{"type":"sign","digest":"`+b64(randomDigest())+`","hashAlgorithm":"sha256","label":"x"}`, protocol.CodeOutOfOrder)
	case 8:
		return txt("otp-without-tan", `{"type":"otp","code":"123456"}`, protocol.CodeOutOfOrder)
	case 9:
		return hostileFrame{kind: "binary", typ: websocket.MessageBinary, data: []byte(`{"type":"otp","code":"123456"}`), want: protocol.CodeMalformed}
	case 10:
		return txt("second-hello", `{"type":"hello","token":"x"}`, protocol.CodeOutOfOrder)
	default:
		return txt("bad-request", `{"type":"identify","method":"carrier-pigeon","signer":{"name":"X"}}`, protocol.CodeBadRequest)
	}
}

// TestHostileFramesWithRealSigning sends 10,000 hostile frames over several connections
// while 20 pen signatures are made on other sessions: every hostile frame gets its typed
// error (frames over the 64 KB read limit: a closed connection), every signature verifies.
func TestHostileFramesWithRealSigning(t *testing.T) {
	r := newMiniRelay(t, func(c *server.Config) { c.PerTokenRate, c.PerIPRate = 1e6, 1e6 })
	ctx := testCtx(t)
	const (
		conns     = 8
		perConn   = 1245
		closers   = 40 // frames over the read limit, one connection each
		signers   = 4
		perSigner = 5
	)
	var (
		mu       sync.Mutex
		byCode   = map[string]int{}
		byKind   = map[string]int{}
		sent     int
		closed   int
		wrong    int
		signed   int
		verified int
	)
	var wg sync.WaitGroup
	for k := 0; k < conns; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, err := rawSession(t, ctx, r.wsURL(), issueToken(t, fmt.Sprintf("hostile_%d", k), []string{"pen"}, 1))
			if err != nil {
				t.Errorf("hostile connection %d: %v", k, err)
				return
			}
			defer ws.CloseNow()
			frames := make([]hostileFrame, perConn)
			for i := range frames {
				frames[i] = hostile(k*perConn + i)
			}
			werr := make(chan error, 1)
			go func() {
				for _, f := range frames {
					if err := ws.Write(ctx, f.typ, f.data); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			for i, f := range frames {
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Errorf("connection %d closed after %d frames (%s): %v", k, i, f.kind, err)
					return
				}
				m, _ := protocol.DecodeServer(b)
				pe, _ := m.(*protocol.Error)
				mu.Lock()
				sent++
				byKind[f.kind]++
				if pe == nil || pe.Code != f.want {
					wrong++
					if wrong <= 5 {
						t.Errorf("%s frame %.60q: got %.120s, want %s", f.kind, f.data, b, f.want)
					}
				} else {
					byCode[pe.Code]++
				}
				mu.Unlock()
			}
			if err := <-werr; err != nil {
				t.Errorf("write: %v", err)
			}
		}()
	}
	for k := 0; k < closers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws *websocket.Conn
			var err error
			if k%2 == 0 { // before hello
				ws, _, err = websocket.Dial(ctx, r.wsURL(), nil)
			} else {
				ws, err = rawSession(t, ctx, r.wsURL(), issueToken(t, fmt.Sprintf("huge_%d", k), []string{"pen"}, 1))
			}
			if err != nil {
				t.Errorf("closer %d: %v", k, err)
				return
			}
			defer ws.CloseNow()
			big := []byte(`{"type":"sign","label":"` + strings.Repeat("B", 64<<10+k*100) + `"}`)
			ws.Write(ctx, websocket.MessageText, big) // may fail once the relay has closed
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			for {
				_, b, err := ws.Read(rctx)
				if err != nil {
					if rctx.Err() != nil {
						t.Errorf("closer %d: the connection stayed open after a %d-byte frame", k, len(big))
						return
					}
					mu.Lock()
					sent++
					closed++
					byKind["over-64KB"]++
					mu.Unlock()
					return
				}
				t.Errorf("closer %d: answered %.100s instead of closing", k, b)
			}
		}()
	}
	// Real signatures on other sessions, at the same time.
	for k := 0; k < signers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client.Client{URL: r.wsURL(), Token: issueToken(t, fmt.Sprintf("pen_%d", k), []string{"pen"}, perSigner)}
			if err := c.Dial(ctx); err != nil {
				t.Errorf("signer %d: %v", k, err)
				return
			}
			defer c.Close()
			if _, err := c.Identify(ctx, "pen", protocol.Signer{Name: fmt.Sprintf("Signer %d", k)}); err != nil {
				t.Errorf("identify %d: %v", k, err)
				return
			}
			for j := 0; j < perSigner; j++ {
				d := randomDigest()
				der, level, err := c.Sign(ctx, d, "sha256", "Contract", "")
				if err != nil {
					t.Errorf("signer %d signature %d: %v", k, j, err)
					return
				}
				mu.Lock()
				signed++
				mu.Unlock()
				sig, err := cms.Parse(der)
				if err != nil {
					t.Errorf("parse: %v", err)
					continue
				}
				if err := sig.CheckDigest(d); err != nil {
					t.Errorf("digest: %v", err)
					continue
				}
				if err := sig.Verify(); err != nil {
					t.Errorf("verify: %v", err)
					continue
				}
				if level != "B-T" {
					t.Errorf("level %s", level)
					continue
				}
				mu.Lock()
				verified++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("hostile frames sent %d: by code %v, closed connections %d (frames over 64 KB); by kind %v", sent, byCode, closed, byKind)
	t.Logf("real pen signatures: %d made, %d verified", signed, verified)
	rejected := closed
	for _, n := range byCode {
		rejected += n
	}
	if sent != conns*perConn+closers || rejected != sent || wrong != 0 {
		t.Fatalf("%d hostile frames sent, %d rejected as expected, %d answered wrongly; want %d", sent, rejected, wrong, conns*perConn+closers)
	}
	if signed != signers*perSigner || verified != signed {
		t.Fatalf("%d signatures made, %d verified; want %d", signed, verified, signers*perSigner)
	}
}

// TestRateLimitsHold: a burst of frames beyond the per-token limit gets rate-limited
// (retryable), and upgrades beyond the per-IP limit get HTTP 429.
func TestRateLimitsHold(t *testing.T) {
	r := newMiniRelay(t, func(c *server.Config) { c.PerTokenRate, c.PerIPRate = 5, 1 })
	ctx := testCtx(t)
	ws, err := rawSession(t, ctx, r.wsURL(), issueToken(t, "burst", []string{"pen"}, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	const burst = 40
	go func() {
		for i := 0; i < burst; i++ {
			ws.Write(ctx, websocket.MessageText, []byte(`{"type":"teleport"}`))
		}
	}()
	codes := map[string]int{}
	for i := 0; i < burst; i++ {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("closed after %d frames: %v", i, err)
		}
		m, _ := protocol.DecodeServer(b)
		pe, ok := m.(*protocol.Error)
		if !ok {
			t.Fatalf("frame %d: %.100s", i, b)
		}
		if pe.Code == protocol.CodeRateLimited && !pe.Retryable {
			t.Error("rate-limited is not retryable")
		}
		codes[pe.Code]++
	}
	t.Logf("per-token burst of %d (rate 5/s, burst 11): %v", burst, codes)
	if codes[protocol.CodeRateLimited] < burst/2 || codes[protocol.CodeUnknownType] == 0 || codes[protocol.CodeUnknownType]+codes[protocol.CodeRateLimited] != burst {
		t.Fatalf("the per-token limit did not hold: %v", codes)
	}

	// Per IP: 1 connection per second, burst 3; one is used above.
	var refused, accepted int
	for i := 0; i < 10; i++ {
		c, resp, err := websocket.Dial(ctx, r.wsURL(), nil)
		switch {
		case err == nil:
			accepted++
			c.CloseNow()
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("upgrade %d: %v", i, err)
		}
	}
	t.Logf("per-IP: %d upgrades accepted, %d refused with 429", accepted, refused)
	if refused < 5 || accepted > 4 {
		t.Fatalf("the per-IP limit did not hold: %d accepted, %d refused", accepted, refused)
	}
}

// TestSlowClientsReaped: a websocket that never says hello is closed after HelloTimeout,
// one that goes quiet after hello after IdleTimeout, and a TCP connection that sends half an
// upgrade request by the HTTP server's ReadHeaderTimeout.
func TestSlowClientsReaped(t *testing.T) {
	const hello, idle = 300 * time.Millisecond, 500 * time.Millisecond
	r := newMiniRelay(t, func(c *server.Config) { c.HelloTimeout, c.IdleTimeout = hello, idle })
	ctx := testCtx(t)
	closedWithin := func(name string, min time.Duration, read func(context.Context) error) {
		t.Helper()
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := read(rctx)
		el := time.Since(start)
		if rctx.Err() != nil {
			t.Fatalf("%s: still open after %v", name, el)
		}
		if el < min-50*time.Millisecond || el > min+3*time.Second {
			t.Fatalf("%s: closed after %v (%v), want about %v", name, el, err, min)
		}
		t.Logf("%s: closed after %v", name, el.Round(time.Millisecond))
	}
	ws, _, err := websocket.Dial(ctx, r.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	closedWithin("no hello", hello, func(ctx context.Context) error { _, _, err := ws.Read(ctx); return err })

	ws2, err := rawSession(t, ctx, r.wsURL(), issueToken(t, "quiet", []string{"pen"}, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	closedWithin("idle after hello", idle, func(ctx context.Context) error { _, _, err := ws2.Read(ctx); return err })

	// Half an upgrade request: the HTTP server (as the relay's main configures it, with a
	// short ReadHeaderTimeout here) drops it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: r.srv.Handler(), ReadHeaderTimeout: hello}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := io.WriteString(tc, "GET /v1/sign HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websock"); err != nil {
		t.Fatal(err)
	}
	closedWithin("half an upgrade request", hello, func(ctx context.Context) error {
		d, _ := ctx.Deadline()
		tc.SetReadDeadline(d)
		_, err := io.ReadAll(tc)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			<-ctx.Done()
		}
		return err
	})
	// A complete upgrade on the same server still works.
	wsOK, err := rawSession(t, ctx, "ws://"+ln.Addr().String()+"/v1/sign", issueToken(t, "ok", []string{"pen"}, 1))
	if err != nil {
		t.Fatalf("a normal client after the reaping: %v", err)
	}
	wsOK.CloseNow()
}
