package tsa

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

func newPKI(t testing.TB) *devpki.PKI {
	t.Helper()
	p, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serve runs h on 127.0.0.1 for the test's lifetime and returns its URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedURL returns a URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/tsa"
}

// sleeper answers nothing until the client hangs up (or, at worst, 10 s later). It reads
// the request first: net/http notices a client hanging up only once the body is consumed.
func sleeper() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
}

// fakeTSA decodes each request and answers with whatever answer returns for it.
func fakeTSA(t *testing.T, answer func(req *tsRequest) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		req, err := parseRequest(body)
		if err != nil {
			t.Errorf("the client sent a bad request: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", mediaReply)
		w.Write(answer(req))
	})
}

// tokenSpec describes a token a fake TSA makes; zero fields take the request's values.
type tokenSpec struct {
	signer  *devpki.Identity
	imprint []byte
	nonce   *big.Int
	noNonce bool
	at      time.Time
	noCerts bool
	policy  []int
	status  int64
}

// grant returns a TimeStampResp for req made as spec says.
func grant(t testing.TB, req *tsRequest, spec tokenSpec) []byte {
	t.Helper()
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.hash,
		HashedMessage:     req.imprint,
		Time:              time.Now().UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		Policy:            devpki.TSAPolicy,
		Nonce:             req.nonce,
		AddTSACertificate: !spec.noCerts,
	}
	if spec.imprint != nil {
		ts.HashedMessage = spec.imprint
	}
	if spec.nonce != nil {
		ts.Nonce = spec.nonce
	}
	if spec.noNonce {
		ts.Nonce = nil
	}
	if !spec.at.IsZero() {
		ts.Time = spec.at.UTC().Truncate(time.Second)
	}
	if spec.policy != nil {
		ts.Policy = spec.policy
	}
	if !spec.noCerts {
		ts.Certificates = spec.signer.Chain[1 : len(spec.signer.Chain)-1]
	}
	resp, err := ts.CreateResponseWithOpts(spec.signer.Certificate(), spec.signer.Key, crypto.SHA256)
	if err != nil {
		t.Error(err)
		return nil
	}
	if spec.status != 0 {
		parsed, err := parseResponse(resp)
		if err != nil {
			t.Error(err)
			return nil
		}
		if resp, err = marshalResponse(spec.status, noFailInfo, "", parsed.token); err != nil {
			t.Error(err)
		}
	}
	return resp
}

func newClient(t *testing.T, urls []string, opts Options) *Client {
	t.Helper()
	c, err := NewClient(urls, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomImprint(t *testing.T, h crypto.Hash) []byte {
	t.Helper()
	b := make([]byte, h.Size())
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
