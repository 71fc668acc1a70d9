package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/protocol"
)

// readLimit is what the websocket layer accepts before closing the connection; frames
// between protocol.MaxFrame and this get a typed error and the connection stays open.
const readLimit = 64 << 10

const writeTimeout = 10 * time.Second

// conn is one websocket connection; a session may see several over its life.
type conn struct {
	s      *Server
	ws     *websocket.Conn
	ip     string
	wmu    sync.Mutex
	live   *live
	claims *token.Claims
	tokKey string
	// fetching is set while a validation-data or timestamp request runs.
	fetching atomic.Bool
}

func (c *conn) beginFetch() bool { return c.fetching.CompareAndSwap(false, true) }
func (c *conn) endFetch()        { c.fetching.Store(false) }

func (s *Server) serveSign(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if !s.limits.allowIP(ip) {
		s.metrics.errors.inc(protocol.CodeRateLimited)
		http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.Origins})
	if err != nil {
		s.metrics.errors.inc(protocol.CodeForbidden)
		return // Accept has answered (403 for a foreign origin)
	}
	ws.SetReadLimit(readLimit)
	c := &conn{s: s, ws: ws, ip: ip}
	s.metrics.connections.add(1)
	defer s.metrics.connections.add(-1)
	c.run(r.Context())
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *conn) run(ctx context.Context) {
	defer func() {
		if c.live != nil {
			c.live.detach(c)
		}
		c.ws.CloseNow()
	}()
	if !c.hello(ctx) {
		return
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, c.s.cfg.IdleTimeout)
		typ, frame, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			return // closed, idle too long, or a frame over readLimit
		}
		if !c.s.limits.allowToken(c.tokKey) {
			c.fail(protocol.Errorf(protocol.CodeRateLimited, true, "Too many messages; slow down."))
			continue
		}
		if typ != websocket.MessageText {
			c.fail(protocol.Errorf(protocol.CodeMalformed, false, "Frames are JSON text."))
			continue
		}
		msg, perr := protocol.Decode(frame)
		if perr != nil {
			c.fail(perr)
			continue
		}
		c.dispatch(msg)
	}
}

// hello reads the first frame, which must be a hello with a valid token, within
// HelloTimeout: a connection that does not say who it is is dropped.
func (c *conn) hello(ctx context.Context) bool {
	hctx, cancel := context.WithTimeout(ctx, c.s.cfg.HelloTimeout)
	defer cancel()
	_, frame, err := c.ws.Read(hctx)
	if err != nil {
		return false
	}
	msg, perr := protocol.Decode(frame)
	if perr != nil {
		c.fail(perr)
		c.ws.Close(websocket.StatusPolicyViolation, perr.Code)
		return false
	}
	h, ok := msg.(*protocol.Hello)
	if !ok {
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, false, "The first message must be hello."))
		c.ws.Close(websocket.StatusPolicyViolation, protocol.CodeOutOfOrder)
		return false
	}
	claims, err := c.s.cfg.Tokens.Verify(h.Token)
	if err != nil {
		msg := "The session token is not valid."
		if errors.Is(err, token.ErrExpired) {
			msg = "The session token has expired; ask the portal for a new one."
		}
		c.fail(protocol.Errorf(protocol.CodeUnauthorized, false, "%s", msg))
		c.ws.Close(websocket.StatusPolicyViolation, protocol.CodeUnauthorized)
		return false
	}
	c.claims = claims
	c.tokKey = tokenKey(h.Token)
	if !c.s.limits.allowToken(c.tokKey) {
		c.fail(protocol.Errorf(protocol.CodeRateLimited, true, "Too many connections for this session token."))
		return false
	}
	if h.Resume != "" {
		return c.resume(ctx, h.Resume)
	}
	return c.open(ctx)
}

// tokenKey identifies a token for rate limiting without keeping the token itself.
func tokenKey(tok string) string {
	return hex.EncodeToString([]byte(tok[max(0, len(tok)-32):]))
}

func (c *conn) open(ctx context.Context) bool {
	if !c.s.storeWritable(ctx) {
		// Refuse new work rather than accept what could not be kept; sessions already
		// open still resume and get what is stored for them.
		c.fail(protocol.Errorf(protocol.CodeUnavailable, true, "The relay cannot store sessions right now; try again later."))
		return false
	}
	id := newID()
	now := c.s.cfg.Now()
	sess := &store.Session{ID: id, SignerID: c.claims.SignerID(), Methods: c.claims.Methods,
		MaxSigns: c.claims.MaxSignatures, Created: now, Expires: c.claims.ExpiresAt.Time}
	if len(c.claims.Audience) > 0 {
		sess.Audience = c.claims.Audience[0]
	}
	if err := c.s.cfg.Store.CreateSession(ctx, sess); err != nil {
		c.s.storeFailed(err)
		c.s.log.Error("create session", "err", err)
		c.fail(protocol.Errorf(protocol.CodeUnavailable, true, "The relay cannot store sessions right now; try again later."))
		return false
	}
	c.s.metrics.sessions.inc("")
	c.live = c.s.hub.attach(id, c)
	c.live.setSession(sess, nil)
	c.send(&protocol.Welcome{Version: protocol.Version, Session: id, Methods: c.allowedMethods(), HashAlgorithms: []string{"sha256", "sha384", "sha512"}})
	c.s.log.Info("session opened", "session", id, "signer", sess.SignerID)
	return true
}

// resume reattaches a session after a dropped socket and delivers what is waiting: a
// signature made meanwhile, or the last status of one still waiting for the signer.
func (c *conn) resume(ctx context.Context, id string) bool {
	sess, err := c.s.cfg.Store.Session(ctx, id)
	if err != nil || sess.SignerID != c.claims.SignerID() {
		c.fail(protocol.Errorf(protocol.CodeUnknownSession, false, "There is no such session for this token; start a new one."))
		return false
	}
	c.live = c.s.hub.attach(id, c)
	c.live.setSession(sess, nil)
	c.send(&protocol.Welcome{Version: protocol.Version, Session: id, Methods: c.allowedMethods(),
		HashAlgorithms: []string{"sha256", "sha384", "sha512"}, Resumed: true})
	// Signatures the store did not take yet are here, in memory; the store still has
	// their jobs pending or signed.
	held := c.s.held.forSession(id)
	for _, j := range held {
		c.deliver(j)
	}
	jobs, err := c.s.cfg.Store.PendingJobs(ctx, id)
	if err == nil {
		for _, j := range jobs {
			if isHeld(held, j.Digest) {
				continue
			}
			c.deliver(j)
			c.pendingStatus(ctx, sess, j)
		}
	}
	if st := c.live.lastStatus(); st != nil {
		c.send(st)
	}
	return true
}

// pendingStatus tells a resumed client about a job no request of this process works on:
// one being completed here for an approval given across a restart, or one whose request
// is still on the signer's phone since before the restart.
func (c *conn) pendingStatus(ctx context.Context, sess *store.Session, j *store.Job) {
	if j.State != store.JobPending {
		return
	}
	if st := c.live.resumedStatus(j.Digest); st != nil {
		c.send(st)
		return
	}
	if c.live.isBusy() {
		return // lastStatus follows
	}
	if waiting, err := c.s.outstanding(ctx, sess.Method, jobKey(sess.ID, j.Digest)); err == nil && waiting {
		c.send(awaitingElsewhere())
	}
}

func (c *conn) allowedMethods() []string {
	var out []string
	for _, m := range c.s.methods() {
		if c.claims.Allows(m) {
			out = append(out, m)
		}
	}
	return out
}

func (c *conn) dispatch(msg any) {
	switch m := msg.(type) {
	case *protocol.Hello:
		c.fail(protocol.Errorf(protocol.CodeOutOfOrder, false, "The session is already open."))
	case *protocol.Identify:
		c.s.identify(c, m)
	case *protocol.Sign:
		c.s.sign(c, m)
	case *protocol.OTP:
		if !c.live.offerOTP(m.Code) {
			c.fail(protocol.Errorf(protocol.CodeOutOfOrder, false, "No code is expected now."))
		}
	case *protocol.ValidationData:
		c.s.validationData(c, m)
	case *protocol.Timestamp:
		c.s.docTimestamp(c, m)
	case *protocol.Ack:
		d, _ := base64.StdEncoding.DecodeString(m.Digest)
		if c.s.held.ack(c.live.id, d) {
			return // stored with the job, once the store takes it
		}
		if err := c.s.cfg.Store.Acknowledge(context.Background(), c.live.id, d); errors.Is(err, store.ErrUnwritable) {
			// The CMS stays deliverable; a later resume sends it again, the same bytes.
			c.s.storeFailed(err)
		} else if err != nil {
			c.fail(protocol.Errorf(protocol.CodeBadRequest, false, "No signature for that digest is waiting."))
		}
	}
}

func isHeld(held []*store.Job, digest []byte) bool {
	for _, j := range held {
		if bytes.Equal(j.Digest, digest) {
			return true
		}
	}
	return false
}

// deliver sends a stored (or held) job's outcome.
func (c *conn) deliver(j *store.Job) {
	switch j.State {
	case store.JobDone:
		c.send(&protocol.Signature{Digest: base64.StdEncoding.EncodeToString(j.Digest), CMS: base64.StdEncoding.EncodeToString(j.CMS), Level: j.Level})
	case store.JobFailed:
		c.send(protocol.Errorf(j.ErrCode, true, "%s", j.ErrMsg))
	}
}

// send writes one message; a failed write closes the connection (the session lives on).
func (c *conn) send(msg any) {
	b, err := protocol.Encode(msg)
	if err != nil {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.ws.CloseNow()
	}
}

func (c *conn) fail(e *protocol.Error) {
	c.s.metrics.errors.inc(e.Code)
	c.send(e)
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
