package pdfcore

import (
	"crypto/x509"
	"time"
)

// checkDocTimestamp judges a document time-stamp whose range covers its revision: its
// token is signed by a time-stamping certificate and its imprint is the range's hash.
func (v *verifier) checkDocTimestamp(r *SignatureReport, s *sigInfo) {
	switch {
	case s.ts == nil:
		r.Reason = "The document time-stamp holds no token."
	case s.ts.Err != nil:
		r.Reason = "The document time-stamp cannot be read or its signature does not verify: " + s.ts.Err.Error()
	case !s.ts.Covers(s.digest, s.ts.Hash):
		r.Reason = "The document was changed after it was time-stamped: the time-stamped bytes do not match the token's message imprint."
	default:
		r.Integrity = "valid"
	}
}

// describeTimestamp fills in the TSA and time of a document time-stamp.
func (v *verifier) describeTimestamp(r *SignatureReport, s *sigInfo) {
	if s.ts == nil {
		return
	}
	r.Timestamp.Present = true
	r.Timestamp.Valid = r.Integrity == "valid"
	r.Timestamp.Time = formatTime(s.ts.Time)
	r.Timestamp.TSA = s.ts.TSAName
	if c := s.ts.TSA; c != nil {
		r.Signer = subjectOf(c)
		r.Issuer = c.Issuer.CommonName
		if r.Issuer == "" {
			r.Issuer = c.Issuer.String()
		}
	}
}

// docStamp is a valid document time-stamp: proof that every earlier revision existed at time.
type docStamp struct {
	rev  int
	time time.Time
}

// longTerm judges what depends on the whole file: trust at the time each signature is
// proven to exist, revocation according to the embedded validation data, and the PAdES
// level (B-T by a signature or document time-stamp, B-LT when a later DSS holds validation
// data for the signer, B-LTA when a document time-stamp follows that DSS).
func (v *verifier) longTerm(sigs []*sigInfo, reps []SignatureReport) {
	var stamps []docStamp
	for i, s := range sigs {
		if s.docTS && reps[i].Integrity == "valid" && reps[i].Revision > 0 {
			stamps = append(stamps, docStamp{reps[i].Revision - 1, s.ts.Time})
		}
	}
	hasDSS := false
	for _, d := range v.distinctDSS() {
		hasDSS = hasDSS || !d.empty()
	}
	dssCerts := v.allDSSCerts()
	for i, s := range sigs {
		r := &reps[i]
		rev := r.Revision - 1
		leaf, certs, usage := s.subject()
		if leaf == nil {
			continue
		}
		issuer := issuerIn(leaf, append(append([]*x509.Certificate(nil), certs...), dssCerts...))
		// The proof of existence: the signature's own time-stamp, or the token itself for a
		// document time-stamp, or else the earliest document time-stamp after it.
		var poe time.Time
		switch {
		case s.docTS && r.Integrity == "valid":
			poe = s.ts.Time
		case s.cms != nil && r.Timestamp.Valid:
			poe = s.cms.Timestamp.Time
		}
		for _, st := range stamps {
			if rev >= 0 && st.rev > rev && (poe.IsZero() || st.time.Before(poe)) {
				poe = st.time
			}
		}
		at := poe
		if at.IsZero() {
			at = time.Now()
		}
		if v.opts.Roots != nil {
			r.CertificateTrusted = v.trusted(leaf, append(append([]*x509.Certificate(nil), certs...), dssCerts...), at, usage)
		}
		if rev < 0 {
			continue
		}
		if hasDSS {
			rr := v.revocation(leaf, issuer, at)
			r.Revocation = &rr
			if rr.Status == "revoked" && r.Integrity == "valid" {
				r.Integrity = "invalid"
				what := "signer's certificate"
				if s.docTS {
					what = "TSA's certificate"
				}
				r.Reason = "The " + what + " was revoked on " + rr.RevokedAt + ", before " + rr.CheckedAt +
					", the earliest time the signature is proven to exist (revocation data embedded in the document, " + rr.Source + ")."
			}
		}
		if !s.docTS {
			r.Level = v.level(rev, r.Timestamp.Valid, leaf, issuer, stamps)
		}
	}
}

// subject is the certificate a signature or document time-stamp is made with, the
// certificates that come with it, and the key usage its chain must allow.
func (s *sigInfo) subject() (*x509.Certificate, []*x509.Certificate, x509.ExtKeyUsage) {
	switch {
	case s.ts != nil:
		return s.ts.TSA, s.ts.Certificates, x509.ExtKeyUsageTimeStamping
	case s.cms != nil:
		return s.cms.Signer, s.cms.Certificates, x509.ExtKeyUsageAny
	}
	return nil, nil, 0
}

// trusted checks the chain to the caller's roots at time at, with the certificates of the
// signature and of the DSS as intermediates.
func (v *verifier) trusted(leaf *x509.Certificate, certs []*x509.Certificate, at time.Time, usage x509.ExtKeyUsage) bool {
	inter := x509.NewCertPool()
	for _, c := range certs {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: v.opts.Roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err == nil
}

// level is the PAdES baseline level of a signature in revision rev.
func (v *verifier) level(rev int, timestamped bool, leaf, issuer *x509.Certificate, stamps []docStamp) string {
	for _, st := range stamps {
		timestamped = timestamped || st.rev > rev
	}
	if !timestamped {
		return "B-B"
	}
	// Only evidence added after the signature counts: a CRL already in the DSS when it was
	// made (for an earlier signer of the same CA) says nothing about the signing time.
	before := map[*dssItem]bool{}
	judged := v.dssAt(rev)
	for _, it := range append(append([]*dssItem(nil), judged.ocsps...), judged.crls...) {
		before[it] = true
	}
	added := func(items []*dssItem) []*dssItem {
		var out []*dssItem
		for _, it := range items {
			if !before[it] {
				out = append(out, it)
			}
		}
		return out
	}
	lt := -1
	for k := rev + 1; k < len(v.revs) && lt < 0; k++ {
		d := v.dssAt(k)
		if d == judged {
			continue // the same DSS as the revision before
		}
		judged = d
		if len(d.certs) > 0 && d.mayCover(leaf) && len(v.evidence(leaf, issuer, added(d.ocsps), added(d.crls))) > 0 {
			lt = k
		}
	}
	if lt < 0 {
		return "B-T"
	}
	for _, st := range stamps {
		if st.rev > lt {
			return "B-LTA"
		}
	}
	return "B-LT"
}
