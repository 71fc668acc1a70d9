package server

import (
	"context"
	"crypto/x509"
	"sync"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/protocol"
)

// hub holds the sessions with work in this process, by id, and their current connection.
type hub struct {
	mu       sync.Mutex
	sessions map[string]*live
}

func newHub() *hub { return &hub{sessions: map[string]*live{}} }

// live is a session as this process knows it: its current connection (nil while the
// client is away), whether an operation runs, the last status, and the TAN code box.
type live struct {
	id     string
	mu     sync.Mutex
	conn   *conn
	busy   bool
	gen    uint64 // counts operations; see begin
	status *protocol.Status
	otp    chan string
	// sess is the session as this process last read or wrote it, and chain its parsed
	// certificates: a sign reads neither the store nor the certificates again. Only
	// identify changes a session after its creation, and it goes through here; a new
	// connection starts from the store again.
	sess  *store.Session
	chain []*x509.Certificate
	// resumed holds the jobs this process completes for approvals that arrived after a
	// restart, by digest, with their latest status. They run beside whatever the session
	// does (busy belongs to requests of this process), and keep the session in the hub.
	resumed map[string]*protocol.Status
}

func (h *hub) attach(id string, c *conn) *live {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.sessions[id]
	if !ok {
		l = &live{id: id, otp: make(chan string, 1)}
		h.sessions[id] = l
	}
	l.mu.Lock()
	old := l.conn
	l.conn = c
	l.sess, l.chain = nil, nil
	l.mu.Unlock()
	if old != nil && old != c {
		old.ws.CloseNow() // one connection per session: the newest wins
	}
	return l
}

// release forgets a session that has no connection and no work.
func (h *hub) release(l *live) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil && !l.busy && len(l.resumed) == 0 {
		delete(h.sessions, l.id)
	}
}

// holdResumed finds or adds session id and marks its job for digest as being completed
// in this process, until doneResumed.
func (h *hub) holdResumed(id string, digest []byte) *live {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.sessions[id]
	if !ok {
		l = &live{id: id, otp: make(chan string, 1)}
		h.sessions[id] = l
	}
	l.mu.Lock()
	if l.resumed == nil {
		l.resumed = map[string]*protocol.Status{}
	}
	l.resumed[string(digest)] = &protocol.Status{State: protocol.StateSigning}
	l.mu.Unlock()
	return l
}

func (h *hub) doneResumed(l *live, digest []byte) {
	l.mu.Lock()
	delete(l.resumed, string(digest))
	l.mu.Unlock()
	h.release(l)
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.sessions {
		l.mu.Lock()
		if l.conn != nil {
			l.conn.ws.CloseNow()
		}
		l.mu.Unlock()
	}
}

func (l *live) detach(c *conn) {
	l.mu.Lock()
	if l.conn == c {
		l.conn = nil
	}
	l.mu.Unlock()
	c.s.hub.release(l)
}

// begin marks the session busy; false when an operation already runs. The generation it
// returns is what end needs, so a late end of a finished operation cannot free the next.
func (l *live) begin() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy {
		return 0, false
	}
	l.busy = true
	l.status = nil
	l.gen++
	return l.gen, true
}

// setSession caches sess (read from or written to the store) and, if known, its chain.
func (l *live) setSession(sess *store.Session, chain []*x509.Certificate) {
	l.mu.Lock()
	l.sess, l.chain = sess, chain
	l.mu.Unlock()
}

// cachedSession returns the cached session unless it has expired at now.
func (l *live) cachedSession(now time.Time) *store.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil || !l.sess.Expires.After(now) {
		return nil
	}
	return l.sess
}

// chainFor returns sess's certificates, parsed once while sess is the cached session.
func (l *live) chainFor(sess *store.Session) ([]*x509.Certificate, error) {
	l.mu.Lock()
	if l.sess == sess && l.chain != nil {
		defer l.mu.Unlock()
		return l.chain, nil
	}
	l.mu.Unlock()
	chain, err := parseChain(sess.Chain)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.sess == sess {
		l.chain = chain
	}
	l.mu.Unlock()
	return chain, nil
}

func (l *live) isBusy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy
}

// end frees the session if operation gen is still the current one; calling it twice is
// harmless.
func (l *live) end(gen uint64) {
	l.mu.Lock()
	if l.gen == gen {
		l.busy = false
		l.status = nil
	}
	l.mu.Unlock()
}

// send writes to the current connection, if there is one.
func (l *live) send(msg any) {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		c.send(msg)
	}
}

func (l *live) lastStatus() *protocol.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// resumedStatus returns the status of a job being completed after a restart, or nil when
// this process is not completing that digest.
func (l *live) resumedStatus(digest []byte) *protocol.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resumed[string(digest)]
}

// resumedProgress records and sends the progress of a job completed after a restart.
func (l *live) resumedProgress(digest []byte) func(state, message string) {
	return func(state, message string) {
		st := &protocol.Status{State: state, Message: message}
		l.mu.Lock()
		if _, ok := l.resumed[string(digest)]; ok {
			l.resumed[string(digest)] = st
		}
		l.mu.Unlock()
		l.send(st)
	}
}

// Status implements backend.Interaction: it tells the page, and remembers it for a
// client that reconnects while the signer is still approving.
func (l *live) Status(state, url, message string) {
	st := &protocol.Status{State: state, URL: url, Message: message}
	l.mu.Lock()
	l.status = st
	l.mu.Unlock()
	l.send(st)
}

// OTP implements backend.Interaction.
func (l *live) OTP(ctx context.Context) (string, error) {
	select {
	case code := <-l.otp:
		return code, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// offerOTP hands a typed code to a waiting TAN backend.
func (l *live) offerOTP(code string) bool {
	l.mu.Lock()
	busy := l.busy
	l.mu.Unlock()
	if !busy {
		return false
	}
	select {
	case l.otp <- code:
		return true
	default:
		return false
	}
}
