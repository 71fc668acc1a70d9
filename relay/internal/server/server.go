// Package server is the relay's websocket service: it checks the portal's session token,
// asks a signer backend for a certificate and a signature over the hash of the CMS signed
// attributes, adds an RFC 3161 timestamp, and returns the CMS. It sees digests and who
// signs, never a document. Every signature a signer approved is kept in the store until
// the client acknowledges it, so a dropped socket or a retry never asks the signer twice.
package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/validation"
)

// Timestamper gets RFC 3161 tokens (relay/internal/tsa's client).
type Timestamper interface {
	Timestamp(ctx context.Context, imprint []byte, h crypto.Hash) (tok []byte, url string, err error)
}

// Validator fetches the revocation data of a certificate chain (relay/internal/validation's
// Fetcher); chains outside its trust list are refused with an error matching
// validation.ErrUntrusted.
type Validator interface {
	Fetch(ctx context.Context, chain []*x509.Certificate) (*validation.Result, error)
}

// Config wires a server.
type Config struct {
	Tokens   *token.Verifier
	Backends []backend.Backend
	Store    store.Store
	TSA      Timestamper
	// Validation serves validation-data (B-LT); nil refuses it.
	Validation Validator
	Log        *slog.Logger
	// Origins are the allowed page origins (host patterns such as "portal.example.be" or
	// "localhost:*", or patterns with a scheme such as "chrome-extension://<id>" for a
	// browser extension); a browser connection from any other origin is refused. Native
	// clients send no Origin header and are let through to the token check.
	Origins []string
	// Prices per method, in credits, booked for each signature (OKSign's creditsinfo).
	Prices map[string]float64
	// Limits; zero values take the defaults below.
	HelloTimeout    time.Duration // first frame deadline (slow clients are dropped)
	IdleTimeout     time.Duration // no frame and no work for this long closes the socket
	ApprovalTimeout time.Duration // how long a signer may take to approve
	PerTokenRate    float64       // frames per second per session token
	PerIPRate       float64       // new connections per second per client address
	// PerTokenFetchRate bounds validation-data and timestamp requests (each makes the
	// relay call out) per second per session token, on top of PerTokenRate.
	PerTokenFetchRate float64
	// HealthInterval is how often the store is probed for writes (a full disk refuses new
	// sessions); SweepInterval how often expired sessions are deleted from it.
	HealthInterval time.Duration
	SweepInterval  time.Duration
	// MaxHeldResults bounds the signatures running or held in memory because their final
	// store write failed (held.go); a sign request beyond it is refused as unavailable
	// before the signer is asked. Zero means DefaultMaxHeldResults.
	MaxHeldResults int
	Now            func() time.Time
}

// Server is the relay.
type Server struct {
	cfg      Config
	backends map[string]backend.Backend
	hub      *hub
	limits   *limiter
	metrics  *Metrics
	log      *slog.Logger
	health   storeHealth
	// held keeps the signatures the store did not take, until it does (held.go);
	// flushKick wakes the upkeep to write them when the store comes back.
	held      *heldResults
	flushKick chan struct{}

	// jobs run detached from connections, so an approval survives a dropped socket.
	jobsWG  sync.WaitGroup
	baseCtx context.Context
	cancel  context.CancelFunc
}

// New returns a server; call Handler to serve it and Shutdown to stop it.
func New(cfg Config) *Server {
	if cfg.HelloTimeout == 0 {
		cfg.HelloTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.ApprovalTimeout == 0 {
		cfg.ApprovalTimeout = 5 * time.Minute
	}
	if cfg.PerTokenRate == 0 {
		cfg.PerTokenRate = 20
	}
	if cfg.PerIPRate == 0 {
		cfg.PerIPRate = 10
	}
	if cfg.PerTokenFetchRate == 0 {
		cfg.PerTokenFetchRate = 2
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 10 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 10 * time.Minute
	}
	if cfg.MaxHeldResults <= 0 {
		cfg.MaxHeldResults = DefaultMaxHeldResults
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, backends: map[string]backend.Backend{}, hub: newHub(), log: cfg.Log,
		limits: newLimiter(cfg.PerTokenRate, cfg.PerIPRate, cfg.PerTokenFetchRate), metrics: newMetrics()}
	s.held, s.flushKick = newHeldResults(cfg.MaxHeldResults, &s.metrics.held), make(chan struct{}, 1)
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.metrics.storeWritable.set(1)
	go s.upkeep()
	for _, b := range cfg.Backends {
		s.backends[b.Method()] = b
		if r, ok := b.(backend.Resumable); ok {
			// Approvals that outlived the process that asked for them come back here.
			method := b.Method()
			r.Resume(func(job string, complete backend.Completion) { s.resumed(method, job, complete) })
		}
	}
	return s
}

// Handler serves /v1/sign (websocket), /v1/creditsinfo, /healthz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sign", s.serveSign)
	mux.HandleFunc("GET /v1/creditsinfo", s.serveCredits)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.Handle("GET /metrics", s.metrics)
	return mux
}

// Metrics exposes the server's counters.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Shutdown waits for running signatures (a signer approving on their phone) to finish or
// be stored, up to ctx's deadline, then cancels the rest; their jobs stay pending in the
// store and a resumed client is told to retry.
func (s *Server) Shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.jobsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// Held signatures die with the process: one last try to store them.
	s.flushHeld(ctx)
	if n := s.held.count(); n > 0 {
		s.log.Error("shutting down with signatures the store did not take: they are lost with this process, and asking for them again after the restart signs (B-B) or timestamps (B-T) again, unbooked the first time", "held", n)
	}
	s.cancel()
	s.hub.closeAll()
}

func (s *Server) methods() []string {
	var out []string
	for _, m := range []string{"itsme", "eid", "x509", "pen", "tan"} {
		if _, ok := s.backends[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.probeStore(ctx); err != nil {
		http.Error(w, "store cannot take writes", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}
