// Package client speaks the relay protocol from Go: the native `relay sign --relay` command
// and the tests use it, as the browser package does from JavaScript. It reconnects and
// resumes the session when the socket drops, and re-sends a pending request with the same
// digest, which the relay answers from its store without asking the signer again.
package client

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/veilsign/veilsign/relay/protocol"
)

// Client is one session with a relay.
type Client struct {
	URL   string // ws://host:port/v1/sign
	Token string
	// Header is sent with the upgrade request (an Origin, for instance).
	Header http.Header
	// OnStatus receives progress (awaiting approval with a URL to open, otp-sent…).
	OnStatus func(protocol.Status)
	// OTP is asked for the code when the relay sent one (TAN).
	OTP func(ctx context.Context) (string, error)
	// Retries bounds reconnections per call (default 8). Attempts back off from 100 ms,
	// doubling up to 2 s, so the default waits about 10 s in all: enough for a relay to be
	// restarted (or replaced behind its load balancer) while a signer is approving.
	Retries int
	// Trace, if set, sees every message the relay sends, before the client handles it
	// (logging; tests that count deliveries).
	Trace func(msg any)

	ws      *websocket.Conn
	session string
	methods []string
}

// Error is an error the relay sent.
type Error = protocol.Error

// Dial opens the session.
func (c *Client) Dial(ctx context.Context) error {
	if c.Retries == 0 {
		c.Retries = 8
	}
	return c.connect(ctx)
}

// Session is the relay's session id.
func (c *Client) Session() string { return c.session }

// Methods are the signing methods the session may use.
func (c *Client) Methods() []string { return c.methods }

func (c *Client) connect(ctx context.Context) error {
	ws, _, err := websocket.Dial(ctx, c.URL, &websocket.DialOptions{HTTPHeader: c.Header})
	if err != nil {
		return err
	}
	ws.SetReadLimit(protocol.MaxServerFrame)
	c.ws = ws
	if err := c.write(ctx, &protocol.Hello{Token: c.Token, Resume: c.session}); err != nil {
		return err
	}
	msg, err := c.read(ctx)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *protocol.Welcome:
		c.session, c.methods = m.Session, m.Methods
		return nil
	case *protocol.Error:
		return m
	}
	return fmt.Errorf("client: unexpected %T before welcome", msg)
}

// Close ends the connection (the session stays on the relay until it expires).
func (c *Client) Close() error {
	if c.ws == nil {
		return nil
	}
	return c.ws.Close(websocket.StatusNormalClosure, "")
}

// Drop closes the socket abruptly, as a network failure would (for tests).
func (c *Client) Drop() { c.ws.CloseNow() }

func (c *Client) write(ctx context.Context, msg any) error {
	b, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Client) read(ctx context.Context) (any, error) {
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := protocol.DecodeServer(b)
	if err == nil && c.Trace != nil {
		c.Trace(msg)
	}
	return msg, err
}

// Identify asks for the signer's certificate chain.
func (c *Client) Identify(ctx context.Context, method string, s protocol.Signer) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	err := c.exchange(ctx, &protocol.Identify{Method: method, Signer: s}, func(msg any) (bool, error) {
		m, ok := msg.(*protocol.Certificate)
		if !ok {
			return false, nil
		}
		for _, b64 := range m.Chain {
			der, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return true, err
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return true, err
			}
			chain = append(chain, cert)
		}
		return true, nil
	}, false)
	return chain, err
}

// Sign asks for the CMS over digest and acknowledges it once received.
func (c *Client) Sign(ctx context.Context, digest []byte, hashAlg, label, level string) (cms []byte, gotLevel string, err error) {
	d64 := base64.StdEncoding.EncodeToString(digest)
	err = c.exchange(ctx, &protocol.Sign{Digest: d64, HashAlgorithm: hashAlg, Label: label, Level: level}, func(msg any) (bool, error) {
		m, ok := msg.(*protocol.Signature)
		if !ok || m.Digest != d64 {
			return false, nil
		}
		der, err := base64.StdEncoding.DecodeString(m.CMS)
		if err != nil {
			return true, err
		}
		cms, gotLevel = der, m.Level
		return true, nil
	}, true)
	if err != nil {
		return nil, "", err
	}
	return cms, gotLevel, c.write(ctx, &protocol.Ack{Digest: d64})
}

// exchange sends req and reads until done says the answer arrived. On a dropped socket it
// reconnects with resume and, when resend is set, sends req again (same digest: the relay
// answers from its store).
func (c *Client) exchange(ctx context.Context, req any, done func(any) (bool, error), resend bool) error {
	if err := c.write(ctx, req); err != nil {
		if err := c.reconnect(ctx); err != nil {
			return err
		}
		if err := c.write(ctx, req); err != nil {
			return err
		}
	}
	for {
		msg, err := c.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rerr := c.reconnect(ctx); rerr != nil {
				return fmt.Errorf("client: connection lost (%v) and not resumed: %w", err, rerr)
			}
			if resend {
				if err := c.write(ctx, req); err != nil {
					return err
				}
			}
			continue
		}
		switch m := msg.(type) {
		case *protocol.Status:
			if c.OnStatus != nil {
				c.OnStatus(*m)
			}
			if m.State == protocol.StateOTPSent && c.OTP != nil {
				code, err := c.OTP(ctx)
				if err != nil {
					return err
				}
				if err := c.write(ctx, &protocol.OTP{Code: code}); err != nil {
					return err
				}
			}
			continue
		case *protocol.Error:
			return m
		}
		if ok, err := done(msg); ok || err != nil {
			return err
		}
	}
}

func (c *Client) reconnect(ctx context.Context) error {
	var err error
	for i := 0; i < c.Retries; i++ {
		if err = c.connect(ctx); err == nil {
			return nil
		}
		var pe *protocol.Error
		if errors.As(err, &pe) && !pe.Retryable {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff(i)):
		}
	}
	return err
}

// backoff is the wait after the i-th failed reconnection: 100 ms doubling, at most 2 s.
func backoff(i int) time.Duration {
	d := 100 * time.Millisecond << min(i, 5)
	return min(d, 2*time.Second)
}

// ValidationData asks the relay for the revocation data of chain (leaf first): DER OCSP
// responses, CRLs and certificates for the document's DSS (PAdES B-LT). A chain that does
// not lead to a root the relay trusts is refused with a *protocol.Error whose Code is
// protocol.CodeUntrustedChain.
func (c *Client) ValidationData(ctx context.Context, chain []*x509.Certificate) (ocsps, crls, certs [][]byte, err error) {
	req := &protocol.ValidationData{}
	for _, cert := range chain {
		req.Chain = append(req.Chain, base64.StdEncoding.EncodeToString(cert.Raw))
	}
	err = c.exchange(ctx, req, func(msg any) (bool, error) {
		m, ok := msg.(*protocol.ValidationDataResult)
		if !ok {
			return false, nil
		}
		var derr error
		dec := func(in []string) [][]byte {
			out := make([][]byte, 0, len(in))
			for _, s := range in {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					derr = fmt.Errorf("client: validation-data-result holds bad base64: %w", err)
				}
				out = append(out, b)
			}
			return out
		}
		ocsps, crls, certs = dec(m.OCSP), dec(m.CRL), dec(m.Certs)
		return true, derr
	}, true)
	return ocsps, crls, certs, err
}

// Timestamp asks the relay's TSA for an RFC 3161 token over digest (a document
// time-stamp's, PAdES B-LTA). The token is checked by pdfcore.Embed, not here.
func (c *Client) Timestamp(ctx context.Context, digest []byte, hashAlg string) ([]byte, error) {
	d64 := base64.StdEncoding.EncodeToString(digest)
	var tok []byte
	err := c.exchange(ctx, &protocol.Timestamp{Digest: d64, HashAlgorithm: hashAlg}, func(msg any) (bool, error) {
		m, ok := msg.(*protocol.TimestampToken)
		if !ok || m.Digest != d64 {
			return false, nil
		}
		var err error
		tok, err = base64.StdEncoding.DecodeString(m.Token)
		return true, err
	}, true)
	return tok, err
}
