// Package rules holds what the SQLite and PostgreSQL stores must agree on — input checks,
// the time normalisation and the finish/acknowledge transitions — so that the two
// implementations cannot drift apart and the conformance suite tests one behaviour.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
)

// Norm makes a timestamp what both stores keep: UTC with microsecond precision, because
// PostgreSQL's timestamptz has no finer unit and SQLite must give back the same value.
// Truncation (not rounding) so that a stored time never lies after the moment it records.
func Norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Now is the current time, normalised.
func Now() time.Time { return Norm(time.Now()) }

// CheckSession rejects a session that could not be found again or checked later.
func CheckSession(s *store.Session) error {
	switch {
	case s == nil:
		return errors.New("store: nil session")
	case s.ID == "":
		return errors.New("store: session without id")
	case s.Expires.IsZero():
		// A zero expiry would make the session expired from birth; it is a caller bug.
		return errors.New("store: session without expiry")
	}
	return nil
}

// CheckNewJob rejects a job that StartJob cannot key or that claims an outcome already:
// a job is born pending, its outcome comes only through FinishJob.
func CheckNewJob(j *store.Job) error {
	switch {
	case j == nil:
		return errors.New("store: nil job")
	case j.SessionID == "":
		return errors.New("store: job without session id")
	case len(j.Digest) == 0:
		return errors.New("store: job without digest")
	case j.State != "" && j.State != store.JobPending:
		return fmt.Errorf("store: a new job must be pending, not %q", j.State)
	}
	return nil
}

// CheckFinish rejects an outcome that a client could not use: done needs the CMS, failed
// needs the code that tells the client why.
func CheckFinish(j *store.Job) error {
	if j == nil {
		return errors.New("store: nil job")
	}
	if j.SessionID == "" || len(j.Digest) == 0 {
		return errors.New("store: job without session id or digest")
	}
	switch j.State {
	case store.JobDone, store.JobSigned:
		if len(j.CMS) == 0 {
			return errors.New("store: a done or signed job needs its CMS")
		}
	case store.JobFailed:
		if j.ErrCode == "" {
			return errors.New("store: a failed job needs an error code")
		}
	default:
		return fmt.Errorf("store: FinishJob needs state signed, done or failed, not %q", j.State)
	}
	return nil
}

// CheckComplete rejects what CompleteJob cannot record: only a done job with its CMS is
// complete, and it needs a booking.
func CheckComplete(j *store.Job, b *store.Booking) error {
	if err := CheckFinish(j); err != nil {
		return err
	}
	if j.State != store.JobDone {
		return fmt.Errorf("store: CompleteJob records a done job, not %q", j.State)
	}
	if b == nil {
		return errors.New("store: CompleteJob needs a booking")
	}
	return nil
}

// FinishConflict decides what FinishJob returns when the stored job is no longer pending.
// Recording the same outcome again is a harmless retry; any other outcome would replace a
// CMS the client may already hold, which would break "one approval, one signature".
func FinishConflict(stored, j *store.Job) error {
	same := stored.State == j.State
	if same && j.State == store.JobDone {
		same = bytes.Equal(stored.CMS, j.CMS)
	}
	if same && j.State == store.JobFailed {
		same = stored.ErrCode == j.ErrCode
	}
	if same {
		return nil
	}
	return fmt.Errorf("%w: the job is already %s", store.ErrExists, stored.State)
}

// AckConflict decides what Acknowledge returns when it changed no row although the job
// exists: acknowledging again is a retry; a job that is not done has no CMS to acknowledge.
func AckConflict(stored *store.Job) error {
	if stored.State == store.JobDone {
		return nil
	}
	return fmt.Errorf("%w: no done job to acknowledge (the job is %s)", store.ErrNotFound, stored.State)
}

// MaxCheckpointKey and MaxCheckpointValue bound a checkpoint: they hold a few identifiers
// and a hash, so anything much larger is a caller bug (or a document, which must never be
// stored).
const (
	MaxCheckpointKey   = 256
	MaxCheckpointValue = 16 << 10
)

// CheckCheckpoint rejects a checkpoint that could not be found again or would never expire.
func CheckCheckpoint(key string, value []byte, expires time.Time) error {
	switch {
	case key == "":
		return errors.New("store: checkpoint without key")
	case len(key) > MaxCheckpointKey:
		return fmt.Errorf("store: checkpoint key of %d bytes, at most %d", len(key), MaxCheckpointKey)
	case len(value) > MaxCheckpointValue:
		return fmt.Errorf("store: checkpoint value of %d bytes, at most %d", len(value), MaxCheckpointValue)
	case expires.IsZero():
		// Without an expiry a checkpoint whose owner died would stay forever.
		return errors.New("store: checkpoint without expiry")
	}
	return nil
}
