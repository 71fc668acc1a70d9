// Package tsa is the relay's RFC 3161 time-stamping: a client that asks a list of TSAs in
// order and checks every answer before handing the token over, and a development TSA
// server backed by devpki.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
)

// Defaults for the zero Options fields.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultTotal        = 30 * time.Second
	DefaultMaxResponse  = 64 << 10
	DefaultMaxClockSkew = 5 * time.Minute
)

var (
	// ErrUnavailable is returned, wrapped in an *UnavailableError, when no TSA produced an
	// acceptable token.
	ErrUnavailable = errors.New("tsa: no time-stamping authority answered")
	// ErrRejected marks an attempt the TSA answered with a status other than granted.
	ErrRejected = errors.New("the TSA refused the request")
	// ErrInvalidResponse marks an attempt whose answer is malformed or does not answer the
	// request (imprint, nonce, signature, certificate, time).
	ErrInvalidResponse = errors.New("the TSA's answer is not acceptable")
)

// Options tune a Client. Zero values take the defaults above.
type Options struct {
	// Timeout bounds one attempt at one TSA: connecting, sending, and reading the answer.
	Timeout time.Duration
	// Total bounds a whole Timestamp call, all TSAs included.
	Total time.Duration
	// HTTPClient sends the requests; nil means a client with no timeout of its own (the
	// contexts above bound every attempt).
	HTTPClient *http.Client
	// MaxResponse is the largest answer read, in bytes.
	MaxResponse int64
	// Policy, when set, is requested from the TSA and required in the token.
	Policy encasn1.ObjectIdentifier
	// Roots, when set, must anchor the TSA certificate (with intermediates from the token).
	Roots *x509.CertPool
	// MaxClockSkew is how far genTime may lie outside the time the request was in flight.
	MaxClockSkew time.Duration
}

// Client asks TSAs for time-stamps. Its methods may be called concurrently.
type Client struct {
	opts        Options
	http        *http.Client
	tsas        []*tsaState
	requests    atomic.Uint64
	unavailable atomic.Uint64
}

type tsaState struct {
	url       string // as configured
	name      string // the URL with any password redacted, for errors, metrics and callers
	attempts  atomic.Uint64
	successes atomic.Uint64
	failures  atomic.Uint64
}

// NewClient returns a client for the TSAs at urls (http or https), tried in that order.
func NewClient(urls []string, opts Options) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("tsa: no TSA URL")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Total <= 0 {
		opts.Total = DefaultTotal
	}
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = DefaultMaxResponse
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = DefaultMaxClockSkew
	}
	opts.Policy = slices.Clone(opts.Policy)
	c := &Client{opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{}
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("tsa: TSA URL %q: %v", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("tsa: TSA URL %q is not an http or https URL", u.Redacted())
		}
		c.tsas = append(c.tsas, &tsaState{url: raw, name: u.Redacted()})
	}
	return c, nil
}

// Attempt is one TSA's failure in a Timestamp call.
type Attempt struct {
	URL string
	Err error
}

// UnavailableError lists why each TSA failed, in the order they were tried. It matches
// ErrUnavailable with errors.Is and unwraps to every attempt's error.
type UnavailableError struct {
	Attempts []Attempt
}

func (e *UnavailableError) Error() string {
	var sb strings.Builder
	sb.WriteString(ErrUnavailable.Error())
	sb.WriteByte(':')
	for _, a := range e.Attempts {
		// One line per URL, whatever the reason says.
		sb.WriteString("\n\t" + a.URL + ": " + strings.Join(strings.Fields(a.Err.Error()), " "))
	}
	return sb.String()
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns every attempt's error.
func (e *UnavailableError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

// Timestamp asks for a time-stamp over imprint, a digest made with h (SHA-256, SHA-384 or
// SHA-512). It returns the TimeStampToken (a DER ContentInfo, as cms.AddTimestamp takes it)
// and the URL of the TSA that made it (password redacted). When no TSA answers acceptably
// within Options.Total the error is an *UnavailableError.
func (c *Client) Timestamp(ctx context.Context, imprint []byte, h crypto.Hash) (token []byte, tsaURL string, err error) {
	if !imprintHash(h) {
		return nil, "", fmt.Errorf("tsa: time-stamps use SHA-256, SHA-384 or SHA-512, not %v", h)
	}
	if len(imprint) != h.Size() {
		return nil, "", fmt.Errorf("tsa: the imprint has %d bytes, %v makes %d", len(imprint), h, h.Size())
	}
	c.requests.Add(1)
	total, cancel := context.WithTimeout(ctx, c.opts.Total)
	defer cancel()
	failed := &UnavailableError{}
	for i, t := range c.tsas {
		if total.Err() != nil {
			reason := c.explain(ctx, total, total, total.Err())
			for _, rest := range c.tsas[i:] {
				failed.Attempts = append(failed.Attempts, Attempt{URL: rest.name, Err: fmt.Errorf("not tried: %w", reason)})
			}
			break
		}
		t.attempts.Add(1)
		token, err := c.attempt(ctx, total, t, imprint, h)
		if err == nil {
			t.successes.Add(1)
			return token, t.name, nil
		}
		t.failures.Add(1)
		failed.Attempts = append(failed.Attempts, Attempt{URL: t.name, Err: err})
	}
	c.unavailable.Add(1)
	return nil, "", failed
}

// attempt asks one TSA, within the per-attempt timeout.
func (c *Client) attempt(caller, total context.Context, t *tsaState, imprint []byte, h crypto.Hash) ([]byte, error) {
	ctx, cancel := context.WithTimeout(total, c.opts.Timeout)
	defer cancel()
	nonce, err := randomNonce()
	if err != nil {
		return nil, err
	}
	req := timestamp.Request{HashAlgorithm: h, HashedMessage: imprint, Certificates: true, Nonce: nonce, TSAPolicyOID: c.opts.Policy}
	der, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	body, err := c.post(ctx, t.url, der)
	if err != nil {
		return nil, c.explain(caller, total, ctx, err)
	}
	received := time.Now()
	return checkReply(body, &expectation{
		hash:    h,
		imprint: imprint,
		nonce:   nonce,
		policy:  c.opts.Policy,
		roots:   c.opts.Roots,
		// genTime has a one-second resolution at most TSAs: round the window outwards.
		earliest: sent.Add(-c.opts.MaxClockSkew - time.Second),
		latest:   received.Add(c.opts.MaxClockSkew + time.Second),
	})
}

// post sends one request and reads the answer, bounded in size.
func (c *Client) post(ctx context.Context, u string, der []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(der))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mediaQuery)
	req.Header.Set("Accept", mediaReply)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || (mt != mediaReply && mt != mediaReplyLegacy) {
		return nil, fmt.Errorf("%w: content type %q, not %s", ErrInvalidResponse, resp.Header.Get("Content-Type"), mediaReply)
	}
	if resp.ContentLength > c.opts.MaxResponse {
		return nil, fmt.Errorf("%w: the answer has %d bytes, more than the %d accepted", ErrInvalidResponse, resp.ContentLength, c.opts.MaxResponse)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponse+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > c.opts.MaxResponse {
		return nil, fmt.Errorf("%w: the answer is longer than the %d bytes accepted", ErrInvalidResponse, c.opts.MaxResponse)
	}
	return body, nil
}

// explain turns a failure into a reason that says which deadline ended it, if any.
func (c *Client) explain(caller, total, attempt context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is on the line already
	}
	switch {
	case caller.Err() != nil:
		return fmt.Errorf("the caller gave up: %w", caller.Err())
	case total.Err() != nil:
		return fmt.Errorf("the total timeout of %v was reached: %w", c.opts.Total, context.DeadlineExceeded)
	case attempt.Err() != nil:
		return fmt.Errorf("no answer within the per-attempt timeout of %v: %w", c.opts.Timeout, context.DeadlineExceeded)
	}
	return err
}

// randomNonce returns a positive 64-bit random nonce, as long as most TSAs expect.
func randomNonce() (*big.Int, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] |= 0x01 << 6 // never short, never zero
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// Stats are the client's counters since it was made, for metrics.
type Stats struct {
	// Requests counts Timestamp calls with valid arguments; Unavailable those no TSA served.
	Requests, Unavailable uint64
	// TSAs holds one entry per URL, in the configured order.
	TSAs []TSAStats
}

// TSAStats counts one TSA's attempts; each finished attempt is a success or a failure.
type TSAStats struct {
	URL                           string
	Attempts, Successes, Failures uint64
}

// Stats returns the current counters.
func (c *Client) Stats() Stats {
	s := Stats{Requests: c.requests.Load(), Unavailable: c.unavailable.Load(), TSAs: make([]TSAStats, len(c.tsas))}
	for i, t := range c.tsas {
		s.TSAs[i] = TSAStats{URL: t.name, Attempts: t.attempts.Load(), Successes: t.successes.Load(), Failures: t.failures.Load()}
	}
	return s
}
