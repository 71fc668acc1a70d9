package csc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/store"
)

// dance is one authorisation waiting for its code on the callback.
type dance struct {
	signer string
	result chan callbackResult // buffered: the handler never blocks
	// stored: the dance is also a checkpoint, which the callback must take (so that one
	// approval is used once, whichever process receives it).
	stored bool
}

type callbackResult struct {
	code string
	err  *Error
}

// newState returns an unguessable state: it is the only thing that ties a callback to the
// session that started the dance, so it must not be predictable (RFC 6749 §10.12).
func newState() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return b64url(b)
}

// authorize runs one dance: it registers a single-use state, shows the signer the
// authorise URL through in.Status, and waits for the callback or ctx. With rec, the dance
// is also stored before the URL is shown; it is deleted when ctx's deadline passes (a late
// approval must not sign, nor cost, anything) but kept when ctx is cancelled, which means
// the relay is stopping: the next process completes it.
func (b *Backend) authorize(ctx context.Context, s backend.Signer, in backend.Interaction, scope string, extra map[string][]string, status, message string, rec *danceRecord) (string, error) {
	p := b.client.Profile()
	var accountToken string
	if p.AccountToken {
		var err error
		if accountToken, err = b.client.AccountToken(s.ID); err != nil {
			return "", err
		}
	}
	st := newState()
	u, err := b.client.AuthorizeURL(scope, st, accountToken, extra)
	if err != nil {
		return "", err
	}
	d := &dance{signer: s.ID, result: make(chan callbackResult, 1), stored: rec != nil}
	if rec != nil {
		if err := b.persist(ctx, st, rec); err != nil {
			// Without its checkpoint a restart would lose the approval and ask again:
			// better not to ask at all while the store fails.
			b.unpersist(danceKey(st), jobKey(rec.Job))
			return "", fmt.Errorf("csc: the authorisation could not be stored: %w", err)
		}
	}
	b.mu.Lock()
	b.dances[st] = d
	b.mu.Unlock()
	// Whatever ends the wait, the state dies with it: a late callback gets a 400.
	defer func() {
		b.mu.Lock()
		delete(b.dances, st)
		b.mu.Unlock()
	}()
	in.Status(status, u, message)
	select {
	case <-ctx.Done():
		if rec != nil && !errors.Is(ctx.Err(), context.Canceled) {
			b.unpersist(danceKey(st))
		}
		return "", ctx.Err()
	case r := <-d.result:
		if r.err != nil {
			return "", r.err
		}
		return r.code, nil
	}
}

// CallbackHandler receives the provider's redirect (…?code=…&state=… or
// …?error=…&state=…) in the signer's browser and hands it to the waiting dance. The relay
// mounts it at the registered RedirectURI, e.g. /v1/csc/callback. A state that is unknown,
// already used or whose dance gave up is refused with 400.
//
// A state this process does not hold may belong to a dance stored by a process that has
// since stopped: its checkpoint is taken (once, whatever the number of relays and
// replays), the browser is answered, and the approval goes to the Resume handler, which
// makes the signature and completes the relay's job.
func (b *Backend) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err := r.ParseForm(); err != nil {
			callbackPage(w, http.StatusBadRequest, "The answer of the signing service is not readable.")
			return
		}
		st := r.Form.Get("state")
		if st == "" {
			callbackPage(w, http.StatusBadRequest, unknownState)
			return
		}
		res := callbackResult{code: r.Form.Get("code")}
		if code := r.Form.Get("error"); code != "" {
			res = callbackResult{err: &Error{Endpoint: "oauth2/authorize", Code: code, Description: r.Form.Get("error_description")}}
		} else if res.code == "" {
			res.err = &Error{Endpoint: "oauth2/authorize", Code: "invalid_request", Description: "the callback carries neither a code nor an error"}
		}
		b.mu.Lock()
		d := b.dances[st]
		delete(b.dances, st) // single use, even if what follows fails
		handler := b.resume
		b.mu.Unlock()
		switch {
		case d != nil:
			if d.stored {
				// Taking the checkpoint is the single-use check that holds across relays
				// and restarts. Not found: another process took it, and this approval is
				// spent. Any other failure: the store is down; the dance in memory is
				// still this process's to finish.
				if _, err := b.checkpoints.TakeCheckpoint(r.Context(), danceKey(st)); errors.Is(err, store.ErrNotFound) {
					callbackPage(w, http.StatusBadRequest, unknownState)
					return
				}
			}
			d.result <- res
		case b.checkpoints != nil && handler == nil:
			// The relay has not wired its handler yet (it is starting): keep the dance.
			callbackPage(w, http.StatusServiceUnavailable, "The signing service is starting. Reload this page in a moment.")
			return
		case b.checkpoints != nil:
			rec, status := b.takeDance(r.Context(), st)
			if rec == nil {
				msg := unknownState
				if status != http.StatusBadRequest {
					msg = "The confirmation could not be recorded right now. Reload this page in a moment."
				}
				callbackPage(w, status, msg)
				return
			}
			rec.code, rec.err = res.code, res.err
			handler(rec.Job, b.completion(rec))
		default:
			callbackPage(w, http.StatusBadRequest, unknownState)
			return
		}
		if res.err != nil {
			callbackPage(w, http.StatusOK, "The signing service did not confirm. Return to the document for details.")
			return
		}
		callbackPage(w, http.StatusOK, "Confirmed. You can close this window and return to the document.")
	})
}

const unknownState = "This confirmation is unknown, was already used, or came too late. Return to the document and try again."

// takeDance takes the stored dance of state: the record, or nil with the HTTP status to
// answer (400 when there is none, 503 when the store failed and a reload may work).
func (b *Backend) takeDance(ctx context.Context, state string) (*danceRecord, int) {
	v, err := b.checkpoints.TakeCheckpoint(ctx, danceKey(state))
	if errors.Is(err, store.ErrNotFound) {
		return nil, http.StatusBadRequest
	}
	if err != nil {
		return nil, http.StatusServiceUnavailable
	}
	var rec danceRecord
	if err := json.Unmarshal(v, &rec); err != nil || rec.Job == "" {
		return nil, http.StatusBadRequest
	}
	return &rec, 0
}

var callbackTmpl = template.Must(template.New("cb").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>veilsign</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto"><p>{{.}}</p>
<script>if (window.opener) { window.close(); }</script></body></html>
`))

func callbackPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The code is in this page's URL: no Referer may carry it elsewhere.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	callbackTmpl.Execute(w, msg)
}
