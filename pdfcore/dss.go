package pdfcore

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfwrite"
	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ValidationData is what a document security store (DSS, ISO 32000-2 12.8.4.3) keeps so a
// signature can be validated after its certificates expire or their CA is gone: DER
// certificates, OCSP responses (RFC 6960 OCSPResponse) and CRLs (RFC 5280). The relay fetches
// them; pdfcore does no network.
type ValidationData struct {
	Certs [][]byte `json:"certs,omitempty"`
	OCSPs [][]byte `json:"ocsps,omitempty"`
	CRLs  [][]byte `json:"crls,omitempty"`
}

// AddValidationData returns one incremental update, to append to doc's bytes, that adds vd
// to the document's DSS (PAdES B-LT): one stream per item, the DSS dictionary written anew
// with the existing entries kept (a /VRI too, though none is written by default) and the new
// streams appended, and the catalog rewritten to point at it — the change verifiers allow
// after signatures (ours calls it dss-added, pyHanko LTA_UPDATES). Items the DSS already holds
// (same bytes) are not added twice; when nothing is new the update is nil. Every item must
// parse as what it claims to be; on error nothing is written.
func AddValidationData(doc *Document, vd ValidationData) ([]byte, error) {
	update, err := addValidationData(doc, vd)
	return afterReading(doc, update, err)
}

func addValidationData(doc *Document, vd ValidationData) ([]byte, error) {
	if err := vd.check(); err != nil {
		return nil, err
	}
	old, err := doc.f.Dict(doc.catalog["DSS"])
	if err != nil {
		return nil, readError(err)
	}
	dss := types.Dict{"Type": types.Name("DSS")}
	for k, val := range old {
		dss[k] = val
	}
	u := pdfwrite.New(doc.f)
	added := 0
	for _, key := range []struct {
		name  string
		items [][]byte
	}{{"Certs", vd.Certs}, {"OCSPs", vd.OCSPs}, {"CRLs", vd.CRLs}} {
		arr, have, err := existingStreams(doc, old[key.name])
		if err != nil {
			return nil, err
		}
		for _, der := range key.items {
			if have[string(der)] {
				continue
			}
			have[string(der)] = true
			n := u.Alloc()
			// Uncompressed: DER hardly deflates, and every reader gets the bytes as they are.
			u.Set(n, rawobj.Stream("", der, false))
			arr = append(arr, ref(n))
			added++
		}
		if len(arr) > 0 {
			dss[key.name] = arr
		}
	}
	if added == 0 {
		return nil, nil
	}
	// A new DSS object rather than the old one redefined: the only existing object that
	// changes is the catalog, and only its /DSS entry.
	num := u.Alloc()
	u.SetObject(num, dss)
	cat := clone(doc.catalog)
	cat["DSS"] = ref(num)
	u.SetObject(doc.catalogNum, cat)
	res, err := u.Write()
	if err != nil {
		return nil, err
	}
	return res.Bytes, nil
}

// existingStreams returns the members of one DSS array (kept as they are) and the decoded
// contents it already holds.
func existingStreams(doc *Document, o types.Object) (types.Array, map[string]bool, error) {
	have := map[string]bool{}
	r, err := doc.f.Resolve(o)
	if err != nil {
		return nil, nil, readError(err)
	}
	old, _ := r.(types.Array)
	arr := make(types.Array, 0, len(old))
	for _, m := range old {
		arr = append(arr, m)
		if mr, ok := m.(types.IndirectRef); ok {
			if b, err := doc.f.StreamContent(mr.ObjectNumber.Value()); err == nil {
				have[string(b)] = true
			}
		}
	}
	return arr, have, nil
}

// check parses every item: a DSS is no place for bytes that are not what they claim.
func (vd ValidationData) check() error {
	if len(vd.Certs)+len(vd.OCSPs)+len(vd.CRLs) == 0 {
		return newError(CodeBadValidationData, "No validation data was given (certificates, OCSP responses or CRLs).")
	}
	for i, der := range vd.Certs {
		if _, err := x509.ParseCertificate(der); err != nil {
			return &Error{Code: CodeBadValidationData, Msg: "Certificate " + strconv.Itoa(i+1) + " of the validation data is not a DER certificate: " + err.Error(), Err: err}
		}
	}
	for i, der := range vd.OCSPs {
		if !successfulOCSP(der) {
			return newError(CodeBadValidationData, "OCSP response %d of the validation data is not a successful DER OCSP response.", i+1)
		}
	}
	for i, der := range vd.CRLs {
		if _, err := x509.ParseRevocationList(der); err != nil {
			return &Error{Code: CodeBadValidationData, Msg: "CRL " + strconv.Itoa(i+1) + " of the validation data is not a DER CRL: " + err.Error(), Err: err}
		}
	}
	return nil
}

// successfulOCSP checks the outer OCSPResponse (RFC 6960 4.2.1): status successful (0) and
// response bytes, nothing after. The inside is the verifier's business; a response that
// covers several certificates is welcome.
func successfulOCSP(der []byte) bool {
	in := cryptobyte.String(der)
	var resp, status cryptobyte.String
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !in.Empty() {
		return false
	}
	if !resp.ReadASN1(&status, cbasn1.ENUM) || len(status) != 1 || status[0] != 0 {
		return false
	}
	return resp.SkipASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) && resp.Empty()
}

// CertificateChains lists the certificate chains a DSS should carry validation data for:
// for each signature of doc its signer's and its signature time-stamp's TSA's, and for each
// document time-stamp its TSA's. Each chain is leaf first, as far as the certificates in the
// document (CMS, tokens, DSS) reach, usually to the root. The relay asks the OCSP responder
// and CRL distribution point of every certificate but the root.
func CertificateChains(doc *Document) ([][]*x509.Certificate, error) {
	v := newVerifier(doc, VerifyOptions{})
	pool := v.allDSSCerts()
	var out [][]*x509.Certificate
	add := func(leaf *x509.Certificate, certs []*x509.Certificate) {
		if leaf == nil {
			return
		}
		for _, c := range out {
			if bytes.Equal(c[0].Raw, leaf.Raw) {
				return
			}
		}
		out = append(out, buildChain(leaf, append(append([]*x509.Certificate(nil), certs...), pool...)))
	}
	for _, s := range v.collect() {
		if s.ts != nil {
			add(s.ts.TSA, s.ts.Certificates)
		}
		if s.cms != nil {
			add(s.cms.Signer, s.cms.Certificates)
			if t := s.cms.Timestamp; t != nil {
				add(t.TSA, t.Certificates)
			}
		}
	}
	if err := cmp.Or(v.readErr, v.f.ReadErr()); err != nil {
		return nil, readError(err)
	}
	return out, nil
}

// buildChain follows issuers through pool from leaf: by name and by signature, to a
// self-signed certificate or as far as pool reaches.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) < 10; {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) {
			break
		}
		next := issuerIn(cur, pool)
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	return chain
}

// issuerIn finds the certificate of pool that issued c.
func issuerIn(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, p := range pool {
		if p != nil && bytes.Equal(p.RawSubject, c.RawIssuer) && !bytes.Equal(p.Raw, c.Raw) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}
