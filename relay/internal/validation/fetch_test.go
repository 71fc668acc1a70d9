package validation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"golang.org/x/crypto/ocsp"
)

// env is a dev PKI whose certificates point at a DevResponder on 127.0.0.1.
type env struct {
	pki   *devpki.PKI
	resp  *DevResponder
	url   string
	hits  atomic.Int64
	mux   *http.ServeMux
	fetch *Fetcher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{mux: http.NewServeMux()}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		e.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	e.url = hs.URL
	pki, err := devpki.NewWithURLs(DevURLs(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	e.pki = pki
	e.resp = NewDevResponder(pki)
	e.resp.Register(e.mux)
	e.fetch = New(Config{Roots: []*x509.Certificate{pki.Root()}, Timeout: 2 * time.Second, Total: 5 * time.Second})
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func statusOf(t *testing.T, der []byte, cert, issuer *x509.Certificate) int {
	t.Helper()
	r, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func TestFetchGoodRevokedUnknown(t *testing.T) {
	e := newEnv(t)
	id, err := e.pki.IssueQualified(person("Jan", "Peeters"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, ca := id.Chain[0], id.Chain[1]

	res, err := e.fetch.Fetch(ctx(t), id.Chain)
	if err != nil {
		t.Fatalf("good: %v", err)
	}
	// leaf (OCSP + CRL) and the qualified CA (OCSP + root CRL)
	if len(res.OCSPs) != 2 || len(res.CRLs) != 2 || len(res.Certs) != 3 || res.Covered != 2 {
		t.Fatalf("good: %d OCSP, %d CRL, %d certs, covered %d; problems %v", len(res.OCSPs), len(res.CRLs), len(res.Certs), res.Covered, res.Problems)
	}
	if st := statusOf(t, res.OCSPs[0], leaf, ca); st != ocsp.Good {
		t.Fatalf("good: status %d", st)
	}

	// Cached: the same question asks nobody again.
	before := e.hits.Load()
	if _, err := e.fetch.Fetch(ctx(t), id.Chain); err != nil {
		t.Fatal(err)
	}
	if e.hits.Load() != before {
		t.Fatalf("a cached answer was fetched again (%d requests)", e.hits.Load()-before)
	}

	// Revoked: a fresh fetcher (no cache) sees it in the OCSP response and the CRL.
	e.resp.Revoke(leaf.SerialNumber, time.Now().Add(-time.Hour))
	f := New(Config{Roots: []*x509.Certificate{e.pki.Root()}})
	res, err = f.Fetch(ctx(t), id.Chain[:2]) // without the root: completed from the trust list
	if err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, res.OCSPs[0], leaf, ca); st != ocsp.Revoked {
		t.Fatalf("revoked: OCSP status %d", st)
	}
	rl, err := x509.ParseRevocationList(res.CRLs[0])
	if err != nil || len(rl.RevokedCertificateEntries) != 1 || rl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("revoked: CRL %v %+v", err, rl)
	}
	if len(res.Certs) != 3 {
		t.Fatalf("the root was not added: %d certs", len(res.Certs))
	}

	// Unknown.
	e.resp.SetStatus(leaf.SerialNumber, devpki.CertStatus{Status: devpki.StatusUnknown})
	f = New(Config{Roots: []*x509.Certificate{e.pki.Root()}})
	res, err = f.Fetch(ctx(t), id.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, res.OCSPs[0], leaf, ca); st != ocsp.Unknown {
		t.Fatalf("unknown: OCSP status %d", st)
	}
}

func TestFetchRefusesUntrustedChain(t *testing.T) {
	e := newEnv(t)
	other, err := devpki.NewWithURLs(DevURLs(e.url))
	if err != nil {
		t.Fatal(err)
	}
	before := e.hits.Load()
	_, err = e.fetch.Fetch(ctx(t), other.Seal().Chain)
	var ue *UntrustedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted chain: %v", err)
	}
	// A chain whose links do not verify is refused too, even with a trusted root last.
	mixed := []*x509.Certificate{other.Seal().Chain[0], e.pki.QualifiedCA(), e.pki.Root()}
	if _, err := e.fetch.Fetch(ctx(t), mixed); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("spliced chain: %v", err)
	}
	if e.hits.Load() != before {
		t.Fatal("an untrusted chain caused requests")
	}
	if _, err := New(Config{}).Fetch(ctx(t), e.pki.Seal().Chain); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("empty trust list: %v", err)
	}
}

func TestFetchLimits(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte{0x30}, 10<<20)
	e.mux.HandleFunc("POST /huge/ocsp", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	e.mux.HandleFunc("GET /huge.crl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked") // no Content-Length: the reader must stop by itself
		for i := 0; i < 10; i++ {
			w.Write(big[:1<<20])
			w.(http.Flusher).Flush()
		}
	})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.mux.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	e.mux.HandleFunc("/redirect.crl", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})

	e.pki.SetURLs(devpki.URLs{OCSP: e.url + "/huge/ocsp", CRL: e.url + "/huge.crl"})
	huge, err := e.pki.IssueQualified(person("Huge", "Answer"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.fetch.Fetch(ctx(t), huge.Chain[:2])
	// The CA's own URLs still work (covered 1); the leaf's answers must all be refused.
	if res == nil || res.Covered != 1 || !strings.Contains(strings.Join(res.Problems, "\n"), "bytes") {
		t.Fatalf("10 MB answers: err %v, result %+v", err, res)
	}
	for _, p := range res.Problems {
		if strings.Contains(p, "Huge") && !strings.Contains(p, "accepted") {
			t.Fatalf("10 MB answer refused for another reason: %s", p)
		}
	}

	e.pki.SetURLs(devpki.URLs{OCSP: e.url + "/slow/ocsp", CRL: "ldap://example.invalid/crl"})
	slow, err := e.pki.IssueQualified(person("Slow", "Server"))
	if err != nil {
		t.Fatal(err)
	}
	f := New(Config{Roots: []*x509.Certificate{e.pki.Root()}, Timeout: 300 * time.Millisecond, Total: 2 * time.Second})
	start := time.Now()
	res, _ = f.Fetch(ctx(t), []*x509.Certificate{slow.Chain[0], slow.Chain[1]})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a slow server held the fetch for %v", d)
	}
	problems := strings.Join(res.Problems, "\n")
	if !strings.Contains(problems, "within") || !strings.Contains(problems, "not an http or https URL") {
		t.Fatalf("slow server / ldap URL: %s", problems)
	}

	e.pki.SetURLs(devpki.URLs{CRL: e.url + "/redirect.crl"})
	redir, err := e.pki.IssueQualified(person("Re", "Direct"))
	if err != nil {
		t.Fatal(err)
	}
	res, _ = f.Fetch(ctx(t), redir.Chain)
	if !strings.Contains(strings.Join(res.Problems, "\n"), "redirect") {
		t.Fatalf("redirect to file: %v", res.Problems)
	}
}

func TestCacheBounded(t *testing.T) {
	f := New(Config{CacheSize: 3})
	for i := 0; i < 10; i++ {
		f.store(string(rune('a'+i)), []byte{1}, time.Now().Add(time.Duration(i+1)*time.Minute))
	}
	if f.CacheLen() != 3 {
		t.Fatalf("cache holds %d entries", f.CacheLen())
	}
	if f.cached("j") == nil || f.cached("a") != nil {
		t.Fatal("the entry expiring first was not the one dropped")
	}
	f.store("old", []byte{1}, time.Now().Add(-time.Minute))
	if f.cached("old") != nil {
		t.Fatal("an expired entry was served")
	}
}

func TestDevRevokeEndpoint(t *testing.T) {
	e := newEnv(t)
	seal := e.pki.Seal().Chain[0]
	resp, err := http.Post(e.url+DevRevokePath+"?serial="+seal.SerialNumber.Text(16), "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %v %v", err, resp)
	}
	if st := e.resp.status(seal.SerialNumber); st.Status != devpki.StatusRevoked {
		t.Fatalf("status %+v", st)
	}
}

// person is a dev subject; qualified certificates need a valid national number.
func person(given, surname string) devpki.Person {
	return devpki.Person{GivenName: given, Surname: surname, Country: "XX", SerialNumber: "PNOXX-" + given}
}
