// Package validation fetches the revocation data a PAdES B-LT signature carries in its DSS:
// OCSP responses (RFC 6960) from the responders named in the certificates' authority
// information access, and CRLs (RFC 5280) from their CRL distribution points. The relay
// does it for the page, which cannot (CORS), and for `relay sign --level B-LT`.
//
// It is not an open proxy: a chain is served only when it chains, by signature, to a root
// of the configured trust list; only http and https URLs are fetched, answers are bounded
// in size and time, and every answer is checked (signature by the issuer, about that
// certificate) before it is handed out or cached.
package validation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Defaults of Config.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultTotal       = 20 * time.Second
	DefaultMaxResponse = 1 << 20
	DefaultCacheSize   = 1024
	// MaxChain is the longest chain served.
	MaxChain = 10
	// maxCacheLife bounds how long an answer is kept, whatever its nextUpdate says.
	maxCacheLife = 24 * time.Hour
	// noNextUpdateLife is how long an answer without nextUpdate is kept.
	noNextUpdateLife = 5 * time.Minute
	clockSkew        = 5 * time.Minute
)

// ErrUntrusted marks a chain that does not lead to a root of the trust list.
var ErrUntrusted = errors.New("validation: the chain does not lead to a trusted root")

// ErrUnavailable marks a fetch where no responder or distribution point gave usable data.
var ErrUnavailable = errors.New("validation: no revocation data could be fetched")

// UntrustedError is the typed refusal of a chain outside the trust list.
type UntrustedError struct{ Reason string }

func (e *UntrustedError) Error() string { return "validation: untrusted chain: " + e.Reason }

// Is makes errors.Is(err, ErrUntrusted) true.
func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// Config tunes a Fetcher. Zero values take the defaults above.
type Config struct {
	// Roots is the trust list: only chains that end at (or are issued by) one of these are
	// served. Empty means every chain is refused.
	Roots []*x509.Certificate
	// Timeout bounds one fetch (connect, send, read); Total a whole Fetch call.
	Timeout, Total time.Duration
	// MaxResponse is the largest OCSP response or CRL read, in bytes.
	MaxResponse int64
	// CacheSize bounds the number of cached answers.
	CacheSize int
	// DefaultOCSP is asked about certificates that name no OCSP responder (the demo's own
	// responder, for a dev PKI made before it had URLs). Empty: none.
	DefaultOCSP string
	// HTTPClient sends the requests; nil means one that follows at most 3 redirects, to
	// http or https only. Its own Timeout is not relied on.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Fetcher fetches and caches validation data. Its methods may be called concurrently.
type Fetcher struct {
	cfg   Config
	http  *http.Client
	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	der   []byte
	until time.Time
}

// Result is the validation data of one chain. Items are DER; Problems says, per URL,
// what could not be fetched (for logs; a partial result is still a result).
type Result struct {
	Certs    [][]byte
	OCSPs    [][]byte
	CRLs     [][]byte
	Problems []string
	// Covered counts the certificates (root excepted) with at least one OCSP response or CRL.
	Covered int
	// CRLRedundant says, for each CRL (by index in CRLs), whether OCSP responses cover the
	// certificates it was fetched for: a caller short of room drops those first.
	CRLRedundant []bool
}

// New returns a Fetcher.
func New(cfg Config) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Total <= 0 {
		cfg.Total = DefaultTotal
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = DefaultMaxResponse
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Fetcher{cfg: cfg, cache: map[string]cacheEntry{}}
	f.http = cfg.HTTPClient
	if f.http == nil {
		f.http = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if !webURL(req.URL) {
				return fmt.Errorf("redirect to a %q URL refused", req.URL.Scheme)
			}
			return nil
		}}
	}
	return f
}

// webURL says whether u may be fetched: http or https with a host.
func webURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// Trusted checks that chain (leaf first) chains by signature to a root of the trust list
// and returns it completed with that root. Validity periods are not checked: extending an
// old signature asks about certificates that may have expired since.
func (f *Fetcher) Trusted(chain []*x509.Certificate) ([]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, &UntrustedError{"the chain is empty"}
	}
	if len(chain) > MaxChain {
		return nil, &UntrustedError{fmt.Sprintf("the chain has %d certificates, more than %d", len(chain), MaxChain)}
	}
	for i := 0; i+1 < len(chain); i++ {
		if !bytes.Equal(chain[i].RawIssuer, chain[i+1].RawSubject) || chain[i].CheckSignatureFrom(chain[i+1]) != nil {
			return nil, &UntrustedError{fmt.Sprintf("certificate %d (%s) is not issued by the next one", i+1, chain[i].Subject.CommonName)}
		}
	}
	last := chain[len(chain)-1]
	for _, r := range f.cfg.Roots {
		if bytes.Equal(r.Raw, last.Raw) {
			return chain, nil
		}
	}
	for _, r := range f.cfg.Roots {
		if bytes.Equal(last.RawIssuer, r.RawSubject) && last.CheckSignatureFrom(r) == nil {
			return append(append([]*x509.Certificate(nil), chain...), r), nil
		}
	}
	return nil, &UntrustedError{fmt.Sprintf("%q is not issued by a root this relay trusts", last.Subject.CommonName)}
}

// Fetch gets OCSP responses and CRLs for every certificate of chain but the root. The chain
// must be trusted (Trusted), else the error is an *UntrustedError. When every attempt failed
// the error wraps ErrUnavailable; a certificate that names no URL is not an error.
func (f *Fetcher) Fetch(ctx context.Context, chain []*x509.Certificate) (*Result, error) {
	chain, err := f.Trusted(chain)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Total)
	defer cancel()
	res := &Result{}
	seen := map[string]bool{}
	addCert := func(c *x509.Certificate) {
		if c != nil && !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			res.Certs = append(res.Certs, c.Raw)
		}
	}
	for _, c := range chain {
		addCert(c)
	}
	crlIndex := map[string]int{}
	attempts := 0
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		covered := false
		urls := cert.OCSPServer
		if len(urls) == 0 && f.cfg.DefaultOCSP != "" {
			urls = []string{f.cfg.DefaultOCSP}
		}
		hasOCSP := false
		for _, u := range urls {
			attempts++
			der, resp, err := f.ocsp(ctx, u, cert, issuer)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("OCSP %s for %q: %v", u, cert.Subject.CommonName, err))
				continue
			}
			res.OCSPs = append(res.OCSPs, der)
			if resp != nil && resp.Certificate != nil {
				addCert(resp.Certificate)
			}
			covered, hasOCSP = true, true
			break // one fresh response per certificate is enough
		}
		for _, u := range cert.CRLDistributionPoints {
			attempts++
			der, err := f.crl(ctx, u, issuer)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("CRL %s for %q: %v", u, cert.Subject.CommonName, err))
				continue
			}
			covered = true
			if k, ok := crlIndex[string(der)]; ok {
				res.CRLRedundant[k] = res.CRLRedundant[k] && hasOCSP
				break
			}
			crlIndex[string(der)] = len(res.CRLs)
			res.CRLs = append(res.CRLs, der)
			res.CRLRedundant = append(res.CRLRedundant, hasOCSP)
			break
		}
		if covered {
			res.Covered++
		}
	}
	if attempts > 0 && len(res.OCSPs)+len(res.CRLs) == 0 {
		return res, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(res.Problems, "; "))
	}
	return res, nil
}

// ocsp asks one responder about cert and checks the answer: signed by the issuer or by a
// responder it delegated to, about this serial, successful, and current.
func (f *Fetcher) ocsp(ctx context.Context, raw string, cert, issuer *x509.Certificate) ([]byte, *ocsp.Response, error) {
	u, err := url.Parse(raw)
	if err != nil || !webURL(u) {
		return nil, nil, fmt.Errorf("not an http or https URL")
	}
	key := "ocsp|" + raw + "|" + string(issuer.RawSubjectPublicKeyInfo) + "|" + cert.SerialNumber.String()
	if der := f.cached(key); der != nil {
		resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
		return der, resp, err
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, nil, err
	}
	der, err := f.get(ctx, http.MethodPost, raw, req, "application/ocsp-request")
	if err != nil {
		return nil, nil, err
	}
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("the response is not acceptable: %w", err)
	}
	if resp.Certificate != nil && !bytes.Equal(resp.Certificate.Raw, issuer.Raw) && !hasEKU(resp.Certificate, x509.ExtKeyUsageOCSPSigning) {
		return nil, nil, errors.New("the response is signed by a certificate not delegated to answer OCSP")
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, nil, errors.New("the response is about another certificate")
	}
	now := f.cfg.Now()
	if resp.ThisUpdate.After(now.Add(clockSkew)) {
		return nil, nil, errors.New("the response's thisUpdate is in the future")
	}
	if !resp.NextUpdate.IsZero() && resp.NextUpdate.Before(now) {
		return nil, nil, errors.New("the response is stale (nextUpdate has passed)")
	}
	f.store(key, der, resp.NextUpdate)
	return der, resp, nil
}

func hasEKU(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == want {
			return true
		}
	}
	return false
}

// crl fetches one CRL and checks it is the issuer's, signed by it, and current.
func (f *Fetcher) crl(ctx context.Context, raw string, issuer *x509.Certificate) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || !webURL(u) {
		return nil, fmt.Errorf("not an http or https URL")
	}
	key := "crl|" + raw + "|" + string(issuer.RawSubjectPublicKeyInfo)
	if der := f.cached(key); der != nil {
		return der, nil
	}
	der, err := f.get(ctx, http.MethodGet, raw, nil, "")
	if err != nil {
		return nil, err
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER CRL: %w", err)
	}
	if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) {
		return nil, errors.New("the CRL is issued by another CA")
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("the CRL's signature does not verify: %w", err)
	}
	now := f.cfg.Now()
	if rl.ThisUpdate.After(now.Add(clockSkew)) {
		return nil, errors.New("the CRL's thisUpdate is in the future")
	}
	if !rl.NextUpdate.IsZero() && rl.NextUpdate.Before(now) {
		return nil, errors.New("the CRL is stale (nextUpdate has passed)")
	}
	f.store(key, der, rl.NextUpdate)
	return der, nil
}

// get sends one request, bounded by Timeout and MaxResponse.
func (f *Fetcher) get(ctx context.Context, method, u string, body []byte, ctype string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v", f.cfg.Timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if resp.ContentLength > f.cfg.MaxResponse {
		return nil, fmt.Errorf("the answer has %d bytes, more than the %d accepted", resp.ContentLength, f.cfg.MaxResponse)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no complete answer within %v", f.cfg.Timeout)
		}
		return nil, err
	}
	if int64(len(b)) > f.cfg.MaxResponse {
		return nil, fmt.Errorf("the answer is longer than the %d bytes accepted", f.cfg.MaxResponse)
	}
	return b, nil
}

func (f *Fetcher) cached(key string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.cache[key]
	if !ok {
		return nil
	}
	if !f.cfg.Now().Before(e.until) {
		delete(f.cache, key)
		return nil
	}
	return e.der
}

// store keeps der until nextUpdate (bounded); when full it drops expired entries, then the
// one that expires first.
func (f *Fetcher) store(key string, der []byte, next time.Time) {
	now := f.cfg.Now()
	until := now.Add(noNextUpdateLife)
	if !next.IsZero() {
		until = next
	}
	if until.After(now.Add(maxCacheLife)) {
		until = now.Add(maxCacheLife)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.cache[key]; !ok && len(f.cache) >= f.cfg.CacheSize {
		var first string
		var firstUntil time.Time
		for k, e := range f.cache {
			if !now.Before(e.until) {
				delete(f.cache, k)
				continue
			}
			if first == "" || e.until.Before(firstUntil) {
				first, firstUntil = k, e.until
			}
		}
		if len(f.cache) >= f.cfg.CacheSize && first != "" {
			delete(f.cache, first)
		}
	}
	f.cache[key] = cacheEntry{der: der, until: until}
}

// CacheLen is the number of cached answers (for tests and metrics).
func (f *Fetcher) CacheLen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cache)
}
