package itsmesim

import (
	"errors"
	"net/url"
	"slices"
	"sort"
	"time"
)

// request is one authorisation the user must answer on their phone.
type request struct {
	id, waitKey        string
	sub, scope         string
	redirectURI, state string
	credentialID       string
	hashes             [][]byte
	numSignatures      int
	description        string
	firstTime          bool // the user has no certificate yet: ask for consent
	created            time.Time
	pinFailures        int
	decided            bool
	location           string        // where the browser goes once decided
	done               chan struct{} // closed when decided
	timer              *time.Timer
}

// Request is a pending authorisation as the phone shows it.
type Request struct {
	ID   string
	Sub  string
	Name string
	// Scope is "service" (identify, and consent for a first certificate) or "credential"
	// (sign Hashes hashes described by Description).
	Scope       string
	Description string
	Hashes      int
	// FirstTime asks the one-time consent "Create your qualified certificate".
	FirstTime bool
	Created   time.Time
}

// Errors of the phone.
var (
	ErrUnknownRequest = errors.New("itsmesim: no such pending request")
	ErrWrongPIN       = errors.New("itsmesim: wrong PIN")
	ErrPINBlocked     = errors.New("itsmesim: wrong PIN entered too often; the request is refused")
	ErrConsent        = errors.New("itsmesim: the user must consent to the creation of their certificate")
)

// Pending lists the requests waiting for an answer, oldest first.
func (s *Sim) Pending() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.decided {
			continue
		}
		u := s.users[r.sub]
		out = append(out, Request{
			ID: r.id, Sub: r.sub, Name: u.person.GivenName + " " + u.person.Surname, Scope: r.scope,
			Description: r.description, Hashes: len(r.hashes), FirstTime: r.firstTime, Created: r.created,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Approve answers request id with pin, as the user would on the phone; for a first-time
// user it also gives the consent to create their certificate.
func (s *Sim) Approve(id, pin string) error { return s.approve(id, pin, true) }

// Decline refuses request id.
func (s *Sim) Decline(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests[id]
	if r == nil || r.decided {
		return ErrUnknownRequest
	}
	s.decideLocked(r, errorLocation(r, "access_denied", "The user declined the request"))
	return nil
}

func (s *Sim) approve(id, pin string, consent bool) error {
	s.mu.Lock()
	r := s.requests[id]
	if r == nil || r.decided {
		s.mu.Unlock()
		return ErrUnknownRequest
	}
	if pin != s.cfg.PIN {
		r.pinFailures++
		if r.pinFailures >= maxPINFailures {
			s.decideLocked(r, errorLocation(r, "access_denied", "wrong PIN entered too often"))
			s.mu.Unlock()
			return ErrPINBlocked
		}
		s.mu.Unlock()
		return ErrWrongPIN
	}
	if r.firstTime && !consent {
		s.mu.Unlock()
		return ErrConsent
	}
	s.mu.Unlock()
	return s.grant(r)
}

// grant issues the user's certificate if this is their first consent (outside the lock:
// RSA key generation takes a while) and completes r with a code.
func (s *Sim) grant(r *request) error {
	s.mu.Lock()
	u := s.users[r.sub]
	id, person := u.identity, u.person
	s.mu.Unlock()
	var err error
	if id == nil {
		if id, err = s.cfg.PKI.IssueQualified(person); err != nil {
			s.mu.Lock()
			s.decideLocked(r, errorLocation(r, "server_error", "cannot issue the certificate"))
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.decided { // timed out or declined meanwhile
		return ErrUnknownRequest
	}
	if u.identity == nil {
		u.identity, u.credentialID = id, randomID()
		s.creds[u.credentialID] = u
	}
	if r.scope == "credential" && r.credentialID != u.credentialID {
		s.decideLocked(r, errorLocation(r, "invalid_request", "Invalid parameter credentialID"))
		return ErrUnknownRequest
	}
	code := randomID()
	s.codes[code] = &grant{
		sub: r.sub, scope: r.scope, redirectURI: r.redirectURI, credentialID: u.credentialID,
		hashes: r.hashes, numSignatures: r.numSignatures, expires: s.cfg.Now().Add(CodeLifetime),
	}
	s.decideLocked(r, redirectLocation(r.redirectURI, url.Values{"code": {code}}, r.state))
	return nil
}

// decideLocked ends r: the browser waiting on it goes to location.
func (s *Sim) decideLocked(r *request, location string) {
	r.decided, r.location = true, location
	if r.timer != nil {
		r.timer.Stop()
	}
	close(r.done)
}

// timeout fires ApprovalTimeout after the request was shown; itsme reports it as
// access_denied with the description "timeout".
func (s *Sim) timeout(r *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.decided {
		s.decideLocked(r, errorLocation(r, "access_denied", "timeout"))
	}
}

// pruneLocked forgets what can no longer be used, so a long-running simulator stays small.
func (s *Sim) pruneLocked() {
	now := s.cfg.Now()
	for id, r := range s.requests {
		if r.decided && time.Since(r.created) > 10*time.Minute {
			delete(s.requests, id)
			delete(s.waits, r.waitKey)
		}
	}
	for c, g := range s.codes {
		if now.After(g.expires.Add(CodeLifetime)) {
			delete(s.codes, c)
		}
	}
	for t, tok := range s.tokens {
		if now.After(tok.expires.Add(time.Hour)) {
			delete(s.tokens, t)
		}
	}
	for j, iat := range s.jtis {
		if now.Sub(iat) > 2*iatWindow {
			delete(s.jtis, j)
		}
	}
}

func errorLocation(r *request, code, description string) string {
	return redirectLocation(r.redirectURI, url.Values{"error": {code}, "error_description": {description}}, r.state)
}

// redirectLocation adds params and state to a registered redirect URI, keeping any query
// it already has (RFC 6749 §3.1.2).
func redirectLocation(redirectURI string, params url.Values, state string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI
	}
	q := u.Query()
	for k, v := range params {
		q[k] = slices.Clone(v)
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
