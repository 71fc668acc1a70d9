package server_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/protocol"
)

// TestSignerTimeoutAtRelay: the itsme user never approves; with an approval timeout of 1 s
// sign fails with a retryable signer-timeout within bounds, nothing is booked, and the same
// digest again gets the stored failure without a new request to the signer.
func TestSignerTimeoutAtRelay(t *testing.T) {
	const approval = time.Second
	e := newRelay(t, envOptions{approvalTimeout: approval})
	ctx := testCtx(t)
	c := e.client(ctx, e.token("bt_timeout", []string{"itsme"}, 3))
	if _, err := c.Identify(ctx, "itsme", protocol.Signer{Name: "Jan Peeters"}); err != nil {
		t.Fatal(err)
	}
	// From now on the phone shows the request and the user never answers.
	release := make(chan struct{})
	var phoneCalls, urls atomic.Int32
	e.phone = func(string) error {
		phoneCalls.Add(1)
		<-release
		return errors.New("the phone was put away")
	}
	var browsers sync.WaitGroup
	c.OnStatus = func(st protocol.Status) {
		if st.URL == "" {
			return
		}
		urls.Add(1)
		browsers.Add(1)
		go func() { defer browsers.Done(); e.visit(st.URL) }()
	}
	defer browsers.Wait()
	defer close(release)

	pendingBefore := len(e.sim.Pending())
	d := randomDigest()
	start := time.Now()
	_, _, err := c.Sign(ctx, d, "sha256", "doc", "")
	took := time.Since(start)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeSignerTimeout || !pe.Retryable {
		t.Fatalf("after %v: %v, want a retryable signer-timeout", took, err)
	}
	if took < approval-100*time.Millisecond || took > approval+5*time.Second {
		t.Fatalf("signer-timeout after %v with an approval timeout of %v", took, approval)
	}
	pendingAfter := len(e.sim.Pending())
	if phoneCalls.Load() != 1 || pendingAfter != pendingBefore+1 {
		t.Fatalf("phone asked %d times, %d→%d pending requests on the simulator; want 1 request", phoneCalls.Load(), pendingBefore, pendingAfter)
	}
	if n := audits(t, e.st, c.Session()); n != 0 {
		t.Fatalf("%d signatures booked for a timed-out request", n)
	}
	job, err := e.st.Job(ctx, c.Session(), d)
	if err != nil || job.State != store.JobFailed || job.ErrCode != protocol.CodeSignerTimeout {
		t.Fatalf("stored job %+v, %v: want failed with signer-timeout", job, err)
	}

	// The same digest again: the stored failure, and the signer is not asked again.
	urlsBefore := urls.Load()
	start = time.Now()
	_, _, err = c.Sign(ctx, d, "sha256", "doc", "")
	if !errors.As(err, &pe) || pe.Code != protocol.CodeSignerTimeout {
		t.Fatalf("second sign: %v, want the stored signer-timeout", err)
	}
	if took := time.Since(start); took >= approval { // a new wait would take the whole approval time
		t.Fatalf("the second sign took %v: it waited for the signer again", took)
	}
	time.Sleep(100 * time.Millisecond)
	if urls.Load() != urlsBefore || phoneCalls.Load() != 1 || len(e.sim.Pending()) != pendingAfter {
		t.Fatalf("the retry asked the signer again: %d URLs (was %d), %d phone calls, %d pending", urls.Load(), urlsBefore, phoneCalls.Load(), len(e.sim.Pending()))
	}
	if n := audits(t, e.st, c.Session()); n != 0 {
		t.Fatalf("%d signatures booked", n)
	}
	if e.srv.Metrics().Value("veilsign_relay_errors_total", protocol.CodeSignerTimeout) < 1 {
		t.Error("the timeout is not counted in the metrics")
	}
}
