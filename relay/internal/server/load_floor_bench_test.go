package server_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
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
	clients, dur, perClient := loadShape()
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
		ops, elapsed, cpu, err := closedLoop(len(conns), dur, perClient, func(k int) error {
			if err := conns[k].Write(ctx, websocket.MessageText, req); err != nil {
				return err
			}
			_, _, err := conns[k].Read(ctx)
			return err
		})
		if err != nil {
			b.Fatalf("floor client: %v", err)
		}
		b.ReportMetric(float64(ops)/elapsed.Seconds(), "floor-rt/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(ops), "floor-cpu-us/rt")
	}
}
