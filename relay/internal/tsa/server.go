package tsa

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// server is the development TSA: RFC 3161 over HTTP (§3.4), signed by the dev PKI's TSA.
type server struct {
	tsa *devpki.Identity
	now func() time.Time
}

// NewServer returns an HTTP handler that time-stamps with pki's TSA identity, dated by now
// (time.Now when nil). It answers POSTed application/timestamp-query bodies of at most
// 8 KiB with application/timestamp-reply: a granted TimeStampResp whose token carries the
// request's imprint and nonce, devpki.TSAPolicy, and (when certReq is set) the TSA
// certificate and its issuing CA; or, for a request it cannot serve, a rejection with the
// PKIFailureInfo that says why. Only a wrong method or content type is refused at the HTTP
// level (405, 415). Development only: nothing limits who may ask.
func NewServer(pki *devpki.PKI, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return &server{tsa: pki.TSA(), now: now}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "RFC 3161 time-stamp requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != mediaQuery {
		http.Error(w, "the body must be "+mediaQuery, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, defaultMaxRequest))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if !errors.As(err, &tooLarge) {
			return // the client went away; there is nobody to answer
		}
		s.reject(w, failBadDataFormat, fmt.Sprintf("the request exceeds %d bytes", defaultMaxRequest))
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			s.reject(w, re.failInfo, re.msg)
			return
		}
		s.reject(w, failBadDataFormat, "the request is malformed")
		return
	}
	switch {
	case req.hash == 0 || !imprintHash(req.hash):
		s.reject(w, failBadAlg, fmt.Sprintf("the hash algorithm %v is not accepted (SHA-256, SHA-384, SHA-512)", req.hashOID))
		return
	case len(req.imprint) != req.hash.Size():
		s.reject(w, failBadDataFormat, fmt.Sprintf("the imprint has %d bytes, %v makes %d", len(req.imprint), req.hash, req.hash.Size()))
		return
	case req.policy != nil && !req.policy.Equal(devpki.TSAPolicy):
		s.reject(w, failUnacceptedPolicy, fmt.Sprintf("this TSA only issues under policy %v", devpki.TSAPolicy))
		return
	case req.extensions > 0:
		// RFC 3161 §2.4.1: an extension the server does not know, critical or not, fails.
		s.reject(w, failUnacceptedExtension, "this TSA supports no request extensions")
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.hash,
		HashedMessage: req.imprint,
		// DER GeneralizedTime is UTC; the library writes whatever zone it is given.
		Time:              s.now().UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		Policy:            devpki.TSAPolicy,
		Nonce:             req.nonce,
		AddTSACertificate: req.certReq,
	}
	if req.certReq {
		ts.Certificates = s.tsa.Chain[1 : len(s.tsa.Chain)-1] // the issuing CA; never the root
	}
	resp, err := ts.CreateResponseWithOpts(s.tsa.Certificate(), s.tsa.Key, crypto.SHA256)
	if err != nil {
		s.reject(w, failSystemFailure, "the token could not be signed")
		return
	}
	s.reply(w, resp)
}

func (s *server) reject(w http.ResponseWriter, failInfo int, text string) {
	resp, err := marshalResponse(statusRejection, failInfo, text, nil)
	if err != nil {
		http.Error(w, "cannot encode the rejection", http.StatusInternalServerError)
		return
	}
	s.reply(w, resp)
}

func (s *server) reply(w http.ResponseWriter, resp []byte) {
	w.Header().Set("Content-Type", mediaReply)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}
