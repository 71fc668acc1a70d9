// Package itsmesim simulates itsme® Sign's CSC API (v1.0.4, as described in
// /work/shared/ITSME-CSC.md) over real HTTP, with the signer's phone as a web page, so
// that the relay's production CSC client can be run end to end in tests and demos.
//
// Endpoints (relative to the simulator's base URL; the CSC API base is <base>/csc/v1 and
// the authorisation server is <base>, which /info announces as "oauth2"):
//
//	POST /csc/v1/info                  service description
//	GET  /oauth2/authorize             start a dance (scope service or credential)
//	GET  /oauth2/wait?k=…              the authorise page's long poll; 302 to redirect_uri when decided
//	POST /oauth2/token                 code → access token or SAD (JSON or form)
//	POST /csc/v1/credentials/list      the user's one credential id
//	POST /csc/v1/credentials/info      key, certificate chain, certInfo
//	POST /csc/v1/signatures/signHash   raw RSA PKCS#1 v1.5 signatures of authorised hashes
//	POST /csc/v1/auth/revoke           end a token
//	GET  /app[?user=sub]               the "phone": pending requests, PIN, approve/decline
//	GET  /app/pending                  the same as JSON
//	POST /app/approve, /app/decline    the phone's answers (form or JSON)
//
// Token and code lifetimes follow Config.Now, so tests can move time; the approval
// timeout is real time, since it is how long a person may take.
package itsmesim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// Config configures a simulator as one itsme® partner project.
type Config struct {
	// PKI issues the users' qualified certificates.
	PKI *devpki.PKI
	// ClientID, ClientSecret and RedirectURIs are the partner's onboarding data.
	ClientID, ClientSecret string
	RedirectURIs           []string
	// ApprovalTimeout is how long the phone waits for the user (real time); default 2 min.
	ApprovalTimeout time.Duration
	// AutoApprove answers every authorisation at once, as if the user approved with the
	// right PIN (unattended tests, `sign --demo`).
	AutoApprove bool
	// PIN is the users' app PIN; default "12345".
	PIN string
	// Now is the clock of tokens, codes and account_token iat; default time.Now.
	Now func() time.Time
	// MaxHashes is the contract's hashes per authorisation; default 70.
	MaxHashes int
	// PublicURL is the base URL announced by /info; default from the request's Host.
	PublicURL string
}

// Lifetimes and limits of the real service.
const (
	TokenLifetime  = 3600 * time.Second // access token and SAD
	CodeLifetime   = 60 * time.Second   // authorisation codes are short-lived and single-use
	iatWindow      = 5 * time.Minute    // how old (or early) an account_token may be
	maxPINFailures = 3
	pollWait       = 20 * time.Second // one long poll of the authorise page
)

// Sim is a running simulator; its methods may be called concurrently.
type Sim struct {
	cfg Config

	mu       sync.Mutex
	users    map[string]*user    // by sub
	creds    map[string]*user    // by credential id
	requests map[string]*request // pending and decided authorisations, by id
	waits    map[string]*request // by the browser's wait key
	codes    map[string]*grant
	tokens   map[string]*token
	jtis     map[string]time.Time // account_token ids seen, with their iat
	// signHashes counts the signHash calls that made signatures: what the real service
	// bills, and what tests check to prove one approval signed once.
	signHashes int
}

// SignHashCount is the number of signatures/signHash calls that returned signatures.
func (s *Sim) SignHashCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signHashes
}

type user struct {
	sub          string
	person       devpki.Person
	identity     *devpki.Identity // nil until the user consents to its creation
	credentialID string
}

// grant is what an authorisation code stands for.
type grant struct {
	sub, scope, redirectURI, credentialID string
	hashes                                [][]byte
	numSignatures                         int
	expires                               time.Time
	used                                  bool
	issued                                string // the token it gave, revoked if the code is replayed
}

// token is an access token (scope service) or a SAD (scope credential).
type token struct {
	sub, scope, credentialID string
	hashes                   [][]byte
	numSignatures, used      int
	expires                  time.Time
	revoked                  bool
}

// New returns a simulator.
func New(cfg Config) (*Sim, error) {
	if cfg.PKI == nil || cfg.ClientID == "" || cfg.ClientSecret == "" || len(cfg.RedirectURIs) == 0 {
		return nil, errors.New("itsmesim: PKI, ClientID, ClientSecret and RedirectURIs are required")
	}
	if cfg.ApprovalTimeout <= 0 {
		cfg.ApprovalTimeout = 2 * time.Minute
	}
	if cfg.PIN == "" {
		cfg.PIN = "12345"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxHashes <= 0 {
		cfg.MaxHashes = 70
	}
	cfg.RedirectURIs = slices.Clone(cfg.RedirectURIs)
	return &Sim{
		cfg: cfg, users: map[string]*user{}, creds: map[string]*user{}, requests: map[string]*request{},
		waits: map[string]*request{}, codes: map[string]*grant{}, tokens: map[string]*token{}, jtis: map[string]time.Time{},
	}, nil
}

// Handler serves the simulator's endpoints.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /csc/v1/info", s.handleInfo)
	mux.HandleFunc("POST /csc/v1/credentials/list", s.handleCredentialsList)
	mux.HandleFunc("POST /csc/v1/credentials/info", s.handleCredentialsInfo)
	mux.HandleFunc("POST /csc/v1/signatures/signHash", s.handleSignHash)
	mux.HandleFunc("POST /csc/v1/auth/revoke", s.handleRevoke)
	mux.HandleFunc("GET /oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("GET /oauth2/wait", s.handleWait)
	mux.HandleFunc("POST /oauth2/token", s.handleToken)
	mux.HandleFunc("GET /app", s.handleApp)
	mux.HandleFunc("GET /app/pending", s.handleAppPending)
	mux.HandleFunc("POST /app/approve", s.handleAppApprove)
	mux.HandleFunc("POST /app/decline", s.handleAppDecline)
	return mux
}

// AddUser registers the person behind the account id sub (the account_token's sub), for
// tests that need a known name and national number. Unregistered users get a person
// derived from their sub on first sight.
func (s *Sim) AddUser(sub string, p devpki.Person) error {
	if sub == "" {
		return errors.New("itsmesim: empty sub")
	}
	if (p.Country == "" || p.Country == "BE") && !devpki.ValidNationalNumber(p.SerialNumber) {
		return fmt.Errorf("itsmesim: %q is not a valid national registry number", p.SerialNumber)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[sub]; u != nil && u.identity != nil {
		return fmt.Errorf("itsmesim: user %q already has a certificate", sub)
	}
	s.users[sub] = &user{sub: sub, person: p}
	return nil
}

// Certificate returns the chain issued to sub, or nil before their first consent.
func (s *Sim) Certificate(sub string) []*x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[sub]; u != nil && u.identity != nil {
		return slices.Clone(u.identity.Chain)
	}
	return nil
}

// userLocked returns the user for sub, creating one with a derived person.
func (s *Sim) userLocked(sub string) *user {
	u := s.users[sub]
	if u == nil {
		u = &user{sub: sub, person: derivePerson(sub)}
		s.users[sub] = u
	}
	return u
}

var (
	maleNames   = []string{"Lucas", "Arthur", "Noah", "Louis", "Jules", "Victor"}
	femaleNames = []string{"Emma", "Louise", "Olivia", "Marie", "Elena", "Lina"}
	surnames    = []string{"Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois"}
)

// derivePerson gives every account id a stable, plausible Belgian identity: a name and a
// checksum-valid national number that depend only on sub.
func derivePerson(sub string) devpki.Person {
	h := sha256.Sum256([]byte(sub))
	male := h[0]&1 == 0
	given := femaleNames[int(h[1])%len(femaleNames)]
	if male {
		given = maleNames[int(h[1])%len(maleNames)]
	}
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(binary.BigEndian.Uint16(h[2:]))%(365*55))
	return devpki.Person{
		GivenName:    given,
		Surname:      surnames[int(h[4])%len(surnames)],
		SerialNumber: devpki.NationalNumber(birth, int(binary.BigEndian.Uint16(h[5:])), male),
		Locality:     "Brussel",
	}
}

// randomID returns an unguessable identifier: codes, tokens and wait keys are bearer
// secrets.
func randomID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
