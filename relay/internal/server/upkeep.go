package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
)

// storeHealth is whether the store takes writes, as the relay last saw it. A write that
// failed for want of space (or with an I/O error) marks it down; from then on new sessions
// are refused, while what is stored stays readable and deliverable. Probes bring it back.
type storeHealth struct {
	mu        sync.Mutex
	down      bool
	lastProbe time.Time
}

// reprobeAfter spaces the probes that hellos trigger while the store is down: a hello
// must not cost a write each when many clients retry at once.
const reprobeAfter = time.Second

// storeFailed records a store error: only ErrUnwritable (full disk, I/O error, read-only
// file) says the store cannot take writes; a taken id or a reached limit says nothing.
func (s *Server) storeFailed(err error) {
	if !errors.Is(err, store.ErrUnwritable) {
		return
	}
	s.metrics.storeWriteFailures.inc("")
	s.setStoreDown(true, err)
}

func (s *Server) setStoreDown(down bool, cause error) {
	s.health.mu.Lock()
	was := s.health.down
	s.health.down = down
	s.health.mu.Unlock()
	if down {
		s.metrics.storeWritable.set(0)
	} else {
		s.metrics.storeWritable.set(1)
	}
	switch {
	case down && !was:
		s.log.Error("the store cannot take writes; refusing new sessions until it can", "err", cause)
	case !down && was:
		s.log.Info("the store takes writes again; new sessions are accepted")
		s.kickFlush()
	}
}

// probeStore pings the store (a committed write, and free space for SQLite) and records
// the outcome.
func (s *Server) probeStore(ctx context.Context) error {
	s.health.mu.Lock()
	s.health.lastProbe = time.Now()
	s.health.mu.Unlock()
	return s.ping(ctx)
}

// ping pings the store and records the outcome.
func (s *Server) ping(ctx context.Context) error {
	err := s.cfg.Store.Ping(ctx)
	if err != nil {
		s.setStoreDown(true, err)
	} else {
		s.setStoreDown(false, nil)
	}
	return err
}

// storeWritable says whether to take new work. While the store is up it costs nothing;
// while it is down, a probe at most every reprobeAfter finds out whether it came back.
func (s *Server) storeWritable(ctx context.Context) bool {
	s.health.mu.Lock()
	down, stale := s.health.down, time.Since(s.health.lastProbe) >= reprobeAfter
	if down && stale {
		// Claimed here, under the lock: of many hellos arriving together, one probes.
		s.health.lastProbe = time.Now()
	}
	s.health.mu.Unlock()
	if !down {
		return true
	}
	if !stale {
		return false
	}
	return s.ping(ctx) == nil
}

// flush writes the held signatures, if any, within flushBudget.
func (s *Server) flush() {
	ctx, cancel := context.WithTimeout(s.baseCtx, flushBudget)
	defer cancel()
	s.flushHeld(ctx)
}

// sweepBudget bounds one sweep of expired state.
const sweepBudget = 30 * time.Second

// upkeep runs until the server shuts down: it probes the store every HealthInterval (so a
// disk filling up is seen before a signature's write fails on it) and deletes expired
// sessions, their jobs and checkpoints every SweepInterval. Expiry alone already hides
// them (a store never returns expired state); the sweep keeps the file from growing.
// After a probe that succeeds, before a sweep, and as soon as any probe (a hello's, the
// health check's) finds the store back, it writes the held signatures (held.go).
func (s *Server) upkeep() {
	probe := time.NewTicker(s.cfg.HealthInterval)
	defer probe.Stop()
	sweep := time.NewTicker(s.cfg.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-s.baseCtx.Done():
			return
		case <-probe.C:
			ctx, cancel := context.WithTimeout(s.baseCtx, 5*time.Second)
			err := s.probeStore(ctx)
			cancel()
			if err == nil {
				s.flush()
			}
		case <-s.flushKick:
			s.flush()
		case <-sweep.C:
			s.flush()
			s.sweep()
		}
	}
}

// sweep deletes what expired. Only expired state goes: a session's jobs, done or pending,
// stay as long as the session, so a signature waiting for its client is delivered once
// whether or not a sweep ran meanwhile.
func (s *Server) sweep() {
	ctx, cancel := context.WithTimeout(s.baseCtx, sweepBudget)
	defer cancel()
	if err := s.cfg.Store.Expire(ctx, s.cfg.Now()); err != nil {
		s.storeFailed(err)
		if s.baseCtx.Err() == nil {
			s.log.Warn("sweep of expired sessions", "err", err)
		}
		return
	}
	s.metrics.sweeps.inc("")
}
