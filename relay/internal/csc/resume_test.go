package csc

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/store"
)

// memCheckpoints is the store's checkpoint contract in memory.
type memCheckpoints struct {
	mu sync.Mutex
	m  map[string]memEntry
}

type memEntry struct {
	v       []byte
	expires time.Time
}

func newMemCheckpoints() *memCheckpoints { return &memCheckpoints{m: map[string]memEntry{}} }

func (c *memCheckpoints) PutCheckpoint(_ context.Context, key string, v []byte, expires time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = memEntry{append([]byte{}, v...), expires}
	return nil
}

func (c *memCheckpoints) Checkpoint(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !time.Now().Before(e.expires) {
		return nil, store.ErrNotFound
	}
	return e.v, nil
}

func (c *memCheckpoints) TakeCheckpoint(ctx context.Context, key string) ([]byte, error) {
	v, err := c.Checkpoint(ctx, key)
	if err == nil {
		c.DeleteCheckpoint(ctx, key)
	}
	return v, err
}

func (c *memCheckpoints) DeleteCheckpoint(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

func (c *memCheckpoints) keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.m {
		out = append(out, k)
	}
	return out
}

type resumedCall struct {
	job      string
	complete backend.Completion
}

// TestResumeAfterRestart: a backend stopped (its context cancelled) while the signer holds
// the request keeps the dance; another backend on the same store receives the approval on
// its callback, hands it over once, and the completion signs exactly that hash.
func TestResumeAfterRestart(t *testing.T) {
	for _, decline := range []bool{false, true} {
		name := "approved"
		if decline {
			name = "declined"
		}
		t.Run(name, func(t *testing.T) {
			cps := newMemCheckpoints()
			e := newEnv(t, envOptions{checkpoints: cps})
			addAlice(t, e)
			chain, cred := certificate(t, e)
			// The process that asks for the signature, and dies: it is not mounted on the
			// callback; e.backend, the one that is, plays the restarted relay.
			cfg := e.config(ItsmeProfile(), e.relayURL+callbackPath)
			cfg.Checkpoints = cps
			first, err := NewBackend(cfg)
			if err != nil {
				t.Fatal(err)
			}
			calls := make(chan resumedCall, 2)
			e.backend.Resume(func(job string, complete backend.Completion) { calls <- resumedCall{job, complete} })

			hash := make([]byte, 32)
			rand.Read(hash)
			const job = "session-1.digest-1"
			ctx, stop := context.WithCancel(e.ctx())
			stopped := make(chan struct{})
			in := e.interact(func(e *env, id string) error {
				stop() // the relay goes down while the signer holds the phone…
				<-stopped
				if decline {
					return e.appAnswer("decline", id, "", false, http.StatusOK)
				}
				return approve(e, id) // …and approves after the restart
			})
			_, err = first.Sign(ctx, backend.Request{Signer: alice, Chain: chain, Hash: hash, HashAlg: crypto.SHA256,
				Label: "Contract", Credential: cred, Job: job}, in)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Sign of the stopped relay = %v, want context.Canceled", err)
			}
			if ok, err := e.backend.Outstanding(e.ctx(), job); !ok || err != nil {
				t.Fatalf("Outstanding after the stop = %v, %v; want true", ok, err)
			}
			// Two records (the dance, the job marker), and the state — the secret that
			// makes a callback count — in neither: only its hash is kept.
			in.mu.Lock()
			state := query(t, in.urls[0]).Get("state")
			in.mu.Unlock()
			if k := cps.keys(); len(k) != 2 {
				t.Errorf("checkpoints %v, want the dance and the job marker", k)
			}
			for _, k := range cps.keys() {
				v, _ := cps.Checkpoint(e.ctx(), k)
				if state == "" || strings.Contains(k, state) || strings.Contains(string(v), state) {
					t.Errorf("the state is stored in clear under %q", k)
				}
			}
			close(stopped)
			if err := in.browserErr(); err != nil {
				t.Fatalf("browser: %v", err)
			}
			var call resumedCall
			select {
			case call = <-calls:
			case <-time.After(10 * time.Second):
				t.Fatal("the approval was not handed over")
			}
			if call.job != job {
				t.Fatalf("handed over job %q, want %q", call.job, job)
			}
			res, err := call.complete(e.ctx())
			if decline {
				if !errors.Is(err, backend.ErrRefused) {
					t.Fatalf("completion of a declined request = %v, want ErrRefused", err)
				}
			} else {
				if err != nil {
					t.Fatalf("completion: %v", err)
				}
				if err := verifyRaw(chain[0].PublicKey, crypto.SHA256, hash, res.Signature); err != nil {
					t.Errorf("the signature does not verify: %v", err)
				}
			}
			if n, want := e.sim.SignHashCount(), map[bool]int{false: 1, true: 0}[decline]; n != want {
				t.Errorf("%d signHash calls, want %d", n, want)
			}
			if ok, _ := e.backend.Outstanding(e.ctx(), job); ok {
				t.Error("the job is still outstanding after its completion")
			}
			if k := cps.keys(); len(k) != 0 {
				t.Errorf("checkpoints left: %v", k)
			}
			// The callback is single use: a replay is refused and hands nothing over.
			in.mu.Lock()
			loc := in.locs[0]
			in.mu.Unlock()
			resp, err := e.browser.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("replayed callback: HTTP %d, want 400", resp.StatusCode)
			}
			select {
			case <-calls:
				t.Error("a replayed callback was handed over again")
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

// TestDanceForgottenAtDeadline: a signer who does not answer in time leaves nothing a
// late approval could complete, and the job is no longer outstanding.
func TestDanceForgottenAtDeadline(t *testing.T) {
	cps := newMemCheckpoints()
	e := newEnv(t, envOptions{checkpoints: cps})
	addAlice(t, e)
	chain, cred := certificate(t, e)
	hash := make([]byte, 32)
	rand.Read(hash)
	e.backend.Resume(func(string, backend.Completion) { t.Error("a late approval was handed over") })
	ctx, cancel := context.WithTimeout(e.ctx(), 300*time.Millisecond)
	defer cancel()
	returned := make(chan struct{})
	in := e.interact(func(e *env, id string) error {
		<-returned
		return approve(e, id) // too late: the relay gave up
	})
	_, err := e.backend.Sign(ctx, backend.Request{Signer: alice, Chain: chain, Hash: hash, HashAlg: crypto.SHA256,
		Label: "Contract", Credential: cred, Job: "s.d"}, in)
	if !errors.Is(err, backend.ErrTimeout) {
		t.Fatalf("Sign = %v, want ErrTimeout", err)
	}
	if k := cps.keys(); len(k) != 0 {
		t.Errorf("checkpoints left after the deadline: %v", k)
	}
	close(returned)
	if err := in.browserErr(); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("late callback: %v, want HTTP 400", err)
	}
	if n := e.sim.SignHashCount(); n != 0 {
		t.Errorf("a late approval made %d signatures", n)
	}
}

// TestCallbackBeforeHandler: while the relay has not registered its handler (it is
// starting), a stored dance's callback is answered 503 and the dance stays for a retry.
func TestCallbackBeforeHandler(t *testing.T) {
	cps := newMemCheckpoints()
	e := newEnv(t, envOptions{checkpoints: cps})
	rec := `{"job":"s.d"}`
	cps.PutCheckpoint(context.Background(), danceKey("st-1"), []byte(rec), time.Now().Add(time.Minute))
	resp, err := e.browser.Get(e.relayURL + callbackPath + "?code=c&state=st-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("callback without a handler: HTTP %d, want 503", resp.StatusCode)
	}
	if _, err := cps.Checkpoint(context.Background(), danceKey("st-1")); err != nil {
		t.Errorf("the dance was consumed: %v", err)
	}
}
