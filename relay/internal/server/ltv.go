package server

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/veilsign/veilsign/relay/internal/validation"
	"github.com/veilsign/veilsign/relay/protocol"
)

// ltvTimeout bounds one validation-data or timestamp request.
const ltvTimeout = 30 * time.Second

// validationData answers validation-data: the relay fetches OCSP responses and CRLs for a
// chain that leads to a root it trusts. It runs beside the session's signing work (it
// reveals certificates, never a document), one request per connection at a time.
func (s *Server) validationData(c *conn, m *protocol.ValidationData) {
	if s.cfg.Validation == nil {
		c.fail(protocol.Errorf(protocol.CodeUnavailable, false, "This relay does not fetch validation data."))
		return
	}
	if !s.limits.allowFetch(c.tokKey) {
		c.fail(protocol.Errorf(protocol.CodeRateLimited, true, "Too many validation-data or timestamp requests; slow down."))
		return
	}
	chain := make([]*x509.Certificate, 0, len(m.Chain))
	for _, b64 := range m.Chain {
		der, _ := base64.StdEncoding.DecodeString(b64) // checked by the decoder
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			c.fail(protocol.Errorf(protocol.CodeBadRequest, false, "The chain holds something that is not a certificate."))
			return
		}
		chain = append(chain, cert)
	}
	if !c.beginFetch() {
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, true, "Another validation-data or timestamp request of this connection is still running."))
		return
	}
	s.fetchJob(c, func(ctx context.Context) any {
		res, err := s.cfg.Validation.Fetch(ctx, chain)
		switch {
		case errors.Is(err, validation.ErrUntrusted):
			s.log.Info("validation data refused", "session", c.live.id, "err", err)
			return protocol.Errorf(protocol.CodeUntrustedChain, false, "This relay fetches validation data only for chains to the roots it trusts: %v.", err)
		case err != nil:
			s.log.Warn("validation data unavailable", "session", c.live.id, "err", err)
			return protocol.Errorf(protocol.CodeValidationUnavailable, true, "No OCSP responder or CRL distribution point answered; try again later.")
		}
		if len(res.Problems) > 0 {
			s.log.Info("validation data incomplete", "session", c.live.id, "problems", res.Problems)
		}
		if out := resultMessage(res); out != nil {
			return out
		}
		return protocol.Errorf(protocol.CodeValidationUnavailable, false, "The validation data of this chain does not fit in one message.")
	})
}

// fetchJob runs work (which calls out: OCSP, CRL, TSA) beside the connection's reads and
// sends its answer once the connection may start another.
func (s *Server) fetchJob(c *conn, work func(ctx context.Context) any) {
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		ctx, cancel := context.WithTimeout(s.baseCtx, ltvTimeout)
		defer cancel()
		reply := work(ctx)
		c.endFetch()
		if e, ok := reply.(*protocol.Error); ok {
			c.fail(e)
			return
		}
		c.send(reply)
	}()
}

// resultMessage encodes res, dropping CRLs that OCSP responses make redundant when the
// whole does not fit in a relay frame; nil when it still does not.
func resultMessage(res *validation.Result) *protocol.ValidationDataResult {
	enc := func(items [][]byte, keep func(int) bool) []string {
		out := []string{}
		for i, b := range items {
			if keep == nil || keep(i) {
				out = append(out, base64.StdEncoding.EncodeToString(b))
			}
		}
		return out
	}
	msg := &protocol.ValidationDataResult{OCSP: enc(res.OCSPs, nil), CRL: enc(res.CRLs, nil), Certs: enc(res.Certs, nil)}
	fits := func() bool {
		b, err := json.Marshal(msg)
		return err == nil && len(b) <= protocol.MaxServerFrame
	}
	if fits() {
		return msg
	}
	msg.CRL = enc(res.CRLs, func(i int) bool { return i >= len(res.CRLRedundant) || !res.CRLRedundant[i] })
	if fits() {
		return msg
	}
	return nil
}

// docTimestamp answers timestamp: a token from the relay's TSA over a document time-stamp's
// digest (B-LTA).
func (s *Server) docTimestamp(c *conn, m *protocol.Timestamp) {
	if s.cfg.TSA == nil {
		c.fail(protocol.Errorf(protocol.CodeTSAUnavailable, false, "This relay has no timestamp authority."))
		return
	}
	if !s.limits.allowFetch(c.tokKey) {
		c.fail(protocol.Errorf(protocol.CodeRateLimited, true, "Too many validation-data or timestamp requests; slow down."))
		return
	}
	digest, _ := base64.StdEncoding.DecodeString(m.Digest) // length checked by the decoder
	h := hashes[m.HashAlgorithm]
	if !c.beginFetch() {
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, true, "Another validation-data or timestamp request of this connection is still running."))
		return
	}
	s.fetchJob(c, func(ctx context.Context) any {
		tok, _, err := s.cfg.TSA.Timestamp(ctx, digest, h)
		if err != nil {
			s.log.Warn("document timestamp failed", "session", c.live.id, "err", err)
			return protocol.Errorf(protocol.CodeTSAUnavailable, true, "No timestamp authority answered; try again.")
		}
		return &protocol.TimestampToken{Digest: m.Digest, Token: base64.StdEncoding.EncodeToString(tok)}
	})
}
