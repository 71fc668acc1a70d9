package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

func post(t *testing.T, u, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(u, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func TestServerGrants(t *testing.T) {
	pki := newPKI(t)
	at := time.Date(2030, 5, 6, 7, 8, 9, 500, time.FixedZone("CEST", 2*3600))
	u := serve(t, NewServer(pki, func() time.Time { return at }))
	imprint := randomImprint(t, crypto.SHA384)
	nonce := new(big.Int).Lsh(big.NewInt(12345), 100) // longer than the client's own
	for _, certReq := range []bool{true, false} {
		req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA384, HashedMessage: imprint, Nonce: nonce, Certificates: certReq, TSAPolicyOID: devpki.TSAPolicy}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp, body := post(t, u, mediaQuery, req)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mediaReply {
			t.Fatalf("HTTP %s, %q", resp.Status, resp.Header.Get("Content-Type"))
		}
		parsed, err := parseResponse(body)
		if err != nil || parsed.status != statusGranted {
			t.Fatalf("%+v, %v", parsed, err)
		}
		p7 := parsed.token
		ts, err := timestamp.Parse(p7)
		if err != nil {
			t.Fatal(err)
		}
		if !ts.Time.Equal(at.Truncate(time.Second)) || ts.Time.Location() != time.UTC || ts.Nonce.Cmp(nonce) != 0 || !bytes.Equal(ts.HashedMessage, imprint) ||
			ts.HashAlgorithm != crypto.SHA384 || !ts.Policy.Equal(devpki.TSAPolicy) || ts.Accuracy != time.Second {
			t.Fatalf("token %+v", ts)
		}
		if certReq && (len(ts.Certificates) != 2 || !ts.Certificates[0].Equal(pki.TSA().Certificate()) && !ts.Certificates[1].Equal(pki.TSA().Certificate())) {
			t.Fatalf("certReq: %d certificates", len(ts.Certificates))
		}
		if !certReq && len(ts.Certificates) != 0 {
			t.Fatalf("no certReq: %d certificates", len(ts.Certificates))
		}
	}
}

func TestServerRejects(t *testing.T) {
	pki := newPKI(t)
	u := serve(t, NewServer(pki, nil))
	marshal := func(r *timestamp.Request) []byte {
		der, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	imprint := randomImprint(t, crypto.SHA256)
	cases := []struct {
		name string
		body []byte
		fail int
	}{
		{"garbage", []byte("hello"), failBadDataFormat},
		{"empty", nil, failBadDataFormat},
		{"trailing data", append(marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint}), 0), failBadDataFormat},
		{"SHA-1", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: imprint[:20]}), failBadAlg},
		{"short imprint", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:20]}), failBadDataFormat},
		{"other policy", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint, TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}), failUnacceptedPolicy},
		{"extension", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint,
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{5, 0}}}}), failUnacceptedExtension},
		{"too large", bytes.Repeat([]byte{0x30}, defaultMaxRequest+1), failBadDataFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, u, mediaQuery, tc.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mediaReply {
				t.Fatalf("HTTP %s, %q", resp.Status, resp.Header.Get("Content-Type"))
			}
			parsed, err := parseResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.status != statusRejection || len(parsed.failInfo) != 1 || parsed.failInfo[0] != tc.fail || parsed.token != nil || len(parsed.text) != 1 {
				t.Fatalf("answer %+v", parsed)
			}
			t.Log(parsed.describe())
		})
	}

	if resp, _ := post(t, u, "text/plain", marshal(&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint})); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("wrong content type: HTTP %s", resp.Status)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET: HTTP %s", resp.Status)
	}
}

// A request made by `openssl ts -query` gets a reply that `openssl ts -verify -queryfile`
// accepts: openssl checks the imprint, the nonce and the signature on its own.
func TestServerOpenSSLQuery(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	pki := newPKI(t)
	u := serve(t, NewServer(pki, nil))
	dir := t.TempDir()
	data := writeFile(t, dir, "data.bin", []byte("a signature value"))
	query := filepath.Join(dir, "req.tsq")
	if out, err := exec.Command(openssl, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query).CombinedOutput(); err != nil {
		t.Fatalf("openssl ts -query: %v\n%s", err, out)
	}
	reqDER := readFile(t, query)
	resp, body := post(t, u, mediaQuery, reqDER)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %s", resp.Status)
	}
	reply := writeFile(t, dir, "resp.tsr", body)
	root := writeFile(t, dir, "root.pem", pki.RootPEM())
	out, err := exec.Command(openssl, "ts", "-verify", "-queryfile", query, "-in", reply, "-CAfile", root).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify -queryfile: %v\n%s", err, out)
	}
}
