package server_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/seal"
	"github.com/veilsign/veilsign/relay/internal/server"
	"github.com/veilsign/veilsign/relay/internal/store"
	"github.com/veilsign/veilsign/relay/internal/store/sqlite"
	"github.com/veilsign/veilsign/relay/internal/token"
	"github.com/veilsign/veilsign/relay/protocol"
)

// tanRelay is one relay process, in this test process, that signs with TAN: a server over
// a SQLite file on a listener of its own, sending codes to an outbox that outlives it (the
// signer's phone).
type tanRelay struct {
	st  store.Store
	srv *server.Server
	hs  *http.Server
}

func startTANRelay(t *testing.T, ln net.Listener, dbPath string, outbox *seal.Outbox) *tanRelay {
	t.Helper()
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	sealID := sharedPKI(t).Seal()
	srv := server.New(server.Config{
		Tokens:   &token.Verifier{Audience: audience, HMAC: [][]byte{tokenKey}},
		Backends: []backend.Backend{seal.NewTAN(sealID.Chain, sealID.Key, outbox, seal.Options{})},
		Store:    st, PerTokenRate: 200, PerIPRate: 200,
	})
	r := &tanRelay{st: st, srv: srv, hs: &http.Server{Handler: srv.Handler()}}
	go r.hs.Serve(ln)
	t.Cleanup(r.crash)
	return r
}

// crash stops the relay without a graceful shutdown: connections drop, nothing running is
// waited for, the store is closed under it. Calling it again does nothing.
func (r *tanRelay) crash() { stopHard(r.hs, r.srv, r.st) }

// TestIdentifySurvivesRestart: a TAN session identifies on relay A, which then dies; relay
// B starts on the same address and SQLite file. The client resumes its session on B and
// signs without identifying again: the code goes to the phone given at identify, and the
// signature carries the certificate identify returned.
func TestIdentifySurvivesRestart(t *testing.T) {
	ctx := testCtx(t)
	ln, addr, dbPath := restartSite(t)
	outbox := &seal.Outbox{}
	const phone = "+32470112233"
	a := startTANRelay(t, ln, dbPath, outbox)

	tok, err := token.Issue(tokenKey, audience, "bt_identify_restart", []string{"tan"}, 3, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var welcomes []*protocol.Welcome
	c := &client.Client{URL: "ws://" + addr + "/v1/sign", Token: tok,
		OTP: func(context.Context) (string, error) {
			msgs := outbox.Messages(phone)
			if len(msgs) == 0 {
				return "", nil // the relay sent the code elsewhere; the test fails below
			}
			return codeRE.FindStringSubmatch(msgs[len(msgs)-1].Text)[1], nil
		},
		Trace: func(msg any) {
			if w, ok := msg.(*protocol.Welcome); ok {
				welcomes = append(welcomes, w)
			}
		}}
	if err := c.Dial(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chain, err := c.Identify(ctx, "tan", protocol.Signer{Name: "Ana Costa", Capacity: "tenant", Phone: phone})
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	session := c.Session()

	a.crash()
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relay B cannot listen on %s: %v", addr, err)
	}
	b := startTANRelay(t, ln, dbPath, outbox)

	// No identify: the client's next request finds the socket gone, resumes and sends it
	// again to B.
	digest := randomDigest()
	der, _, err := c.Sign(ctx, digest, "sha256", "Lease 2026-7", "B-B")
	if err != nil {
		t.Fatalf("sign after the restart, without identifying again: %v", err)
	}
	if c.Session() != session {
		t.Errorf("the client got session %q after the restart, want its own %q resumed", c.Session(), session)
	}
	if len(welcomes) != 2 || !welcomes[1].Resumed {
		t.Errorf("welcomes %+v, want the first and a resumed one", welcomes)
	}
	if n := len(outbox.Messages(phone)); n != 1 {
		t.Errorf("%d codes sent to the phone given at identify, want 1 (all messages: %+v)", n, outbox.Messages(""))
	}
	if sig := checkCMS(t, der, digest); !sig.Signer.Equal(chain[0]) {
		t.Errorf("signed by %s, want the certificate identify returned (%s)", sig.Signer.Subject, chain[0].Subject)
	}
	stored, err := b.st.Session(ctx, session)
	if err != nil || stored.Signer.Name != "Ana Costa" || stored.Signer.Phone != phone {
		t.Errorf("stored session %+v, %v; want the identify details", stored, err)
	}
}
