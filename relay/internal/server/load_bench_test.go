package server_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/protocol"
)

// loadBackend signs in process with an ECDSA P-256 key (the dev seal): no network, no
// approval wait, so the relay's own cost is what a load run measures.
type loadBackend struct {
	chain []*x509.Certificate
	key   crypto.Signer
}

func (b *loadBackend) Method() string { return "x509" }

func (b *loadBackend) Certificate(ctx context.Context, s backend.Signer, in backend.Interaction) ([]*x509.Certificate, string, error) {
	return b.chain, "seal", nil
}

func (b *loadBackend) Sign(ctx context.Context, r backend.Request, in backend.Interaction) (backend.Result, error) {
	sig, err := b.key.Sign(rand.Reader, r.Hash, r.HashAlg)
	if err != nil {
		return backend.Result{}, err
	}
	return backend.Result{Signature: sig, Algorithm: x509.ECDSAWithSHA256}, nil
}

func loadSmoke() bool { return os.Getenv("VEILSIGN_BENCH_SMOKE") != "" }

// newLoadRelay is the relay on 127.0.0.1 over a SQLite store, without a TSA (level B-B).
func newLoadRelay(tb testing.TB) (wsURL string) {
	pki := sharedPKI(&testing.T{})
	// VEILSIGN_LOAD_STOREDIR puts the store elsewhere (a tmpfs, to see the relay's cost
	// without the disk's fsyncs); by default it is on the temporary directory's disk.
	dir := tb.TempDir()
	if d := os.Getenv("VEILSIGN_LOAD_STOREDIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "relay-load-"); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	st, err := sqlite.Open(filepath.Join(dir, "relay.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	seal := pki.Seal()
	srv := server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{&loadBackend{chain: seal.Chain, key: seal.Key}},
		Store:    st, PerTokenRate: 1e6, PerIPRate: 1e6, Log: slog.New(slog.DiscardHandler),
	})
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/sign"
}

func loadToken(tb testing.TB, signer string) string {
	tok, err := token.Issue(tokenKey, audience, signer, []string{"x509"}, 1000, 10*time.Minute, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// loadClient is a connected, identified session.
func loadClient(ctx context.Context, url, tok string) (*client.Client, error) {
	c := &client.Client{URL: url, Token: tok, Retries: 1}
	if err := c.Dial(ctx); err != nil {
		return nil, err
	}
	if _, err := c.Identify(ctx, "x509", protocol.Signer{Name: "Load Test"}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

var digestSeq atomic.Uint64

func signOnce(ctx context.Context, c *client.Client) error {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], digestSeq.Add(1)+uint64(time.Now().UnixNano()))
	d := sha256.Sum256(n[:])
	// Each call is bounded: a round trip that never completes is counted (lost) rather
	// than stalling the run.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for try := 0; ; try++ {
		_, _, err := c.Sign(ctx, d[:], "sha256", "load", "B-B")
		if err != nil && ctx.Err() != nil {
			lost.Add(1)
			return nil
		}
		// The relay may still be finishing the session's previous job when the client has
		// acknowledged it and asks again ("out-of-order"); count it and try again shortly.
		var perr *protocol.Error
		if err != nil && errors.As(err, &perr) && perr.Code == protocol.CodeOutOfOrder && try < 100 {
			outOfOrder.Add(1)
			time.Sleep(200 * time.Microsecond)
			continue
		}
		return err
	}
}

var outOfOrder, lost atomic.Int64

// BenchmarkRelayLoad reports, on loopback against an in-process relay with an in-process
// ECDSA signer and no TSA: signs/s (closed loop, many clients, bounded in count and time),
// p50-ms and p99-ms (round trips at a fixed 1,000/s, open loop), and KB/session (RSS
// growth of this process per idle identified session, the clients living in a child
// process). VEILSIGN_BENCH_SMOKE shortens every part.
func BenchmarkRelayLoad(b *testing.B) {
	url := newLoadRelay(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A session token allows 1,000 signatures: each client stops at perClient in the
	// throughput part, leaving room for its share of the fixed-rate part.
	clients, dur, perClient := loadShape()
	rateDur, sessions := 3*time.Second, 10000
	if loadSmoke() {
		rateDur, sessions = 300*time.Millisecond, 200
	}
	pool := make([]*client.Client, clients)
	for i := range pool {
		c, err := loadClient(ctx, url, loadToken(b, fmt.Sprintf("signer-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		pool[i] = c
	}
	for i := 0; i < b.N; i++ {
		// Throughput: every client signs back to back until the time or count runs out.
		ops, elapsed, cpu, err := closedLoop(len(pool), dur, perClient, func(k int) error { return signOnce(ctx, pool[k]) })
		if err != nil {
			b.Fatalf("sign: %v", err)
		}
		b.ReportMetric(float64(ops)/elapsed.Seconds(), "signs/s")
		// CPU time per round trip (relay and clients, this process) is steadier than the
		// rate on a machine shared with other work: it does not count the time this
		// process waited for a core.
		b.ReportMetric(float64(cpu.Microseconds())/float64(ops), "cpu-us/sign")
		b.ReportMetric(float64(clients), "clients")
		b.ReportMetric(float64(outOfOrder.Load()), "out-of-order-retries")
		b.ReportMetric(float64(lost.Load()), "lost")

		// Latency at a fixed rate: one request every millisecond, each to an idle client,
		// timed from its scheduled start (so queueing behind a slow one counts).
		idle := make(chan *client.Client, clients)
		for _, c := range pool {
			idle <- c
		}
		n := int(rateDur / time.Millisecond)
		lat := make([]time.Duration, n)
		var fails atomic.Int64
		var lwg sync.WaitGroup
		start := time.Now()
		for k := 0; k < n; k++ {
			at := start.Add(time.Duration(k) * time.Millisecond)
			time.Sleep(time.Until(at))
			c := <-idle
			lwg.Add(1)
			go func(k int, c *client.Client) {
				defer lwg.Done()
				if err := signOnce(ctx, c); err != nil {
					fails.Add(1)
				}
				lat[k] = time.Since(at)
				idle <- c
			}(k, c)
		}
		lwg.Wait()
		if fails.Load() > 0 {
			b.Fatalf("%d signatures failed at the fixed rate", fails.Load())
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
		b.ReportMetric(ms(lat[n/2]), "p50-ms")
		b.ReportMetric(ms(lat[n*99/100]), "p99-ms")
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "fixed-rate/s")

		// Memory per idle session: the sessions are opened by a child process (this test
		// binary again), so this process's RSS holds only the relay's side of them.
		rssBefore, heapBefore := settle()
		child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRelayLoadSessions$", "-test.v")
		child.Env = append(os.Environ(), "VEILSIGN_LOAD_URL="+url, "VEILSIGN_LOAD_SESSIONS="+strconv.Itoa(sessions),
			"VEILSIGN_LOAD_TOKEN="+loadToken(b, "idle"))
		stdin, _ := child.StdinPipe()
		stdout, _ := child.StdoutPipe()
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "READY") {
				ready = true
				break
			}
		}
		if !ready {
			child.Wait()
			b.Fatal("the session child did not get ready")
		}
		time.Sleep(500 * time.Millisecond)
		rssAfter, heapAfter := settle()
		stdin.Close()
		go func() {
			for sc.Scan() {
			}
		}()
		child.Wait()
		b.ReportMetric(float64(sessions), "sessions")
		b.ReportMetric((rssAfter-rssBefore)/1024/float64(sessions), "KB/session")
		b.ReportMetric((heapAfter-heapBefore)/1024/float64(sessions), "heapKB/session")
	}
}

// closedLoop runs roundTrip for each of n clients back to back, until dur has passed or
// each has done perClient, and returns the round trips done, the wall time, the CPU time
// of this process, and the first error (a failing client stops).
func closedLoop(n int, dur time.Duration, perClient int, roundTrip func(client int) error) (ops int64, elapsed, cpu time.Duration, err error) {
	var done atomic.Int64
	var first sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	cpu0, t0 := cpuTime(), time.Now()
	for k := 0; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perClient && time.Now().Before(deadline); j++ {
				if e := roundTrip(k); e != nil {
					first.Do(func() { err = e })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load(), time.Since(t0), cpuTime() - cpu0, err
}

// loadShape is the size of a closed-loop run: clients, how long, and at most how many
// round trips each (a session token allows 1,000 signatures).
func loadShape() (clients int, dur time.Duration, perClient int) {
	if loadSmoke() {
		return 8, 500 * time.Millisecond, 200
	}
	return 64, 5 * time.Second, 700
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle collects garbage, returns memory to the OS, and reads RSS and the live heap.
func settle() (rss, heap float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			rss = kb * 1024
		}
	}
	return rss, float64(ms.HeapAlloc)
}

// TestRelayLoadSessions is BenchmarkRelayLoad's child: it opens VEILSIGN_LOAD_SESSIONS
// identified sessions, prints READY, and holds them until its stdin closes.
func TestRelayLoadSessions(t *testing.T) {
	url := os.Getenv("VEILSIGN_LOAD_URL")
	if url == "" {
		t.Skip("run by BenchmarkRelayLoad")
	}
	n, _ := strconv.Atoi(os.Getenv("VEILSIGN_LOAD_SESSIONS"))
	tok := os.Getenv("VEILSIGN_LOAD_TOKEN")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conns := make([]*client.Client, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := loadClient(ctx, url, tok)
			if err != nil {
				if failed.Add(1) == 1 {
					t.Logf("session %d: %v", i, err)
				}
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d sessions failed", failed.Load(), n)
	}
	fmt.Println("READY")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Drop()
	}
}
