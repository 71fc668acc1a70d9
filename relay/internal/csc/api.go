package csc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Info is the answer of /info.
type Info struct {
	Specs       string   `json:"specs"`
	Name        string   `json:"name"`
	Logo        string   `json:"logo"`
	Region      string   `json:"region"`
	Lang        string   `json:"lang"`
	Description string   `json:"description"`
	AuthType    []string `json:"authType"`
	OAuth2      string   `json:"oauth2"`
	Methods     []string `json:"methods"`
}

// Info describes the service.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := c.call(ctx, "info", "", c.langBody(map[string]any{}), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) langBody(m map[string]any) map[string]any {
	if p := c.cfg.Profile; p.SendLang && p.Lang != "" {
		m["lang"] = p.Lang
	}
	return m
}

// Token is an access token (scope service) or a SAD (scope credential).
type Token struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int       `json:"expires_in"`
	Expiry      time.Time `json:"-"`
}

// Token exchanges an authorisation code for a token (oauth2/token, grant
// authorization_code). The body is JSON unless the profile asks for a form.
func (c *Client) Token(ctx context.Context, code string) (*Token, error) {
	if code == "" {
		return nil, errors.New("csc: no authorisation code")
	}
	fields := map[string]string{
		"grant_type": "authorization_code", "code": code, "client_id": c.cfg.ClientID,
		"client_secret": c.cfg.ClientSecret, "redirect_uri": c.cfg.RedirectURI,
	}
	var payload []byte
	contentType := "application/json"
	if c.cfg.Profile.TokenForm {
		q := url.Values{}
		for k, v := range fields {
			q.Set(k, v)
		}
		payload, contentType = []byte(q.Encode()), "application/x-www-form-urlencoded"
	} else {
		payload, _ = json.Marshal(fields)
	}
	issued := c.cfg.Now()
	var t Token
	if err := c.post(ctx, "oauth2/token", c.oauth+"/oauth2/token", "", contentType, payload, &t); err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: oauth2/token returned no access_token", ErrProtocol)
	}
	life := time.Duration(t.ExpiresIn) * time.Second
	if t.ExpiresIn <= 0 {
		life = c.cfg.Profile.tokenLifetime()
	}
	t.Expiry = issued.Add(life) // from before the call, so the relay never trusts a token longer than the service does
	return &t, nil
}

// CredentialsList returns the user's credential ids (itsme: exactly one). maxResults is
// 1–300; 0 asks for 10.
func (c *Client) CredentialsList(ctx context.Context, accessToken string, maxResults int) ([]string, error) {
	if maxResults <= 0 {
		maxResults = 10
	}
	var out struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	if err := c.call(ctx, "credentials/list", accessToken, map[string]any{"maxResults": min(maxResults, 300)}, &out); err != nil {
		return nil, err
	}
	return out.CredentialIDs, nil
}

// CredentialInfo is the answer of credentials/info, with the chain parsed.
type CredentialInfo struct {
	Description string `json:"description"`
	Key         struct {
		Status string   `json:"status"`
		Algo   []string `json:"algo"`
		Len    int      `json:"len"`
		Curve  string   `json:"curve"`
	} `json:"key"`
	Cert struct {
		Status       string   `json:"status"`
		Certificates []string `json:"certificates"`
		IssuerDN     string   `json:"issuerDN"`
		SerialNumber string   `json:"serialNumber"`
		SubjectDN    string   `json:"subjectDN"`
		ValidFrom    string   `json:"validFrom"`
		ValidTo      string   `json:"validTo"`
	} `json:"cert"`
	AuthMode string `json:"authMode"`
	SCAL     string `json:"SCAL"`
	// MultiSign is CSC's "multisign" (a count) or itsme's "multiSign" (a boolean):
	// JSON field names match case-insensitively, and both forms are read.
	MultiSign multiSign `json:"multisign"`
	// Chain is Cert.Certificates parsed, leaf first.
	Chain []*x509.Certificate `json:"-"`
}

// CredentialsInfo asks for the credential's key and its whole certificate chain.
func (c *Client) CredentialsInfo(ctx context.Context, accessToken, credentialID string) (*CredentialInfo, error) {
	var out CredentialInfo
	body := c.langBody(map[string]any{"credentialID": credentialID, "certificates": "chain", "certInfo": true})
	if err := c.call(ctx, "credentials/info", accessToken, body, &out); err != nil {
		return nil, err
	}
	if len(out.Cert.Certificates) == 0 {
		return nil, fmt.Errorf("%w: credentials/info returned no certificate", ErrProtocol)
	}
	for i, b64 := range out.Cert.Certificates {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d is not base64: %v", ErrProtocol, i, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrProtocol, i, err)
		}
		out.Chain = append(out.Chain, cert)
	}
	if out.Key.Status != "" && out.Key.Status != "enabled" {
		return nil, fmt.Errorf("csc: the signing key is %s", out.Key.Status)
	}
	if out.Cert.Status != "" && out.Cert.Status != "valid" {
		return nil, fmt.Errorf("csc: the signing certificate is %s", out.Cert.Status)
	}
	return &out, nil
}

type multiSign bool

func (m *multiSign) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*m = multiSign(v)
	case float64:
		*m = v > 1
	case string:
		*m = v == "true"
	}
	return nil
}

// SignHash signs hashes with the credential, authorised by sad (the token of a credential
// dance for exactly these hashes). bearer authenticates the call: the service access token,
// or the SAD itself, which CSC v1 accepts as a credential-scope bearer. The hashes travel
// as standard base64 here (unlike the authorise URL); the answer is one raw signature per
// hash, in order.
func (c *Client) SignHash(ctx context.Context, bearer, credentialID, sad string, hashes [][]byte, signAlgo string) ([][]byte, error) {
	if err := c.checkHashes(hashes); err != nil {
		return nil, err
	}
	enc := make([]string, len(hashes))
	for i, h := range hashes {
		enc[i] = base64.StdEncoding.EncodeToString(h)
	}
	body := map[string]any{"credentialID": credentialID, "SAD": sad, "hash": enc, "signAlgo": signAlgo}
	var out struct {
		Signatures []string `json:"signatures"`
	}
	if err := c.call(ctx, "signatures/signHash", bearer, body, &out); err != nil {
		return nil, err
	}
	if len(out.Signatures) != len(hashes) {
		return nil, fmt.Errorf("%w: %d signatures for %d hashes", ErrProtocol, len(out.Signatures), len(hashes))
	}
	sigs := make([][]byte, len(hashes))
	for i, s := range out.Signatures {
		var err error
		if sigs[i], err = base64.StdEncoding.DecodeString(s); err != nil || len(sigs[i]) == 0 {
			return nil, fmt.Errorf("%w: signature %d is not base64", ErrProtocol, i)
		}
	}
	return sigs, nil
}

// Revoke ends a token (an access token or a SAD) before it expires.
func (c *Client) Revoke(ctx context.Context, bearer, token string) error {
	return c.call(ctx, "auth/revoke", bearer, map[string]any{"token": token, "token_type_hint": "access_token"}, nil)
}
