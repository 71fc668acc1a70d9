package csc

import (
	"context"
	"crypto/rand"
	"html/template"
	"net/http"

	"github.com/veilsign/veilsign/relay/internal/backend"
)

// dance is one authorisation waiting for its code on the callback.
type dance struct {
	signer string
	result chan callbackResult // buffered: the handler never blocks
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
// authorise URL through in.Status, and waits for the callback or ctx.
func (b *Backend) authorize(ctx context.Context, s backend.Signer, in backend.Interaction, scope string, extra map[string][]string, status, message string) (string, error) {
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
	d := &dance{signer: s.ID, result: make(chan callbackResult, 1)}
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
		b.mu.Lock()
		d := b.dances[st]
		delete(b.dances, st) // single use, even if what follows fails
		b.mu.Unlock()
		if st == "" || d == nil {
			callbackPage(w, http.StatusBadRequest, "This confirmation is unknown, was already used, or came too late. Return to the document and try again.")
			return
		}
		res := callbackResult{code: r.Form.Get("code")}
		if code := r.Form.Get("error"); code != "" {
			res = callbackResult{err: &Error{Endpoint: "oauth2/authorize", Code: code, Description: r.Form.Get("error_description")}}
		} else if res.code == "" {
			res.err = &Error{Endpoint: "oauth2/authorize", Code: "invalid_request", Description: "the callback carries neither a code nor an error"}
		}
		d.result <- res
		if res.err != nil {
			callbackPage(w, http.StatusOK, "The signing service did not confirm. Return to the document for details.")
			return
		}
		callbackPage(w, http.StatusOK, "Confirmed. You can close this window and return to the document.")
	})
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
