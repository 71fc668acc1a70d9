package itsmesim

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
)

// handleApp is the phone: the requests waiting for the user (all users, or ?user=sub).
func (s *Sim) handleApp(w http.ResponseWriter, r *http.Request) {
	sub := r.URL.Query().Get("user")
	var list []Request
	for _, p := range s.Pending() {
		if sub == "" || p.Sub == sub {
			list = append(list, p)
		}
	}
	appPage(w, list, sub, r.URL.Query().Get("msg"))
}

func (s *Sim) handleAppPending(w http.ResponseWriter, r *http.Request) {
	list := s.Pending()
	if list == nil {
		list = []Request{}
	}
	writeJSON(w, http.StatusOK, list)
}

// appAnswer is the body of /app/approve and /app/decline, as JSON or as the page's form.
type appAnswer struct {
	ID      string `json:"id"`
	PIN     string `json:"pin"`
	Consent bool   `json:"consent"`
	User    string `json:"-"` // the page's filter, kept across the answer
	form    bool
}

func readAnswer(w http.ResponseWriter, r *http.Request) (appAnswer, bool) {
	var a appAnswer
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		return a, readJSON(w, r, &a)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return a, false
	}
	a = appAnswer{ID: r.PostForm.Get("id"), PIN: r.PostForm.Get("pin"), User: r.PostForm.Get("user"), form: true}
	a.Consent = r.PostForm.Get("consent") != ""
	return a, true
}

func (s *Sim) handleAppApprove(w http.ResponseWriter, r *http.Request) {
	a, ok := readAnswer(w, r)
	if !ok {
		return
	}
	s.answer(w, r, a, s.approve(a.ID, a.PIN, a.Consent), "Approved.")
}

func (s *Sim) handleAppDecline(w http.ResponseWriter, r *http.Request) {
	a, ok := readAnswer(w, r)
	if !ok {
		return
	}
	s.answer(w, r, a, s.Decline(a.ID), "Declined.")
}

// answer reports the outcome: back to the page for a form, JSON otherwise.
func (s *Sim) answer(w http.ResponseWriter, r *http.Request, a appAnswer, err error, done string) {
	status, code, msg := http.StatusOK, "", done
	switch {
	case err == nil:
	case errors.Is(err, ErrWrongPIN):
		status, code, msg = http.StatusForbidden, "wrong_pin", "Wrong PIN, try again."
	case errors.Is(err, ErrPINBlocked):
		status, code, msg = http.StatusForbidden, "pin_blocked", "Wrong PIN entered too often: the request is refused."
	case errors.Is(err, ErrConsent):
		status, code, msg = http.StatusBadRequest, "consent_required", "Tick the consent to create your certificate first."
	case errors.Is(err, ErrUnknownRequest):
		status, code, msg = http.StatusNotFound, "unknown_request", "This request is no longer pending."
	default:
		status, code, msg = http.StatusInternalServerError, "server_error", err.Error()
	}
	if a.form {
		q := url.Values{"msg": {msg}}
		if a.User != "" {
			q.Set("user", a.User)
		}
		// Relative to app/approve and app/decline, so it works under any mount prefix; set
		// directly, since http.Redirect would resolve it against the (stripped) request path.
		w.Header().Set("Location", "../app?"+q.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if code != "" {
		cscError(w, status, code, msg)
		return
	}
	writeJSON(w, status, map[string]string{"status": "ok", "message": msg})
}
