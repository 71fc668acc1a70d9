package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/csc"
	"github.com/veilsign/veilsign/relay/internal/demo"
	"github.com/veilsign/veilsign/relay/internal/demo/democard"
	"github.com/veilsign/veilsign/relay/internal/devstore"
	"github.com/veilsign/veilsign/relay/internal/itsmesim"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
	"github.com/veilsign/veilsign/relay/internal/seal"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/postgres"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/internal/tsa"
	"github.com/veilsign/veilsign/relay/internal/validation"
)

// serveFlags are the relay's settings; every flag also reads a VEILSIGN_* variable.
type serveFlags struct {
	addr, store, tsaURLs, origins, audience, hmac, ed25519, prices string
	cscBase, cscClientID, cscSecret, publicURL                     string
	pkcs11Module, pkcs11PIN, pkcs11Label, pkcs11Method             string
	validationRoots                                                string
	demo                                                           bool
	sweepEvery, probeEvery                                         time.Duration
	maxHeld                                                        int
}

// envDuration reads a duration variable; a value that does not parse is left for the flag
// package to report, as if given on the command line.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// envInt reads a positive integer variable, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Serve runs "relay serve" until SIGINT/SIGTERM, then shuts down gracefully.
func Serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.addr, "addr", env("VEILSIGN_ADDR", "127.0.0.1:8080"), "listen address (VEILSIGN_ADDR)")
	fs.StringVar(&f.store, "store", env("VEILSIGN_STORE", "sqlite:veilsign-relay.db"), "sqlite:PATH or postgres://… (VEILSIGN_STORE)")
	fs.StringVar(&f.tsaURLs, "tsa", env("VEILSIGN_TSA", ""), "RFC 3161 TSA URLs, comma-separated, tried in order (VEILSIGN_TSA)")
	fs.StringVar(&f.origins, "origins", env("VEILSIGN_ORIGINS", ""), "allowed page origins, comma-separated host patterns, or origins with a scheme such as chrome-extension://<id> (VEILSIGN_ORIGINS)")
	fs.StringVar(&f.audience, "audience", env("VEILSIGN_AUDIENCE", "veilsign-relay"), "the aud claim session tokens must carry (VEILSIGN_AUDIENCE)")
	fs.StringVar(&f.hmac, "token-hmac", env("VEILSIGN_TOKEN_HMAC", ""), "HMAC-SHA256 secret of the portal's session tokens (VEILSIGN_TOKEN_HMAC)")
	fs.StringVar(&f.ed25519, "token-ed25519", env("VEILSIGN_TOKEN_ED25519", ""), "base64 Ed25519 public keys of portals, comma-separated (VEILSIGN_TOKEN_ED25519)")
	fs.StringVar(&f.prices, "prices", env("VEILSIGN_PRICES", "itsme=4.2"), "credits per signature by method, e.g. itsme=4.2,eid=0 (VEILSIGN_PRICES)")
	fs.StringVar(&f.cscBase, "csc-url", env("VEILSIGN_CSC_URL", ""), "itsme/CSC API base URL, e.g. https://…/csc/v1 (VEILSIGN_CSC_URL)")
	fs.StringVar(&f.cscClientID, "csc-client-id", env("VEILSIGN_CSC_CLIENT_ID", ""), "CSC client_id (VEILSIGN_CSC_CLIENT_ID)")
	fs.StringVar(&f.cscSecret, "csc-client-secret", env("VEILSIGN_CSC_CLIENT_SECRET", ""), "CSC client_secret (VEILSIGN_CSC_CLIENT_SECRET)")
	fs.StringVar(&f.publicURL, "public-url", env("VEILSIGN_PUBLIC_URL", ""), "the relay's public base URL, for the OAuth2 callback (VEILSIGN_PUBLIC_URL)")
	fs.StringVar(&f.pkcs11Module, "pkcs11-module", env("VEILSIGN_PKCS11_MODULE", ""), "PKCS#11 module path for eID cards or an HSM (VEILSIGN_PKCS11_MODULE)")
	fs.StringVar(&f.pkcs11PIN, "pkcs11-pin", env("VEILSIGN_PKCS11_PIN", ""), "PKCS#11 PIN (VEILSIGN_PKCS11_PIN; empty for a pinpad)")
	fs.StringVar(&f.pkcs11Label, "pkcs11-label", env("VEILSIGN_PKCS11_LABEL", ""), "certificate label on the token (VEILSIGN_PKCS11_LABEL)")
	fs.StringVar(&f.pkcs11Method, "pkcs11-method", env("VEILSIGN_PKCS11_METHOD", "eid"), "eid or x509 (VEILSIGN_PKCS11_METHOD)")
	fs.StringVar(&f.validationRoots, "validation-roots", env("VEILSIGN_VALIDATION_ROOTS", ""), "PEM files of the roots whose chains the relay fetches OCSP/CRL data for (validation-data, B-LT), comma-separated (VEILSIGN_VALIDATION_ROOTS)")
	fs.DurationVar(&f.sweepEvery, "sweep-interval", envDuration("VEILSIGN_SWEEP_INTERVAL", 10*time.Minute), "how often expired sessions, jobs and checkpoints are deleted from the store (VEILSIGN_SWEEP_INTERVAL)")
	fs.IntVar(&f.maxHeld, "max-held-signatures", envInt("VEILSIGN_MAX_HELD_SIGNATURES", server.DefaultMaxHeldResults), "signatures running or held in memory because the store did not take them; beyond it new sign requests get a retryable unavailable before the signer is asked (VEILSIGN_MAX_HELD_SIGNATURES)")
	fs.DurationVar(&f.probeEvery, "store-probe-interval", envDuration("VEILSIGN_STORE_PROBE_INTERVAL", 10*time.Second), "how often the store is checked for writes and free space; new sessions are refused while it fails (VEILSIGN_STORE_PROBE_INTERVAL)")
	fs.BoolVar(&f.demo, "demo", false, "development mode: itsme simulator, dev TSA, dev seal, SMS outbox and demo tokens on this server")
	if err := fs.Parse(args); err != nil {
		return ExitBadInput
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runServe(ctx, f, stdout, log); err != nil {
		return fail(stderr, err)
	}
	return ExitOK
}

func runServe(ctx context.Context, f serveFlags, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if f.publicURL == "" {
		f.publicURL = base
	}
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	mux := http.NewServeMux()
	cfg := server.Config{Store: st, Log: log, Prices: parsePrices(f.prices), Origins: splitList(f.origins),
		Tokens: &token.Verifier{Audience: f.audience}, SweepInterval: f.sweepEvery, HealthInterval: f.probeEvery,
		MaxHeldResults: f.maxHeld}
	if f.hmac != "" {
		cfg.Tokens.HMAC = append(cfg.Tokens.HMAC, []byte(f.hmac))
	}
	for _, k := range splitList(f.ed25519) {
		pub, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return usage("--token-ed25519 holds a key that is not 32 bytes of base64")
		}
		cfg.Tokens.Ed25519 = append(cfg.Tokens.Ed25519, ed25519.PublicKey(pub))
	}
	var vcfg validation.Config
	for _, path := range splitList(f.validationRoots) {
		certs, err := readPEMCerts(path)
		if err != nil {
			return usage("--validation-roots: %v", err)
		}
		vcfg.Roots = append(vcfg.Roots, certs...)
	}
	if f.demo {
		if err := wireDemo(&cfg, mux, &f, base, &vcfg); err != nil {
			return err
		}
	}
	if len(vcfg.Roots) > 0 {
		cfg.Validation = validation.New(vcfg)
	}
	if f.cscBase != "" {
		b, err := csc.NewBackend(csc.Config{BaseURL: f.cscBase, ClientID: f.cscClientID, ClientSecret: f.cscSecret,
			RedirectURI: f.publicURL + "/v1/csc/callback", Profile: csc.ItsmeProfile(),
			// Approvals given while the relay restarts still complete their signature.
			Checkpoints: st})
		if err != nil {
			return err
		}
		cfg.Backends = append(cfg.Backends, b)
		mux.Handle("/v1/csc/callback", b.CallbackHandler())
	}
	if f.pkcs11Module != "" {
		b, err := pkcs11signer.New(pkcs11signer.Config{Module: f.pkcs11Module, PIN: f.pkcs11PIN, CertLabel: f.pkcs11Label, Method: f.pkcs11Method})
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Backends = append(cfg.Backends, b)
	}
	if len(cfg.Tokens.HMAC) == 0 && len(cfg.Tokens.Ed25519) == 0 {
		return usage("no session token key: give --token-hmac or --token-ed25519 (or --demo)")
	}
	if len(cfg.Backends) == 0 {
		return usage("no signer backend: configure --csc-url, --pkcs11-module, or run with --demo")
	}
	if f.tsaURLs != "" {
		c, err := tsa.NewClient(splitList(f.tsaURLs), tsa.Options{Timeout: 10 * time.Second, Total: 30 * time.Second})
		if err != nil {
			return err
		}
		cfg.TSA = c
	}
	srv := server.New(cfg)
	mux.Handle("/", srv.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Fprintf(stdout, "veilsign relay listening on %s (websocket %s/v1/sign)\n", base, strings.Replace(base, "http", "ws", 1))
	if f.demo {
		fmt.Fprintf(stdout, "demo: itsme simulator phone at %s/itsme/app, SMS outbox at %s/dev/outbox, demo tokens at %s/demo/token\n", base, base, base)
		fmt.Fprintf(stdout, "demo: OCSP at %s%s, CRLs at %s%s and %s%s\n", base, validation.DevOCSPPath, base, validation.DevCRLPath, base, validation.DevRootCRLPath)
	}
	<-ctx.Done()
	log.Info("shutting down: letting running signatures finish")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	srv.Shutdown(sctx)
	return nil
}

func openStore(ctx context.Context, spec string) (store.Store, error) {
	switch {
	case strings.HasPrefix(spec, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(spec, "sqlite:"))
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return postgres.Open(ctx, spec)
	}
	return nil, usage("--store must be sqlite:PATH or a postgres:// URL")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePrices(s string) map[string]float64 {
	out := map[string]float64{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
			out[k] = f
		}
	}
	return out
}

// wireDemo adds, on the same server, everything the demo needs with nothing outside:
// the itsme simulator (/itsme/), a dev TSA (/tsa), pen and TAN sealing with the dev seal,
// an SMS outbox (/dev/outbox), a demo token endpoint (/demo/token), and the dev PKI's
// OCSP responder and CRLs (/dev/ocsp, /dev/crl/…; POST /dev/revoke from loopback marks a
// certificate revoked).
func wireDemo(cfg *server.Config, mux *http.ServeMux, f *serveFlags, base string, vcfg *validation.Config) error {
	pki, err := devstore.Load()
	if err != nil {
		return err
	}
	// Revocation data for the dev PKI on this server: certificates issued from now on (the
	// itsme simulator's) name these URLs; the persisted CA, seal and TSA certificates name
	// none, so the fetcher asks the demo responder about them.
	pki.SetURLs(validation.DevURLs(base))
	revocation := validation.NewDevResponder(pki)
	revocation.Register(mux)
	vcfg.Roots = append(vcfg.Roots, pki.Root())
	vcfg.DefaultOCSP = base + validation.DevOCSPPath
	secret := make([]byte, 32)
	rand.Read(secret)
	clientSecret := base64.RawURLEncoding.EncodeToString(secret[:16])
	sim, err := itsmesim.New(itsmesim.Config{PKI: pki, ClientID: "veilsign-demo", ClientSecret: clientSecret,
		RedirectURIs: []string{f.publicURL + "/v1/csc/callback"}, PublicURL: base + "/itsme"})
	if err != nil {
		return err
	}
	mux.Handle("/itsme/", http.StripPrefix("/itsme", sim.Handler()))
	if f.cscBase == "" {
		f.cscBase, f.cscClientID, f.cscSecret = base+"/itsme/csc/v1", "veilsign-demo", clientSecret
	}
	mux.Handle("/tsa", tsa.NewServer(pki, nil))
	if f.tsaURLs == "" {
		f.tsaURLs = base + "/tsa"
	}
	sealID := pki.Seal()
	outbox := &seal.Outbox{}
	cfg.Backends = append(cfg.Backends, seal.NewPen(sealID.Chain, sealID.Key), seal.NewTAN(sealID.Chain, sealID.Key, outbox, seal.Options{}))
	mux.Handle("/dev/outbox", outbox.Handler())
	demo.Mount(mux, pki.RootPEM()) // the demo portal at /
	// The eID card stand-in: a SoftHSM2 token made afresh at each start, when SoftHSM2 is here.
	cardErr := errors.New("no dev directory for the card")
	if dir, err := devstore.Dir(); err == nil {
		var card backend.Backend
		if card, cardErr = democard.New(filepath.Join(dir, "eid-card"), pki); cardErr == nil {
			cfg.Backends = append(cfg.Backends, card)
		}
	}
	demo.MountCard(mux, cardErr, democard.Holder, democard.PIN)
	cfg.Tokens.HMAC = append(cfg.Tokens.HMAC, secret)
	cfg.Origins = append(cfg.Origins, "localhost:*", "127.0.0.1:*")
	mux.HandleFunc("/demo/token", func(w http.ResponseWriter, r *http.Request) {
		signer := r.URL.Query().Get("signer")
		if signer == "" {
			signer = "demo-signer"
		}
		tok, err := token.Issue(secret, cfg.Tokens.Audience, signer, []string{"itsme", "pen", "tan", "eid", "x509"}, 10, 30*time.Minute, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, tok)
	})
	return nil
}
