package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/internal/testtool"
)

// opensslConfig is the whole openssl configuration of the interop TSA: the extensions of
// its CA and TSA certificates and the `openssl ts -reply` settings.
const opensslConfig = `
[ req ]
distinguished_name = req_dn
[ req_dn ]

[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ tsa_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ tsa ]
default_tsa = interop_tsa

[ interop_tsa ]
dir = DIR
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 2.999.3161.7
other_policies = 2.999.3161.8
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
ordering = no
tsa_name = yes
ess_cert_id_chain = no
`

var interopPolicy = asn1.ObjectIdentifier{2, 999, 3161, 7}

// opensslTSA is a TSA nobody here wrote: a CA and a TSA certificate made by openssl, and
// every answer made by `openssl ts -reply`.
type opensslTSA struct {
	openssl, dir, config string
	ca                   *x509.Certificate
	mu                   sync.Mutex // openssl ts -reply rewrites the serial file
	replies              atomic.Int64
}

func newOpenSSLTSA(t *testing.T) *opensslTSA {
	t.Helper()
	o := &opensslTSA{openssl: testtool.Require(t, "openssl"), dir: t.TempDir()}
	o.config = writeFile(t, o.dir, "openssl.cnf", []byte(strings.Replace(opensslConfig, "DIR", o.dir, 1)))
	writeFile(t, o.dir, "serial", []byte("01\n"))
	o.run(t, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", o.path("ca.key"),
		"-out", o.path("ca.pem"), "-subj", "/O=openssl interop/CN=Interop Root CA", "-days", "2", "-extensions", "ca_ext")
	o.run(t, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", o.path("tsa.key"), "-out", o.path("tsa.csr"),
		"-subj", "/O=openssl interop/CN=Interop TSA")
	o.run(t, "x509", "-req", "-in", o.path("tsa.csr"), "-CA", o.path("ca.pem"), "-CAkey", o.path("ca.key"), "-set_serial", "4242",
		"-days", "1", "-extfile", o.config, "-extensions", "tsa_ext", "-out", o.path("tsa.pem"))
	block, _ := pem.Decode(readFile(t, o.path("ca.pem")))
	if block == nil {
		t.Fatal("no CA certificate")
	}
	var err error
	if o.ca, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *opensslTSA) path(name string) string { return filepath.Join(o.dir, name) }

func (o *opensslTSA) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(o.openssl, args...)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+o.config)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ServeHTTP writes the request to a file, runs `openssl ts -reply` on it and returns what
// openssl wrote.
func (o *opensslTSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := strconv.FormatInt(o.replies.Add(1), 10)
	query, reply := o.path("req"+n+".tsq"), o.path("resp"+n+".tsr")
	if err := os.WriteFile(query, body, 0o600); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := exec.CommandContext(r.Context(), o.openssl, "ts", "-reply", "-config", o.config, "-queryfile", query, "-out", reply).CombinedOutput()
	if err != nil {
		http.Error(w, "openssl ts -reply: "+err.Error()+"\n"+string(out), http.StatusInternalServerError)
		return
	}
	resp, err := os.ReadFile(reply)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaReply)
	w.Write(resp)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenSSLTSA(t *testing.T) {
	o := newOpenSSLTSA(t)
	u := serve(t, o)
	c := newClient(t, []string{u}, Options{Roots: pool(o.ca), Timeout: 10 * time.Second, Total: 20 * time.Second})
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
		imprint := randomImprint(t, h)
		token, _, err := c.Timestamp(ctxFor(t), imprint, h)
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		ts, err := timestamp.Parse(token)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ts.HashedMessage, imprint) || !ts.Policy.Equal(interopPolicy) || len(ts.Certificates) == 0 ||
			ts.Accuracy != 1500*time.Millisecond || time.Since(ts.Time).Abs() > time.Minute {
			t.Fatalf("%v: token %+v", h, ts)
		}
	}

	// A policy the TSA offers is granted; one it does not is rejected by openssl itself.
	c = newClient(t, []string{u}, Options{Roots: pool(o.ca), Policy: asn1.ObjectIdentifier{2, 999, 3161, 8}, Timeout: 10 * time.Second})
	if _, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA384), crypto.SHA384); err != nil {
		t.Fatalf("other_policies: %v", err)
	}
	c = newClient(t, []string{u}, Options{Roots: pool(o.ca), Policy: asn1.ObjectIdentifier{2, 999, 3161, 9}, Timeout: 10 * time.Second})
	_, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "unacceptedPolicy") {
		t.Fatalf("unknown policy: %v", err)
	}
	t.Log(err)

	// Without the interop CA among the roots the same tokens are refused.
	c = newClient(t, []string{u}, Options{Roots: newPKI(t).Roots(), Timeout: 10 * time.Second})
	if _, _, err := c.Timestamp(ctxFor(t), randomImprint(t, crypto.SHA256), crypto.SHA256); !errors.Is(err, ErrInvalidResponse) || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("untrusted root: %v", err)
	}
}
