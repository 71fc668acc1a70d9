package tsa

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// The client against the dev server: the token goes into a CMS signature with
// cms.AddTimestamp and openssl verifies it on its own.
func TestClientDevServer(t *testing.T) {
	pki := newPKI(t)
	u := serve(t, NewServer(pki, nil))
	c := newClient(t, []string{u}, Options{Roots: pki.Roots(), Policy: devpki.TSAPolicy})

	seal := pki.Seal()
	der, err := cms.Sign(randomImprint(t, crypto.SHA256), crypto.SHA256, seal.Chain, seal.Key)
	if err != nil {
		t.Fatal(err)
	}
	imprint, err := cms.TimestampImprint(der, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	token, from, err := c.Timestamp(ctxFor(t), imprint, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if from != u {
		t.Fatalf("token from %q, want %q", from, u)
	}
	stamped, err := cms.AddTimestamp(der, token)
	if err != nil {
		t.Fatalf("cms.AddTimestamp refuses the token: %v", err)
	}
	sig, err := cms.Parse(stamped)
	if err != nil {
		t.Fatal(err)
	}
	ts := sig.Timestamp
	if ts == nil || ts.Err != nil || !ts.ImprintValid || !strings.Contains(ts.TSAName, "veilsign Dev TSA") || ts.Time.Before(before.Truncate(time.Second)) {
		t.Fatalf("embedded time-stamp: %+v", ts)
	}
	if st := c.Stats(); st.Requests != 1 || st.Unavailable != 0 || len(st.TSAs) != 1 || st.TSAs[0] != (TSAStats{URL: u, Attempts: 1, Successes: 1}) {
		t.Fatalf("stats %+v", st)
	}

	// The other imprint hashes work too.
	for _, h := range []crypto.Hash{crypto.SHA384, crypto.SHA512} {
		imp := randomImprint(t, h)
		tok, _, err := c.Timestamp(ctxFor(t), imp, h)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		parsed, err := timestamp.Parse(tok)
		if err != nil || parsed.HashAlgorithm != h || !bytes.Equal(parsed.HashedMessage, imp) {
			t.Fatalf("%v: token %+v, %v", h, parsed, err)
		}
	}

	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	tsaChain := pki.TSA().Chain
	var untrusted []byte
	for _, cert := range tsaChain[:len(tsaChain)-1] {
		untrusted = append(untrusted, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	verify := func(digest []byte) (string, bool) {
		out, err := exec.Command(openssl, "ts", "-verify", "-in", writeFile(t, dir, "token.der", token), "-token_in",
			"-digest", hex.EncodeToString(digest), "-CAfile", writeFile(t, dir, "root.pem", pki.RootPEM()),
			"-untrusted", writeFile(t, dir, "tsa.pem", untrusted)).CombinedOutput()
		return string(out), err == nil && strings.Contains(string(out), "Verification: OK")
	}
	if out, ok := verify(imprint); !ok {
		t.Fatalf("openssl ts -verify refuses the token: %s", out)
	}
	other := bytes.Clone(imprint)
	other[0] ^= 1
	if out, ok := verify(other); ok {
		t.Fatalf("openssl ts -verify accepts the token for another imprint: %s", out)
	}
}

func TestFallback(t *testing.T) {
	pki := newPKI(t)
	refused := closedURL(t)
	slow := serve(t, sleeper())
	good := serve(t, NewServer(pki, nil))
	c := newClient(t, []string{refused, slow, good}, Options{Timeout: 300 * time.Millisecond, Total: 5 * time.Second, Roots: pki.Roots()})
	imprint := randomImprint(t, crypto.SHA256)
	start := time.Now()
	token, from, err := c.Timestamp(ctxFor(t), imprint, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("the fallback took %v", elapsed)
	}
	if from != good {
		t.Fatalf("token from %q, want the third TSA %q", from, good)
	}
	if parsed, err := timestamp.Parse(token); err != nil || !bytes.Equal(parsed.HashedMessage, imprint) {
		t.Fatalf("token: %v", err)
	}
	st := c.Stats()
	want := []TSAStats{{URL: refused, Attempts: 1, Failures: 1}, {URL: slow, Attempts: 1, Failures: 1}, {URL: good, Attempts: 1, Successes: 1}}
	if st.Requests != 1 || st.Unavailable != 0 || len(st.TSAs) != 3 {
		t.Fatalf("stats %+v", st)
	}
	for i := range want {
		if st.TSAs[i] != want[i] {
			t.Fatalf("stats for TSA %d: %+v, want %+v", i, st.TSAs[i], want[i])
		}
	}
}

func TestAllUnavailable(t *testing.T) {
	pki := newPKI(t)
	refused := closedURL(t)
	slow := serve(t, sleeper())
	rejecting := serve(t, fakeTSA(t, func(*tsRequest) []byte {
		resp, _ := marshalResponse(statusRejection, failSystemFailure, "down for maintenance", nil)
		return resp
	}))
	broken := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oops", http.StatusBadGateway)
	}))
	other := serve(t, NewServer(newPKI(t), nil)) // a TSA the roots do not trust
	urls := []string{refused, slow, rejecting, broken, other}
	total := 2 * time.Second
	c := newClient(t, urls, Options{Timeout: 300 * time.Millisecond, Total: total, Roots: pki.Roots()})
	start := time.Now()
	_, from, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256)
	elapsed := time.Since(start)
	if elapsed > total+2*time.Second { // generous: CI runs packages in parallel
		t.Fatalf("took %v with a total timeout of %v", elapsed, total)
	}
	if err == nil || from != "" {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v is not ErrUnavailable", err)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) || len(ue.Attempts) != len(urls) {
		t.Fatalf("error %#v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1+len(urls) {
		t.Fatalf("want one line per URL:\n%v", err)
	}
	reasons := []string{"connection refused", "per-attempt timeout of 300ms", "rejection (systemFailure): \"down for maintenance\"", "HTTP 502", "is not trusted"}
	for i, u := range urls {
		if !strings.HasPrefix(lines[i+1], "\t"+u+": ") || !strings.Contains(lines[i+1], reasons[i]) {
			t.Errorf("line %d: %q, want %s and %q", i+1, lines[i+1], u, reasons[i])
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrRejected) || !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("the attempts' errors are not wrapped: %v", err)
	}
	t.Log(err)
	if st := c.Stats(); st.Requests != 1 || st.Unavailable != 1 || st.TSAs[4].Failures != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// The total timeout cuts the list short: TSAs not reached are named as not tried.
func TestTotalTimeout(t *testing.T) {
	slow1, slow2, slow3 := serve(t, sleeper()), serve(t, sleeper()), serve(t, sleeper())
	total := 500 * time.Millisecond
	c := newClient(t, []string{slow1, slow2, slow3}, Options{Timeout: 300 * time.Millisecond, Total: total})
	start := time.Now()
	_, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrUnavailable) || elapsed > total+2*time.Second {
		t.Fatalf("after %v: %v", elapsed, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "per-attempt timeout") || !strings.Contains(lines[2], "total timeout of 500ms") ||
		!strings.Contains(lines[3], "not tried") {
		t.Fatalf("%v", err)
	}
	if st := c.Stats(); st.TSAs[2].Attempts != 0 {
		t.Fatalf("stats %+v", st)
	}

	// The caller's own context is honoured as well.
	c = newClient(t, []string{slow1}, Options{Timeout: 10 * time.Second, Total: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, _, err = c.Timestamp(ctx, randomImprint(t, crypto.SHA256), crypto.SHA256)
	if elapsed := time.Since(start); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "caller gave up") || elapsed > 3*time.Second {
		t.Fatalf("after %v: %v", elapsed, err)
	}
}

// A TSA that sends headers and then dribbles the body is cut off by the per-attempt timeout.
func TestSlowBody(t *testing.T) {
	dribble := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", mediaReply)
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte{0x30}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	c := newClient(t, []string{dribble}, Options{Timeout: 300 * time.Millisecond, Total: time.Second})
	start := time.Now()
	_, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256)
	if elapsed := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || elapsed > 3*time.Second {
		t.Fatalf("after %v: %v", elapsed, err)
	}
}

// Answers that must be refused, each with a reason that says what is wrong.
func TestRefused(t *testing.T) {
	pki := newPKI(t)
	other := newPKI(t)
	tsa := pki.TSA()
	cases := []struct {
		name   string
		answer http.Handler
		opts   Options
		want   string
		is     error
	}{
		{name: "wrong imprint", want: "message imprint", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa, imprint: randomImprint(t, crypto.SHA256)})
		})},
		{name: "wrong nonce", want: "nonce", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa, nonce: new(big.Int).Add(r.nonce, big.NewInt(1))})
		})},
		{name: "no nonce", want: "carries no nonce", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa, noNonce: true})
		})},
		{name: "no timeStamping EKU", want: "not a time-stamping certificate", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: pki.Seal()})
		})},
		{name: "bad signature", want: "does not verify", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			resp := grant(t, r, tokenSpec{signer: tsa})
			resp[len(resp)-1] ^= 1 // the last byte of the ECDSA signature
			return resp
		})},
		{name: "no certificate", want: "does not carry the TSA certificate", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa, noCerts: true})
		})},
		{name: "untrusted TSA", want: "is not trusted", is: ErrInvalidResponse, opts: Options{Roots: other.Roots()}, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa})
		})},
		{name: "genTime an hour ago", want: "genTime", is: ErrInvalidResponse, answer: NewServer(pki, func() time.Time { return time.Now().Add(-time.Hour) })},
		{name: "genTime in the future", want: "genTime", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa, at: time.Now().Add(10 * time.Minute)})
		})},
		{name: "other policy", want: "policy", is: ErrInvalidResponse, opts: Options{Policy: []int{2, 999, 1}}, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return grant(t, r, tokenSpec{signer: tsa})
		})},
		{name: "rejection", want: `rejection (badAlg): "no such algorithm"`, is: ErrRejected, answer: fakeTSA(t, func(r *tsRequest) []byte {
			resp, _ := marshalResponse(statusRejection, failBadAlg, "no such algorithm", nil)
			return resp
		})},
		{name: "waiting", want: "status waiting", is: ErrRejected, answer: fakeTSA(t, func(r *tsRequest) []byte {
			resp, _ := marshalResponse(statusWaiting, noFailInfo, "", nil)
			return resp
		})},
		{name: "granted without token", want: "no token", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			resp, _ := marshalResponse(statusGranted, noFailInfo, "", nil)
			return resp
		})},
		{name: "garbage", want: "not one DER TimeStampResp", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return []byte("<html>captive portal</html>")
		})},
		{name: "trailing data", want: "not one DER TimeStampResp", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return append(grant(t, r, tokenSpec{signer: tsa}), 0)
		})},
		{name: "oversized, streamed", want: "longer than the 65536 bytes", is: ErrInvalidResponse, answer: fakeTSA(t, func(r *tsRequest) []byte {
			return bytes.Repeat([]byte{0x30}, 100<<10)
		})},
		{name: "oversized, declared", want: "102400 bytes, more than the 65536", is: ErrInvalidResponse, answer: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaReply)
			w.Header().Set("Content-Length", strconv.Itoa(100<<10))
			w.Write(bytes.Repeat([]byte{0x30}, 100<<10))
		})},
		{name: "wrong content type", want: `content type "text/html"`, is: ErrInvalidResponse, answer: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html></html>"))
		})},
		{name: "HTTP error", want: "HTTP 503", answer: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, tc.answer)
			opts := tc.opts
			if opts.Roots == nil {
				opts.Roots = pki.Roots()
			}
			opts.Timeout, opts.Total = 5*time.Second, 10*time.Second
			c := newClient(t, []string{u}, opts)
			token, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256)
			if err == nil || token != nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("error %q, want %q (%v)", err, tc.want, tc.is)
			}
			t.Log(err)
		})
	}
}

// grantedWithMods carries a token like granted does.
func TestGrantedWithMods(t *testing.T) {
	pki := newPKI(t)
	u := serve(t, fakeTSA(t, func(r *tsRequest) []byte {
		return grant(t, r, tokenSpec{signer: pki.TSA(), status: statusGrantedWithMods})
	}))
	c := newClient(t, []string{u}, Options{Roots: pki.Roots()})
	if _, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestArguments(t *testing.T) {
	for _, urls := range [][]string{nil, {"ftp://tsa.example/"}, {"tsa.example"}, {"http://[::1"}} {
		if _, err := NewClient(urls, Options{}); err == nil {
			t.Errorf("NewClient(%q) accepted", urls)
		}
	}
	c := newClient(t, []string{"http://user:secret@127.0.0.1:1/"}, Options{})
	if st := c.Stats(); strings.Contains(st.TSAs[0].URL, "secret") {
		t.Fatalf("the password shows in %q", st.TSAs[0].URL)
	}
	if _, _, err := c.Timestamp(ctxFor(t), make([]byte, 20), crypto.SHA1); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("SHA-1: %v", err)
	}
	if _, _, err := c.Timestamp(ctxFor(t), make([]byte, 20), crypto.SHA256); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("short imprint: %v", err)
	}
	if st := c.Stats(); st.Requests != 0 {
		t.Fatalf("refused arguments were counted: %+v", st)
	}
	_, _, err := c.Timestamp(ctxFor(t), make([]byte, 32), crypto.SHA256)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("the password shows in %v", err)
	}
}

// Many concurrent calls share one client (run with -race).
func TestConcurrent(t *testing.T) {
	pki := newPKI(t)
	c := newClient(t, []string{closedURL(t), serve(t, NewServer(pki, nil))}, Options{Roots: pki.Roots()})
	var wg sync.WaitGroup
	const n = 16
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Timestamp(context.Background(), randomImprint(t, crypto.SHA256), crypto.SHA256)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Requests != n || st.TSAs[0].Failures != n || st.TSAs[1].Successes != n {
		t.Fatalf("stats %+v", st)
	}
}
