package csc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// AccountToken returns a fresh account_token (new jti) for the user sub.
func (c *Client) AccountToken(sub string) (string, error) {
	return AccountToken(c.cfg.ClientID, c.cfg.ClientSecret, sub, c.cfg.Profile.Issuer, c.cfg.Now())
}

// AuthorizeURL is the oauth2/authorize URL the signer's browser opens. state must be an
// unguessable single-use value the caller matches on the callback; accountToken may be
// empty; extra carries scope-specific parameters (CredentialParams for scope credential).
// Parameters of extra cannot override the ones set here.
func (c *Client) AuthorizeURL(scope, state, accountToken string, extra url.Values) (string, error) {
	if scope == "" || state == "" {
		return "", errors.New("csc: an authorisation needs a scope and a state")
	}
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("response_type", "code")
	q.Set("client_id", c.cfg.ClientID)
	q.Set("redirect_uri", c.cfg.RedirectURI)
	q.Set("scope", scope)
	q.Set("state", state)
	if p := c.cfg.Profile; p.SendLang && p.Lang != "" {
		q.Set("lang", p.Lang)
	}
	if accountToken != "" {
		q.Set("account_token", accountToken)
	}
	return c.oauth + "/oauth2/authorize?" + q.Encode(), nil
}

// CredentialParams are the authorise parameters that bind a credential authorisation to
// exactly these hashes: credentialID, numSignatures, hash (base64url, comma-separated, as
// CSC v1 wants in a URL) and the description shown to the signer, made acceptable to the
// provider by the profile (a *TextError when it cannot be).
func (c *Client) CredentialParams(credentialID string, hashes [][]byte, description string) (url.Values, error) {
	if credentialID == "" {
		return nil, errors.New("csc: no credential id")
	}
	if err := c.checkHashes(hashes); err != nil {
		return nil, err
	}
	enc := make([]string, len(hashes))
	for i, h := range hashes {
		enc[i] = base64.RawURLEncoding.EncodeToString(h)
	}
	q := url.Values{}
	q.Set("credentialID", credentialID)
	q.Set("numSignatures", strconv.Itoa(len(hashes)))
	q.Set("hash", strings.Join(enc, ","))
	if f := c.cfg.Profile.Description; f != nil {
		var err error
		if description, err = f(description); err != nil {
			return nil, err
		}
	}
	if description != "" {
		q.Set("description", description)
	}
	return q, nil
}

func (c *Client) checkHashes(hashes [][]byte) error {
	if len(hashes) == 0 {
		return errors.New("csc: no hash to sign")
	}
	if max := c.cfg.Profile.maxHashes(); len(hashes) > max {
		return fmt.Errorf("%w: %d given, %s allows %d", ErrTooManyHashes, len(hashes), c.cfg.Profile.Method, max)
	}
	for i, h := range hashes {
		if len(h) < 20 || len(h) > 64 {
			return fmt.Errorf("csc: hash %d has %d bytes; a SHA-1 to SHA-512 digest is 20 to 64", i, len(h))
		}
	}
	return nil
}
