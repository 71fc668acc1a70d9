package csc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
)

const (
	testClientID = "veilsign-test"
	testSecret   = "s3cret-from-onboarding"
	testPIN      = "24680"
	callbackPath = "/v1/csc/callback"
)

// clock is the shared fake time of the simulator and the relay, so a test can expire
// tokens without waiting an hour.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a simulator and a relay callback server on 127.0.0.1, a Backend wired to both,
// and a browser that does not follow redirects (so the test reads each Location).
type env struct {
	t        *testing.T
	pki      *devpki.PKI
	sim      *itsmesim.Sim
	simURL   string
	relayURL string
	backend  *Backend
	clock    *clock
	browser  *http.Client
}

type envOptions struct {
	autoApprove     bool
	approvalTimeout time.Duration
	profile         func(*Profile)
	checkpoints     Checkpoints
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pki: pki, clock: &clock{t: time.Now()}}
	mux := http.NewServeMux()
	relay := httptest.NewServer(mux)
	t.Cleanup(relay.Close)
	e.relayURL = relay.URL
	if o.approvalTimeout == 0 {
		o.approvalTimeout = time.Minute
	}
	e.sim, err = itsmesim.New(itsmesim.Config{
		PKI: pki, ClientID: testClientID, ClientSecret: testSecret,
		RedirectURIs: []string{relay.URL + callbackPath}, ApprovalTimeout: o.approvalTimeout,
		AutoApprove: o.autoApprove, PIN: testPIN, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(e.sim.Handler())
	t.Cleanup(simSrv.Close)
	e.simURL = simSrv.URL
	p := ItsmeProfile()
	if o.profile != nil {
		o.profile(&p)
	}
	cfg := e.config(p, relay.URL+callbackPath)
	cfg.Checkpoints = o.checkpoints
	e.backend, err = NewBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(callbackPath, e.backend.CallbackHandler())
	e.browser = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

func (e *env) config(p Profile, redirect string) Config {
	return Config{
		BaseURL: e.simURL + "/csc/v1", ClientID: testClientID, ClientSecret: testSecret,
		RedirectURI: redirect, Profile: p, Now: e.clock.Now, Timeout: 10 * time.Second,
	}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// phone is what the user does with a pending request, given its id.
type phone func(e *env, id string) error

func approve(e *env, id string) error {
	return e.appAnswer("approve", id, testPIN, true, http.StatusOK)
}
func decline(e *env, id string) error { return e.appAnswer("decline", id, "", false, http.StatusOK) }
func ignore(*env, string) error       { return nil }

// appAnswer posts the phone's answer to the simulator's app endpoint.
func (e *env) appAnswer(action, id, pin string, consent bool, want int) error {
	body, _ := json.Marshal(map[string]any{"id": id, "pin": pin, "consent": consent})
	resp, err := http.Post(e.simURL+"/app/"+action, "application/json", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("app/%s: HTTP %d, want %d: %s", action, resp.StatusCode, want, b)
	}
	return nil
}

// visit is the signer's browser opening the authorise URL: it reads the waiting page,
// lets the phone act, follows the long poll's redirect and delivers it to the relay's
// callback. It returns the callback URL it followed.
func (e *env) visit(authorizeURL string, act phone) (string, error) {
	loc, err := e.authorize(authorizeURL, act)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(loc, e.relayURL+callbackPath) {
		return "", fmt.Errorf("redirected to %s, not to the relay", loc)
	}
	cb, err := e.browser.Get(loc)
	if err != nil {
		return "", err
	}
	cb.Body.Close()
	if cb.StatusCode != http.StatusOK {
		return "", fmt.Errorf("callback: HTTP %d", cb.StatusCode)
	}
	return loc, nil
}

// authorize opens the authorise URL, lets the phone act and returns where the service
// finally redirects the browser, without going there.
func (e *env) authorize(authorizeURL string, act phone) (string, error) {
	resp, err := e.browser.Get(authorizeURL)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusFound:
		return resp.Header.Get("Location"), nil
	case http.StatusOK:
	default:
		return "", fmt.Errorf("authorize: HTTP %d", resp.StatusCode)
	}
	id, wait := resp.Header.Get("X-Itsmesim-Request"), resp.Header.Get("X-Itsmesim-Wait")
	if id == "" || wait == "" {
		return "", errors.New("the authorise page names no request")
	}
	if err := act(e, id); err != nil {
		return "", err
	}
	return e.waitRedirect(e.simURL + wait)
}

// waitRedirect polls the authorise page's wait URL until it redirects.
func (e *env) waitRedirect(wait string) (string, error) {
	for i := 0; i < 5; i++ {
		resp, err := e.browser.Get(wait)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound {
			return resp.Header.Get("Location"), nil
		}
	}
	return "", errors.New("the authorise page never redirected")
}

// interaction plays the page: every status with a URL is opened by the browser, whose
// phone acts as told. onStatus, if set, runs first (a test's hook into the flow).
type interaction struct {
	e        *env
	act      phone
	onStatus func(state string)
	mu       sync.Mutex
	states   []string
	urls     []string
	locs     []string
	errs     chan error
}

func (e *env) interact(act phone) *interaction {
	return &interaction{e: e, act: act, errs: make(chan error, 8)}
}

func (in *interaction) Status(state, u, _ string) {
	in.mu.Lock()
	in.states, in.urls = append(in.states, state), append(in.urls, u)
	in.mu.Unlock()
	if in.onStatus != nil {
		in.onStatus(state)
	}
	if u != "" {
		go func() {
			loc, err := in.e.visit(u, in.act)
			in.mu.Lock()
			in.locs = append(in.locs, loc)
			in.mu.Unlock()
			in.errs <- err
		}()
	}
}

func (in *interaction) OTP(ctx context.Context) (string, error) { return "", errors.New("no OTP here") }

// browserErr returns the first error the browser met, waiting briefly for it to finish.
func (in *interaction) browserErr() error {
	select {
	case err := <-in.errs:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("the browser did not finish")
	}
}

func (in *interaction) seen() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.states...)
}

// query returns the parameters of a URL.
func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
