package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
)

// Held results: signatures whose final write (Store.CompleteJob) failed — a full disk, a
// store that does not answer — are kept by this process, with their booking, until the
// store takes them. Meanwhile a resume of the session or the same sign request gets the
// held CMS, so neither the signer nor the TSA is asked a second time; the upkeep writes
// them as soon as a probe finds the store writable again (and on every sweep), each once:
// CompleteJob books nothing for a job already done with the same CMS. A B-T signature
// whose "signed" write failed is held too, signed: should the TSA fail as well, the retry
// asks the TSA only, with the held CMS.
//
// What is still lost: a held result lives only in this process. If it dies (crash, kill,
// power cut) before the store took the result, the store still has the job pending (B-B)
// or signed (B-T): after the restart the signer is asked again (B-B), or a second
// timestamp is made (B-T), and the first signature was never booked. A graceful Shutdown
// tries one last write and logs what it could not keep.
//
// The bound counts the signatures running as well as those held: a signature starts only
// with a slot it can be held in, so reaching the bound refuses new requests
// (unavailable, retryable) instead of losing an approval that could not be kept.

// DefaultMaxHeldResults is Config.MaxHeldResults when it is zero. A held result is a CMS
// (a few KiB with its chain) and a booking: the bound keeps the memory they may take to
// some tens of MiB.
const DefaultMaxHeldResults = 4096

// heldResult is a job the store did not take: done, with what CompleteJob books with it,
// or signed (B-T, the timestamp still to come), with no booking yet.
type heldResult struct {
	job     *store.Job
	booking *store.Booking
	// acked: the client acknowledged the CMS while it was held; the acknowledgement is
	// stored after the job.
	acked bool
	since time.Time
}

// heldResults holds the results by job key (jobKey: session and digest), and counts the
// slots taken by signatures that are running.
type heldResults struct {
	mu      sync.Mutex
	max     int
	running int
	byKey   map[string]*heldResult
	gauge   *gauge
	// flushMu lets one flush run at a time (the upkeep's, or Shutdown's last one).
	flushMu sync.Mutex
}

func newHeldResults(max int, g *gauge) *heldResults {
	return &heldResults{max: max, byKey: map[string]*heldResult{}, gauge: g}
}

// heldSlot is the room a running signature may be held in. Exactly one of keep and free
// ends it; free after keep does nothing, so `defer slot.free()` is safe.
type heldSlot struct {
	h    *heldResults
	key  string
	done bool
}

// acquire takes a slot for the job key, or returns nil when running and held signatures
// fill the bound.
func (h *heldResults) acquire(key string) *heldSlot {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running+len(h.byKey) >= h.max {
		return nil
	}
	h.running++
	return &heldSlot{h: h, key: key}
}

// keep holds job and its booking in the slot, replacing what the slot held before (a
// signed job, now done); it returns how many results are held.
func (sl *heldSlot) keep(job *store.Job, b *store.Booking, now time.Time) int {
	h := sl.h
	h.mu.Lock()
	defer h.mu.Unlock()
	sl.release()
	j := *job
	h.byKey[sl.key] = &heldResult{job: &j, booking: b, since: now}
	h.gauge.set(int64(len(h.byKey)))
	return len(h.byKey)
}

// free gives the slot back unless keep used it. A nil slot is fine.
func (sl *heldSlot) free() {
	if sl == nil {
		return
	}
	sl.h.mu.Lock()
	defer sl.h.mu.Unlock()
	sl.release()
}

// release ends the slot's count among the running signatures, once; h.mu is held.
func (sl *heldSlot) release() {
	if !sl.done {
		sl.done = true
		sl.h.running--
	}
}

// lookup returns a copy of the held job for the session and digest, or nil.
func (h *heldResults) lookup(session string, digest []byte) *store.Job {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.byKey[jobKey(session, digest)]; r != nil {
		j := *r.job
		return &j
	}
	return nil
}

// forSession returns copies of the session's held jobs.
func (h *heldResults) forSession(session string) []*store.Job {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*store.Job
	for _, r := range h.byKey {
		if r.job.SessionID == session {
			j := *r.job
			out = append(out, &j)
		}
	}
	return out
}

// ack records the client's acknowledgement of a held CMS; false when none is held.
func (h *heldResults) ack(session string, digest []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.byKey[jobKey(session, digest)]
	if r == nil || r.job.State != store.JobDone {
		return false
	}
	r.acked = true
	return true
}

func (h *heldResults) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byKey)
}

type heldEntry struct {
	key string
	*heldResult
}

func (h *heldResults) snapshot() []heldEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]heldEntry, 0, len(h.byKey))
	for k, r := range h.byKey {
		out = append(out, heldEntry{k, r})
	}
	return out
}

// remove drops the held result r, unless key holds another one by now (a signed job held
// while it was written, done meanwhile), and says whether the client acknowledged it.
func (h *heldResults) remove(key string, r *heldResult) (acked bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byKey[key] != r {
		return false
	}
	delete(h.byKey, key)
	h.gauge.set(int64(len(h.byKey)))
	return r.acked
}

// stored drops what key holds: its job was just stored done by the run that finished it.
func (h *heldResults) stored(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.byKey[key]; ok {
		delete(h.byKey, key)
		h.gauge.set(int64(len(h.byKey)))
	}
}

// hold keeps a job whose write (CompleteJob done, or FinishJob signed) failed with err, in
// slot. A job the store will never take — its session expired, or it ended otherwise —
// is not kept.
func (s *Server) hold(slot *heldSlot, job *store.Job, b *store.Booking, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
		s.log.Error("signature not stored: the store has no pending job for it any more", "session", job.SessionID, "state", job.State, "err", err)
		return
	case slot == nil:
		s.metrics.heldLost.inc("")
		s.log.Error("signature neither stored nor held: the bound on held signatures is reached; "+
			"if the client misses it, asking again makes a new one", "session", job.SessionID, "state", job.State, "err", err)
		return
	}
	n := slot.keep(job, b, s.cfg.Now())
	s.log.Error("signature held in memory: the store did not take it; it is delivered from memory and written once the store takes writes again",
		"session", job.SessionID, "state", job.State, "held", n, "err", err)
}

// flushBudget bounds one flush of held results.
const flushBudget = 30 * time.Second

// flushHeld writes the held results to the store, each with its booking, and drops those
// written. It stops at the first write the store refuses for want of writes (the next
// probe tries again); a result the store will never take is dropped and logged.
func (s *Server) flushHeld(ctx context.Context) {
	if s.held.count() == 0 {
		return
	}
	s.held.flushMu.Lock()
	defer s.held.flushMu.Unlock()
	for _, e := range s.held.snapshot() {
		var err error
		if e.job.State == store.JobDone {
			err = s.cfg.Store.CompleteJob(ctx, e.job, e.booking)
		} else {
			err = s.cfg.Store.FinishJob(ctx, e.job)
		}
		switch {
		case err == nil:
			acked := s.held.remove(e.key, e.heldResult)
			s.metrics.heldStored.inc("")
			s.log.Info("held signature stored", "session", e.job.SessionID, "held_for", s.cfg.Now().Sub(e.since).Round(time.Millisecond), "held", s.held.count())
			if acked {
				if err := s.cfg.Store.Acknowledge(ctx, e.job.SessionID, e.job.Digest); err != nil {
					// The CMS stays deliverable: a later resume sends the same bytes again.
					s.storeFailed(err)
					s.log.Warn("store the acknowledgement of a held signature", "session", e.job.SessionID, "err", err)
				}
			}
		case e.job.State != store.JobDone && errors.Is(err, store.ErrExists):
			// A signed job that was finished meanwhile: nothing to keep.
			s.held.remove(e.key, e.heldResult)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
			// The session expired while its result was held (nobody can resume it now), or
			// the job ended otherwise (another relay completed it): the store will never
			// take this result. Its booking is lost with it.
			s.held.remove(e.key, e.heldResult)
			s.metrics.heldLost.inc("")
			s.log.Error("held signature dropped: the store has no pending job for it any more; its booking is lost",
				"session", e.job.SessionID, "err", err)
		case errors.Is(err, store.ErrUnwritable) || ctx.Err() != nil:
			s.storeFailed(err)
			s.log.Warn("held signatures still not stored", "held", s.held.count(), "err", err)
			return
		default:
			s.log.Warn("store a held signature", "session", e.job.SessionID, "err", err)
		}
	}
}

// kickFlush asks the upkeep to write the held results now (the store came back).
func (s *Server) kickFlush() {
	select {
	case s.flushKick <- struct{}{}:
	default:
	}
}
