package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkRelayFloor is the floor under BenchmarkRelayLoad's signs/s, measured the same
// way in the same run: the same number of clients on loopback, each doing closed-loop
// round trips of a sign-sized request (~120 bytes) answered by a signature-sized reply
// (2 KB) after one ECDSA P-256 signature — the websocket library and the in-process
// signer with nothing of the relay between them (no token, session, store, CMS). The
// ratio of the two is what the relay itself costs.
func BenchmarkRelayFloor(b *testing.B) {
	key := sharedPKI(&testing.T{}).Seal().Key
	reply := []byte(`{"type":"signature","cms":"` + strings.Repeat("A", 2000) + `","level":"B-B"}`)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			d := sha256.Sum256(msg)
			if _, err := key.Sign(rand.Reader, d[:], nil); err != nil {
				return
			}
			if err := c.Write(r.Context(), websocket.MessageText, reply); err != nil {
				return
			}
		}
	}))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	clients, dur, perClient := 64, 5*time.Second, 700
	if loadSmoke() {
		clients, dur, perClient = 8, 500*time.Millisecond, 200
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 16)
		defer c.CloseNow()
		conns[i] = c
	}
	req := []byte(`{"type":"sign","digest":"` + strings.Repeat("A", 44) + `","hashAlgorithm":"sha256","label":"load","level":"B-B"}`)
	for i := 0; i < b.N; i++ {
		var ops, fails atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(dur)
		cpu0 := cpuTime()
		t0 := time.Now()
		for _, c := range conns {
			wg.Add(1)
			go func(c *websocket.Conn) {
				defer wg.Done()
				for j := 0; j < perClient && time.Now().Before(deadline); j++ {
					if err := c.Write(ctx, websocket.MessageText, req); err != nil {
						fails.Add(1)
						return
					}
					if _, _, err := c.Read(ctx); err != nil {
						fails.Add(1)
						return
					}
					ops.Add(1)
				}
			}(c)
		}
		wg.Wait()
		elapsed := time.Since(t0)
		if fails.Load() > 0 {
			b.Fatalf("%d floor clients failed", fails.Load())
		}
		b.ReportMetric(float64(ops.Load())/elapsed.Seconds(), "floor-rt/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(ops.Load()), "floor-cpu-us/rt")
	}
}
