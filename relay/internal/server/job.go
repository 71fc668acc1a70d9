package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/protocol"
)

var hashes = map[string]crypto.Hash{"sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}

// identify asks the method's backend for the signer's certificate chain.
func (s *Server) identify(c *conn, m *protocol.Identify) {
	b, ok := s.backends[m.Method]
	if !ok || !c.claims.Allows(m.Method) {
		c.fail(protocol.Errorf(protocol.CodeMethodNotOffered, false, "The method %q is not offered to this session.", m.Method))
		return
	}
	l := c.live
	gen, ok := l.begin()
	if !ok {
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, true, "Another request of this session is still running."))
		return
	}
	signer := backend.Signer{ID: c.claims.SignerID(), Name: m.Signer.Name, Email: m.Signer.Email, Capacity: m.Signer.Capacity, Phone: m.Signer.Phone}
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		ctx, cancel := context.WithTimeout(s.baseCtx, s.cfg.ApprovalTimeout)
		defer cancel()
		// The session is free again before the answer goes out, so a client may send its
		// next request (sign) as soon as it has the certificate.
		reply := s.certificate(ctx, l, b, signer, m.Method)
		l.end(gen)
		l.send(reply)
	}()
}

// certificate gets the chain from the backend and stores it in the session; it returns the
// message for the client.
func (s *Server) certificate(ctx context.Context, l *live, b backend.Backend, signer backend.Signer, method string) any {
	chain, cred, err := b.Certificate(ctx, signer, l)
	if err != nil {
		return s.backendError(err)
	}
	sess, err := s.cfg.Store.Session(ctx, l.id)
	if err != nil {
		return protocol.Errorf(protocol.CodeUnknownSession, false, "The session has expired.")
	}
	sess.Method, sess.Credential, sess.Chain = method, cred, nil
	sess.Signer = store.Identity{Name: signer.Name, Email: signer.Email, Capacity: signer.Capacity, Phone: signer.Phone}
	out := make([]string, len(chain))
	for i, cert := range chain {
		sess.Chain = append(sess.Chain, cert.Raw)
		out[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	if err := s.cfg.Store.UpdateSession(ctx, sess); err != nil {
		s.storeFailed(err)
		return protocol.Errorf(protocol.CodeUnavailable, true, "The relay could not store the session.")
	}
	l.setSession(sess, chain)
	return &protocol.Certificate{Chain: out}
}

// sign finds or starts the job for the digest: a digest already signed is answered from
// the store, one in progress is left to finish, a new one runs detached from the socket.
func (s *Server) sign(c *conn, m *protocol.Sign) {
	ctx := context.Background()
	sess := c.live.cachedSession(s.cfg.Now())
	if sess == nil {
		var err error
		if sess, err = s.cfg.Store.Session(ctx, c.live.id); err != nil {
			c.fail(protocol.Errorf(protocol.CodeUnknownSession, false, "The session has expired."))
			return
		}
		c.live.setSession(sess, nil)
	}
	if len(sess.Chain) == 0 {
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, false, "Send identify before sign: the signature needs the signer's certificate."))
		return
	}
	digest, _ := base64.StdEncoding.DecodeString(m.Digest)
	if held := s.held.lookup(sess.ID, digest); held != nil && held.State == store.JobDone {
		// Signed, but the store did not take it yet: the CMS is here, in memory.
		c.deliver(held)
		return
	}
	level := m.Level
	if level == "" {
		level = "B-T"
	}
	job := &store.Job{SessionID: sess.ID, Digest: digest, HashAlg: m.HashAlgorithm, Label: m.Label, Level: level,
		State: store.JobPending, Created: s.cfg.Now(), Updated: s.cfg.Now()}
	stored, created, err := s.cfg.Store.StartJob(ctx, job, sess.MaxSigns)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.live.setSession(nil, nil)
		c.fail(protocol.Errorf(protocol.CodeUnknownSession, false, "The session has expired."))
		return
	case errors.Is(err, store.ErrLimit):
		c.fail(protocol.Errorf(protocol.CodeLimitReached, false, "This session may make at most %d signatures.", sess.MaxSigns))
		return
	case err != nil:
		s.storeFailed(err)
		c.fail(protocol.Errorf(protocol.CodeUnavailable, true, "The relay cannot store the request; try again later."))
		return
	}
	if held := s.held.lookup(sess.ID, digest); held != nil && !created {
		// Signed but not timestamped, and the store did not take even that: the run
		// below asks the TSA only.
		stored = held
	}
	if !created {
		switch stored.State {
		case store.JobDone, store.JobFailed:
			// A retry after a dropped socket gets the same CMS, no new signature. A failed
			// digest stays failed: the page prepares again, which gives a new digest.
			c.deliver(stored)
			return
		}
		if st := c.live.resumedStatus(digest); st != nil {
			c.send(st) // an approval given across a restart is being completed here
			return
		}
		if stored.State == store.JobPending {
			if c.live.isBusy() {
				if st := c.live.lastStatus(); st != nil {
					c.send(st)
				}
				return
			}
			// Pending with nobody here working on it: the relay restarted. If the request
			// is still on the signer's phone, asking again would make them approve twice;
			// their approval will complete this job wherever it arrives.
			waiting, err := s.outstanding(ctx, sess.Method, jobKey(sess.ID, digest))
			if err != nil {
				s.log.Error("check outstanding request", "session", sess.ID, "err", err)
				c.fail(protocol.Errorf(protocol.CodeUnavailable, true, "The relay cannot read its store right now; try again later."))
				return
			}
			if waiting {
				c.send(awaitingElsewhere())
				return
			}
			// Otherwise run it again: nothing was approved, or the approval is gone.
		}
	}
	// A signature starts only with room to hold its result should the store not take it.
	slot := s.held.acquire(jobKey(sess.ID, digest))
	if slot == nil {
		s.log.Warn("sign request refused: the bound on running and held signatures is reached", "session", sess.ID, "held", s.held.count())
		c.fail(protocol.Errorf(protocol.CodeUnavailable, true, "The relay is holding signatures its store has not taken yet; try again later."))
		return
	}
	gen, ok := c.live.begin()
	if !ok {
		slot.free()
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, true, "Another request of this session is still running."))
		return
	}
	if !created {
		// The job was read before this session was ours: a run that ended meanwhile may
		// have finished it, in the store or in memory. Look again now that no other run
		// of this session can.
		// Memory first: a held result leaves it only after the store has it.
		cur := s.held.lookup(sess.ID, digest)
		var err error
		if cur == nil {
			cur, err = s.cfg.Store.Job(ctx, sess.ID, digest)
		}
		if err == nil {
			if cur.State == store.JobDone || cur.State == store.JobFailed {
				slot.free()
				c.live.end(gen)
				c.deliver(cur)
				return
			}
			stored = cur
		}
	}
	s.jobsWG.Add(1)
	go s.runJob(c.live, gen, sess, stored, slot)
}

// awaitingElsewhere is the status of a job whose request a previous relay process sent to
// the signer: no URL, since the signer's browser already has the page open.
func awaitingElsewhere() *protocol.Status {
	return &protocol.Status{State: protocol.StateAwaitingApproval,
		Message: "The request is waiting for the signer's approval in their app; the signature follows once they approve."}
}

// outstanding asks the method's backend whether job has a request still waiting on the
// signer that a later approval completes.
func (s *Server) outstanding(ctx context.Context, method, job string) (bool, error) {
	r, ok := s.backends[method].(backend.Resumable)
	if !ok {
		return false, nil
	}
	return r.Outstanding(ctx, job)
}

// jobKey is backend.Request.Job: the session and the digest, which key a job in the store.
// Session ids are base64url, so the dot cannot occur in them.
func jobKey(session string, digest []byte) string {
	return session + "." + base64.RawURLEncoding.EncodeToString(digest)
}

func parseJobKey(key string) (session string, digest []byte, ok bool) {
	session, d, ok := strings.Cut(key, ".")
	if !ok || session == "" {
		return "", nil, false
	}
	digest, err := base64.RawURLEncoding.DecodeString(d)
	return session, digest, err == nil && len(digest) > 0
}

// runJob makes the signature: signed attributes, the backend's raw signature, the CMS,
// then the timestamp. Each step's result is stored before the next, so nothing the signer
// approved is lost to a failure after it.
func (s *Server) runJob(l *live, gen uint64, sess *store.Session, job *store.Job, slot *heldSlot) {
	defer s.jobsWG.Done()
	defer l.end(gen)
	defer slot.free()
	start := time.Now()
	ctx, cancel := context.WithTimeout(s.baseCtx, s.cfg.ApprovalTimeout+time.Minute)
	defer cancel()
	h := hashes[job.HashAlg]
	if job.State != store.JobSigned {
		// The signer has ApprovalTimeout to approve; the minute beyond it is for storing
		// the outcome and the timestamp, so a timeout is still stored and reported.
		sctx, scancel := context.WithTimeout(ctx, s.cfg.ApprovalTimeout)
		der, err := s.signature(sctx, l, sess, job, h)
		scancel()
		if err != nil {
			if errors.Is(err, context.Canceled) && s.baseCtx.Err() != nil {
				// The relay is stopping before the signer answered: the job stays pending
				// and a resumable backend has kept the request, so the next process
				// completes it when the approval arrives instead of asking again.
				s.log.Info("signature left pending at shutdown", "session", sess.ID)
				return
			}
			s.failJob(ctx, l, job, err, func() { l.end(gen) })
			return
		}
		job.CMS = der
		s.storeSigned(ctx, job, slot)
	}
	s.finish(ctx, l, sess, job, h, start, slot, func(state, message string) { l.Status(state, "", message) }, func() { l.end(gen) })
}

// storeSigned keeps a CMS whose timestamp is still to come, so that a TSA failure costs a
// retry of the timestamp only, never a second approval. A job with no step after the
// signer's is stored once, done, by finish: the extra commit would protect nothing. When
// the store does not take it, the signed job is held in slot (held.go), so that a TSA
// failure still costs a retry of the timestamp only.
func (s *Server) storeSigned(ctx context.Context, job *store.Job, slot *heldSlot) {
	if job.Level != "B-T" {
		return
	}
	job.State, job.Updated = store.JobSigned, s.cfg.Now()
	if err := s.cfg.Store.FinishJob(ctx, job); err != nil {
		s.storeFailed(err)
		s.hold(slot, job, nil, err)
	}
}

// finish timestamps a signed job (B-T), stores it done, books it and sends the CMS. When
// the store does not take it, the result and its booking are held in slot (held.go) until
// it does. release frees the session (if this job held it) before anything is sent: a
// client that answers at once must not be told a request is still running.
func (s *Server) finish(ctx context.Context, l *live, sess *store.Session, job *store.Job, h crypto.Hash, start time.Time, slot *heldSlot, status func(state, message string), release func()) {
	if job.Level == "B-T" {
		status(protocol.StateTimestamping, "Adding the timestamp")
		der, err := s.timestamp(ctx, job.CMS, h)
		if err != nil {
			s.metrics.errors.inc(protocol.CodeTSAUnavailable)
			// The signature stays stored (or held, held.go) as signed: asking again
			// retries the TSA only.
			release()
			l.send(protocol.Errorf(protocol.CodeTSAUnavailable, true, "No timestamp authority answered; send the same request again to retry the timestamp only."))
			s.log.Warn("timestamp failed", "session", sess.ID, "err", err)
			return
		}
		job.CMS = der
	}
	job.State, job.Updated = store.JobDone, s.cfg.Now()
	// The outcome, its audit record and its credits are one commit: a signature is never
	// stored without its booking, nor booked twice.
	// A result the store did not take is held before the session is released, so that
	// a request that follows finds it.
	b := s.booking(l, sess, job)
	if err := s.cfg.Store.CompleteJob(ctx, job, b); err != nil {
		s.storeFailed(err)
		s.hold(slot, job, b, err)
	} else {
		s.held.stored(jobKey(job.SessionID, job.Digest)) // a signed job held before
	}
	s.metrics.signatures.inc(sess.Method)
	s.metrics.latency.observe(sess.Method, time.Since(start))
	release()
	l.send(&protocol.Signature{Digest: base64.StdEncoding.EncodeToString(job.Digest), CMS: base64.StdEncoding.EncodeToString(job.CMS), Level: job.Level})
}

// resumeTimeout bounds the completion of an approval that arrived after a restart: the
// token exchange and signHash, then the timestamp.
const resumeTimeout = 2 * time.Minute

// resumed is the handler of a Resumable backend: an approval arrived for a job that a
// previous process of the relay asked for. It completes the job as runJob would have —
// exactly once, since the backend hands each approval over once — and delivers the CMS
// to the session's connection if there is one, or on resume.
func (s *Server) resumed(method, key string, complete backend.Completion) {
	sessionID, digest, ok := parseJobKey(key)
	if !ok {
		s.log.Error("resumed approval for a malformed job key")
		return
	}
	if s.held.lookup(sessionID, digest) != nil {
		s.log.Warn("resumed approval for a job whose signature is held", "session", sessionID)
		return
	}
	l := s.hub.holdResumed(sessionID, digest)
	// An approval already given is completed even beyond the bound (it cannot be asked
	// for later); without a slot, a failed final write loses its result (hold logs it).
	slot := s.held.acquire(key)
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		defer s.hub.doneResumed(l, digest)
		defer slot.free()
		start := time.Now()
		ctx, cancel := context.WithTimeout(s.baseCtx, resumeTimeout)
		defer cancel()
		sess, err := s.cfg.Store.Session(ctx, sessionID)
		if err != nil {
			s.log.Warn("resumed approval for a session that is gone", "session", sessionID, "err", err)
			return
		}
		job, err := s.cfg.Store.Job(ctx, sessionID, digest)
		if err != nil || job.State != store.JobPending || sess.Method != method || len(sess.Chain) == 0 {
			// Nothing to complete (the job ended otherwise): do not sign, and do not
			// spend the signer's approval on a signature nobody would receive.
			s.log.Warn("resumed approval for a job that is not pending", "session", sessionID, "err", err)
			return
		}
		progress := l.resumedProgress(digest)
		progress(protocol.StateSigning, "")
		s.log.Info("completing a signature approved across a restart", "session", sessionID, "method", method)
		h := hashes[job.HashAlg]
		der, err := s.assemble(ctx, sess, job, h, complete)
		if err != nil {
			s.failJob(ctx, l, job, err, func() {})
			return
		}
		job.CMS = der
		s.storeSigned(ctx, job, slot)
		s.finish(ctx, l, sess, job, h, start, slot, progress, func() {})
	}()
}

// assemble gets the raw signature from complete and builds the CMS around it. The signed
// attributes are deterministic (digest, hash, leaf), so they are made again exactly as the
// process that asked for the signature made them; Assemble checks the signature over them.
func (s *Server) assemble(ctx context.Context, sess *store.Session, job *store.Job, h crypto.Hash, complete backend.Completion) ([]byte, error) {
	chain, err := parseChain(sess.Chain)
	if err != nil {
		return nil, err
	}
	attrs, err := cms.SignedAttributes(job.Digest, h, chain[0])
	if err != nil {
		return nil, err
	}
	res, err := complete(ctx)
	if err != nil {
		return nil, err
	}
	return cms.Assemble(attrs, h, res.Algorithm, res.Signature, chain)
}

func parseChain(raw [][]byte) ([]*x509.Certificate, error) {
	if len(raw) == 0 {
		return nil, errors.New("the session has no certificate")
	}
	chain := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	return chain, nil
}

func (s *Server) signature(ctx context.Context, l *live, sess *store.Session, job *store.Job, h crypto.Hash) ([]byte, error) {
	chain, err := l.chainFor(sess)
	if err != nil {
		return nil, err
	}
	attrs, err := cms.SignedAttributes(job.Digest, h, chain[0])
	if err != nil {
		return nil, err
	}
	tbs, err := cms.ToBeSigned(attrs, h)
	if err != nil {
		return nil, err
	}
	b := s.backends[sess.Method]
	if b == nil {
		return nil, backend.ErrUnavailable
	}
	// Who identified comes from the store, so a session resumed after a restart (or on
	// another relay) signs without identifying again: the TAN code goes to the same phone.
	who := sess.Signer
	signer := backend.Signer{ID: sess.SignerID, Name: who.Name, Email: who.Email, Capacity: who.Capacity, Phone: who.Phone}
	res, err := b.Sign(ctx, backend.Request{Signer: signer, Chain: chain, Hash: tbs, HashAlg: h, Label: job.Label,
		Credential: sess.Credential, Job: jobKey(sess.ID, job.Digest)}, l)
	if err != nil {
		return nil, err
	}
	return cms.Assemble(attrs, h, res.Algorithm, res.Signature, chain)
}

func (s *Server) timestamp(ctx context.Context, der []byte, h crypto.Hash) ([]byte, error) {
	if s.cfg.TSA == nil {
		return nil, errors.New("no TSA is configured")
	}
	imprint, err := cms.TimestampImprint(der, h)
	if err != nil {
		return nil, err
	}
	tok, _, err := s.cfg.TSA.Timestamp(ctx, imprint, h)
	if err != nil {
		return nil, err
	}
	return cms.AddTimestamp(der, tok)
}

func (s *Server) failJob(ctx context.Context, l *live, job *store.Job, err error, release func()) {
	e := s.backendError(err)
	job.State, job.ErrCode, job.ErrMsg, job.Updated = store.JobFailed, e.Code, e.Message, s.cfg.Now()
	if serr := s.cfg.Store.FinishJob(ctx, job); serr != nil {
		s.storeFailed(serr)
		s.log.Error("store failed job", "err", serr)
	}
	s.metrics.errors.inc(e.Code)
	s.log.Info("signature failed", "session", job.SessionID, "code", e.Code, "err", err)
	release()
	l.send(e)
}

// backendError maps a backend failure to a protocol error.
func (s *Server) backendError(err error) *protocol.Error {
	switch {
	case errors.Is(err, backend.ErrWrongOTP):
		return protocol.Errorf(protocol.CodeWrongOTP, true, "The code is not the one sent.")
	case errors.Is(err, backend.ErrOTPExpired):
		return protocol.Errorf(protocol.CodeOTPExpired, true, "The code has expired; ask for a new one.")
	case errors.Is(err, backend.ErrRefused):
		return protocol.Errorf(protocol.CodeSignerRefused, true, "The signer declined: %v.", err)
	case errors.Is(err, backend.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return protocol.Errorf(protocol.CodeSignerTimeout, true, "The signer did not approve in time.")
	case errors.Is(err, backend.ErrUnavailable):
		return protocol.Errorf(protocol.CodeSignerFailed, true, "The signing service is unavailable; try again later.")
	}
	return protocol.Errorf(protocol.CodeSignerFailed, true, "The signature could not be made.")
}

// booking is the audit record and the price of a signature.
func (s *Server) booking(l *live, sess *store.Session, job *store.Job) *store.Booking {
	serial := ""
	if chain, err := l.chainFor(sess); err == nil {
		serial = strings.ToUpper(hex.EncodeToString(chain[0].SerialNumber.Bytes()))
	}
	price, priced := s.cfg.Prices[sess.Method]
	return &store.Booking{Audit: store.Audit{Time: s.cfg.Now(), SessionID: sess.ID, SignerID: sess.SignerID, Method: sess.Method,
		Digest: job.Digest, CertSerial: serial, Outcome: "signed"}, Credits: price, Priced: priced}
}

// serveCredits answers GET /v1/creditsinfo?signer=… in OKSign's shape, for a bearer token
// whose subject is that signer.
func (s *Server) serveCredits(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims, err := s.cfg.Tokens.Verify(raw)
	signer := r.URL.Query().Get("signer")
	if err != nil || signer == "" || claims.SignerID() != signer {
		http.Error(w, "a valid token for this signer is required", http.StatusUnauthorized)
		return
	}
	credits, err := s.cfg.Store.Credits(r.Context(), signer)
	if err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if credits == nil {
		credits = []store.Credit{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(credits)
}
