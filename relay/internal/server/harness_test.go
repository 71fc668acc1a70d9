package server_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/csc"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
	"github.com/veilsign/veilsign/relay/internal/seal"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/tsa"
	"github.com/veilsign/veilsign/relay/internal/validation"
	"github.com/veilsign/veilsign/relay/protocol"
)

const (
	audience  = "veilsign-test-relay"
	simPIN    = "24680"
	simClient = "veilsign-relay-test"
	simSecret = "onboarding-secret"
)

var tokenKey = []byte("portal-secret-for-the-relay-tests")

// relayEnv is a whole relay on 127.0.0.1: the websocket server over a SQLite store, the
// itsme simulator reached through the CSC backend over real HTTP, the dev TSA, pen and TAN
// sealing with an outbox — and a browser that plays the signer.
type relayEnv struct {
	t       *testing.T
	pki     *devpki.PKI
	st      store.Store
	srv     *server.Server
	url     string // http://127.0.0.1:port
	sim     *itsmesim.Sim
	outbox  *seal.Outbox
	browser *http.Client
	// phone decides what the signer does with an itsme request (approve by default).
	phone func(id string) error
	// revocation is the dev OCSP responder and CRLs (envOptions.ltv only).
	revocation *validation.DevResponder
}

type envOptions struct {
	tsaURLs         func(devTSA string) []string
	approvalTimeout time.Duration
	storePath       string
	// ltv gives the relay its own dev PKI whose certificates name an OCSP responder and
	// CRLs served on this server (/dev/…), and a validation fetcher trusting its root.
	ltv bool
}

func newRelay(t *testing.T, o envOptions) *relayEnv {
	t.Helper()
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	pki := sharedPKI(t)
	var fetcher server.Validator
	var dev *validation.DevResponder
	if o.ltv {
		var err error
		if pki, err = devpki.NewWithURLs(validation.DevURLs(hs.URL)); err != nil {
			t.Fatal(err)
		}
		dev = validation.NewDevResponder(pki)
		dev.Register(mux)
		fetcher = validation.New(validation.Config{Roots: []*x509.Certificate{pki.Root()}, Timeout: 2 * time.Second, Total: 10 * time.Second})
	}
	e := &relayEnv{t: t, pki: pki, outbox: &seal.Outbox{}, revocation: dev}
	e.browser = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e.phone = e.approve
	e.url = hs.URL
	var err error
	path := o.storePath
	if path == "" {
		path = filepath.Join(t.TempDir(), "relay.db")
	}
	e.st, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.sim, err = itsmesim.New(itsmesim.Config{PKI: pki, ClientID: simClient, ClientSecret: simSecret,
		RedirectURIs: []string{hs.URL + "/v1/csc/callback"}, PIN: simPIN, PublicURL: hs.URL + "/itsme", ApprovalTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/itsme/", http.StripPrefix("/itsme", e.sim.Handler()))
	itsme, err := csc.NewBackend(csc.Config{BaseURL: hs.URL + "/itsme/csc/v1", ClientID: simClient, ClientSecret: simSecret,
		RedirectURI: hs.URL + "/v1/csc/callback", Profile: csc.ItsmeProfile(), Timeout: 10 * time.Second,
		Checkpoints: e.st})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/v1/csc/callback", itsme.CallbackHandler())
	mux.Handle("/tsa", tsa.NewServer(pki, nil))
	urls := []string{hs.URL + "/tsa"}
	if o.tsaURLs != nil {
		urls = o.tsaURLs(hs.URL + "/tsa")
	}
	tc, err := tsa.NewClient(urls, tsa.Options{Timeout: 500 * time.Millisecond, Total: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sealID := pki.Seal()
	e.srv = server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{itsme, seal.NewPen(sealID.Chain, sealID.Key), seal.NewTAN(sealID.Chain, sealID.Key, e.outbox, seal.Options{})},
		Store:    e.st, TSA: tc, Origins: []string{"portal.example"}, Validation: fetcher,
		Prices: map[string]float64{"itsme": 4.2}, ApprovalTimeout: o.approvalTimeout,
		PerTokenRate: 200, PerIPRate: 200,
	})
	mux.Handle("/", e.srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	return e
}

var (
	pkiOnce sync.Once
	pkiVal  *devpki.PKI
)

func sharedPKI(t *testing.T) *devpki.PKI {
	pkiOnce.Do(func() {
		p, err := devpki.New()
		if err != nil {
			t.Fatal(err)
		}
		pkiVal = p
	})
	return pkiVal
}

func (e *relayEnv) token(signer string, methods []string, max int) string {
	tok, err := token.Issue(tokenKey, audience, signer, methods, max, 10*time.Minute, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *relayEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.url, "http") + "/v1/sign" }

// client returns a connected client whose status handler plays the signer's browser:
// it opens every URL it is sent, lets the phone answer, and follows the redirect back to
// the relay; TAN codes are read from the outbox.
func (e *relayEnv) client(ctx context.Context, tok string) *client.Client {
	c := &client.Client{URL: e.wsURL(), Token: tok}
	c.OnStatus = func(st protocol.Status) {
		if st.URL != "" {
			go func() {
				if err := e.visit(st.URL); err != nil {
					e.t.Logf("browser: %v", err)
				}
			}()
		}
	}
	if err := c.Dial(ctx); err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *relayEnv) approve(id string) error {
	body, _ := json.Marshal(map[string]any{"id": id, "pin": simPIN, "consent": true})
	resp, err := http.Post(e.url+"/itsme/app/approve", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("approve: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// visit is the signer's browser on the itsme authorise page.
func (e *relayEnv) visit(u string) error {
	resp, err := e.browser.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusOK {
		id, wait := resp.Header.Get("X-Itsmesim-Request"), resp.Header.Get("X-Itsmesim-Wait")
		if err := e.phone(id); err != nil {
			return err
		}
		for i := 0; i < 10 && loc == ""; i++ {
			r, err := e.browser.Get(e.url + "/itsme" + wait)
			if err != nil {
				return err
			}
			r.Body.Close()
			loc = r.Header.Get("Location")
		}
	}
	if loc == "" {
		return errors.New("the authorise page never redirected")
	}
	cb, err := e.browser.Get(loc)
	if err != nil {
		return err
	}
	cb.Body.Close()
	return nil
}

var codeRE = regexp.MustCompile(`: (\d{6}) `)

// lastCode reads the newest TAN code sent to phone.
func (e *relayEnv) lastCode(phone string) string {
	msgs := e.outbox.Messages(phone)
	if len(msgs) == 0 {
		return ""
	}
	m := codeRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		return ""
	}
	return m[1]
}

func readPDF(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("../../../testdata/pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
