package csc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is how to reach one CSC service as one client application.
type Config struct {
	// BaseURL is the CSC API base, the prefix of /info and the other methods, e.g.
	// "https://sign.example/csc/v1".
	BaseURL string
	// OAuth2URL is the base of the authorisation server: oauth2/authorize and oauth2/token
	// are relative to it, as the oauth2 field of /info says. Empty means BaseURL without a
	// trailing "/csc/v1".
	OAuth2URL string
	// ClientID and ClientSecret come from the provider's onboarding; the secret never
	// leaves the relay (the browser only sees the authorise URL).
	ClientID, ClientSecret string
	// RedirectURI is the relay's callback, registered with the provider.
	RedirectURI string
	Profile     Profile
	// HTTPClient defaults to a client without redirects followed (the API has none).
	HTTPClient *http.Client
	// Timeout bounds each API call (not the signer's approval, which the caller's context
	// bounds); default 30 s.
	Timeout time.Duration
	// Now is the clock for token lifetimes and account_token iat; default time.Now.
	Now func() time.Time
	// Checkpoints, when set, keeps every credential dance of the Backend (what to sign and
	// for which relay job; no token) until it ends, so that an approval arriving after a
	// relay restart still completes its signature (see Backend.Resume). The relay's store
	// satisfies it. Nil keeps dances in memory only: a restart loses them.
	Checkpoints Checkpoints
}

// Client speaks the CSC API. It keeps no per-user state: tokens are passed in.
type Client struct {
	cfg   Config
	base  string
	oauth string
}

// NewClient checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.RedirectURI == "" {
		return nil, errors.New("csc: BaseURL, ClientID, ClientSecret and RedirectURI are required")
	}
	for _, u := range []string{cfg.BaseURL, cfg.OAuth2URL, cfg.RedirectURI} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("csc: %q is not an absolute http(s) URL", u)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Profile.ServiceScope == "" {
		cfg.Profile.ServiceScope = ScopeService
	}
	if cfg.Profile.CredentialScope == "" {
		cfg.Profile.CredentialScope = ScopeCredential
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	oauth := strings.TrimRight(cfg.OAuth2URL, "/")
	if oauth == "" {
		oauth = strings.TrimSuffix(base, "/csc/v1")
	}
	return &Client{cfg: cfg, base: base, oauth: oauth}, nil
}

// Profile returns the provider profile the client follows.
func (c *Client) Profile() Profile { return c.cfg.Profile }

// maxBody bounds what is read from the service: a chain of a few certificates, or 70
// signatures, is well under it.
const maxBody = 1 << 20

// call posts body (JSON) to endpoint with an optional bearer token and decodes the answer
// into out. Statuses other than 200 and 204 become *Error.
func (c *Client) call(ctx context.Context, endpoint, bearer string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.post(ctx, endpoint, c.base+"/"+endpoint, bearer, "application/json", payload, out)
}

func (c *Client) post(ctx context.Context, endpoint, target, bearer, contentType string, payload []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("csc: %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("csc: %s: %w", endpoint, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("%w: %s answered more than %d bytes", ErrProtocol, endpoint, maxBody)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNoContent:
		return nil
	default:
		e := &Error{Endpoint: endpoint, Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			// Not a CSC error body (a proxy's page, say): keep the status as the code.
			e.Code = fmt.Sprintf("http_%d", resp.StatusCode)
			e.Description = http.StatusText(resp.StatusCode)
		}
		e.Endpoint, e.Status = endpoint, resp.StatusCode
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrProtocol, endpoint, err)
	}
	return nil
}
