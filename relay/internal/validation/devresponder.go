package validation

import (
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// Paths the dev responder serves, under the relay's base URL (relay serve --demo).
const (
	DevOCSPPath    = "/dev/ocsp"
	DevCRLPath     = "/dev/crl/qualified.crl"
	DevRootCRLPath = "/dev/crl/root.crl"
	DevRevokePath  = "/dev/revoke"
)

// DevURLs are the revocation URLs of a dev PKI served by a DevResponder at base.
func DevURLs(base string) devpki.URLs {
	base = strings.TrimSuffix(base, "/")
	return devpki.URLs{OCSP: base + DevOCSPPath, CRL: base + DevCRLPath, RootCRL: base + DevRootCRLPath}
}

// DevResponder is the demo's revocation service for the dev PKI: an OCSP responder (POST,
// or GET with the base64 request in the path) and the CRLs of the qualified CA and the root.
// Every certificate is good unless marked otherwise with SetStatus or POST /dev/revoke,
// which only a loopback client may call. It is development only.
type DevResponder struct {
	pki *devpki.PKI
	mu  sync.Mutex
	st  map[string]devpki.CertStatus // serial (decimal) → status
}

// NewDevResponder serves pki's revocation data.
func NewDevResponder(pki *devpki.PKI) *DevResponder {
	return &DevResponder{pki: pki, st: map[string]devpki.CertStatus{}}
}

// SetStatus sets what the responder says of serial from now on (and whether the CRLs
// list it: only revoked ones are).
func (d *DevResponder) SetStatus(serial *big.Int, st devpki.CertStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st[serial.String()] = st
}

// Revoke marks serial revoked at at (keyCompromise).
func (d *DevResponder) Revoke(serial *big.Int, at time.Time) {
	d.SetStatus(serial, devpki.CertStatus{Status: devpki.StatusRevoked, RevokedAt: at, Reason: 1})
}

func (d *DevResponder) status(serial *big.Int) devpki.CertStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.st[serial.String()]; ok {
		return st
	}
	return devpki.CertStatus{Status: devpki.StatusGood}
}

// revoked lists the revoked serials; root selects the qualified CA's own certificate
// (listed by the root's CRL), else every other one (the qualified CA's CRL).
func (d *DevResponder) revoked(root bool) []devpki.Revoked {
	ca := d.pki.QualifiedCA().SerialNumber.String()
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []devpki.Revoked
	for s, st := range d.st {
		if st.Status != devpki.StatusRevoked || (s == ca) != root {
			continue
		}
		n, _ := new(big.Int).SetString(s, 10)
		out = append(out, devpki.Revoked{Serial: n, At: st.RevokedAt, Reason: st.Reason})
	}
	return out
}

// Register mounts the responder's endpoints on mux.
func (d *DevResponder) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+DevOCSPPath, d.serveOCSP)
	mux.HandleFunc("GET "+DevOCSPPath+"/{req...}", d.serveOCSP)
	mux.HandleFunc("GET "+DevCRLPath, func(w http.ResponseWriter, r *http.Request) { d.serveCRL(w, false) })
	mux.HandleFunc("GET "+DevRootCRLPath, func(w http.ResponseWriter, r *http.Request) { d.serveCRL(w, true) })
	mux.HandleFunc("POST "+DevRevokePath, d.serveRevoke)
}

func (d *DevResponder) serveOCSP(w http.ResponseWriter, r *http.Request) {
	var req []byte
	var err error
	if r.Method == http.MethodGet {
		req, err = base64.StdEncoding.DecodeString(r.PathValue("req"))
	} else {
		req, err = io.ReadAll(io.LimitReader(r.Body, 16<<10))
	}
	if err != nil {
		http.Error(w, "bad OCSP request", http.StatusBadRequest)
		return
	}
	resp, err := d.pki.OCSPRespond(req, d.status, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}

func (d *DevResponder) serveCRL(w http.ResponseWriter, root bool) {
	var der []byte
	var err error
	if root {
		der, err = d.pki.RootCRL(d.revoked(true), time.Now())
	} else {
		der, err = d.pki.CRL(d.revoked(false), time.Now())
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}

// serveRevoke: POST /dev/revoke?serial=HEX[&status=revoked|unknown|good][&at=RFC3339],
// loopback clients only. Revoked defaults to a minute ago.
func (d *DevResponder) serveRevoke(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "only loopback clients may change the demo's revocation status", http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	serial, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(q.Get("serial")), "0x"), 16)
	if !ok || serial.Sign() <= 0 {
		http.Error(w, "serial must be the certificate's serial number in hex", http.StatusBadRequest)
		return
	}
	at := time.Now().Add(-time.Minute)
	if s := q.Get("at"); s != "" {
		if at, err = time.Parse(time.RFC3339, s); err != nil {
			http.Error(w, "at must be RFC 3339", http.StatusBadRequest)
			return
		}
	}
	switch q.Get("status") {
	case "", "revoked":
		d.Revoke(serial, at)
	case "unknown":
		d.SetStatus(serial, devpki.CertStatus{Status: devpki.StatusUnknown})
	case "good":
		d.SetStatus(serial, devpki.CertStatus{Status: devpki.StatusGood})
	default:
		http.Error(w, "status must be revoked, unknown or good", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
