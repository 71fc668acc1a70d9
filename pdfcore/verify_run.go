package pdfcore

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding"
	"encoding/asn1"
	"hash"
	"sort"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// Verify checks every signature of pdf: integrity over its byte range, what the range
// covers, the signer's certificate, its timestamp and level, and every change made by the
// revisions after it. The file is hashed once whatever the number of signatures, and the
// change analysis reads only the objects later revisions define.
func Verify(pdf []byte, opts VerifyOptions) (*Report, error) {
	doc, err := Open(pdf)
	if err != nil {
		return nil, err
	}
	return VerifyDocument(doc, opts)
}

// VerifyDocument is Verify of an open document. One opened with OpenReaderAt is hashed in
// chunks read straight from its source, so verifying never holds a copy of the file (the
// browser verifies the page's buffer this way).
func VerifyDocument(doc *Document, opts VerifyOptions) (*Report, error) {
	v := newVerifier(doc, opts)
	rep := &Report{Revisions: len(v.revs), Signatures: []SignatureReport{}}
	sigs := v.collect()
	v.changesListed = changesListed(len(sigs))
	v.hashAll(sigs)
	for _, s := range sigs {
		rep.Signatures = append(rep.Signatures, v.report(s))
	}
	// Levels, trust and revocation need every signature judged first: a document
	// time-stamp in a later revision can carry an earlier signature to B-T or B-LTA.
	v.longTerm(sigs, rep.Signatures)
	v.summarise(rep)
	if err := cmp.Or(v.readErr, v.f.ReadErr()); err != nil {
		return nil, readError(err) // a report on bytes that could not be read says nothing
	}
	return rep, nil
}

func newVerifier(doc *Document, opts VerifyOptions) *verifier {
	return &verifier{doc: doc, f: doc.f, size: doc.f.Len(), opts: opts, revs: doc.f.Revisions(),
		cache: map[[2]int64]types.Object{}, dss: map[int]*dssData{}, items: map[[3]int64]*dssItem{}, proofs: map[proofKey]*proof{}}
}

// span returns the file's bytes [off, end): small ranges (an object's text, the /Contents
// gap, end-of-line bytes). A read error is kept for the caller and reads as no bytes.
func (v *verifier) span(off, end int64) []byte {
	b, err := v.f.Span(off, end)
	if err != nil {
		v.readErr = cmp.Or(v.readErr, err)
		return nil
	}
	return b
}

// hashRange feeds the file's bytes [off, end) to h.
func (v *verifier) hashRange(h hash.Hash, off, end int64) {
	if err := v.f.WriteRange(h, off, end); err != nil {
		v.readErr = cmp.Or(v.readErr, err)
	}
}

type verifier struct {
	doc  *Document
	f    *pdfread.File
	size int64 // the file's length
	// readErr is the first error reading the file (only a document opened over an
	// io.ReaderAt can have one).
	readErr error
	opts    VerifyOptions
	revs    []pdfread.Revision
	cache   map[[2]int64]types.Object
	dss     map[int]*dssData // the DSS as of each revision, read on demand
	// items are the parsed DSS streams by version, proofs what each says of a certificate
	items  map[[3]int64]*dssItem
	proofs map[proofKey]*proof
	// revChanges memoises revisionChanges: every signature before revision k sees the
	// same changes in it.
	revChanges map[int][]Change
	// changesListed is how many changes each signature's report lists (changesListed).
	changesListed int
}

// sigInfo is a signature as found in the file, before judgement.
type sigInfo struct {
	field    *SignatureField
	dict     types.Dict
	dictNum  int
	br       []int64
	contents []byte
	cms      *cms.Signature
	cmsErr   error
	ts       *cms.Timestamp // the token of a document time-stamp
	hashAlg  crypto.Hash    // the CMS's digest algorithm, or the token's imprint hash
	digest   []byte         // hash of the byte ranges with hashAlg
	docTS    bool           // a document timestamp (/Type /DocTimeStamp)
	mdp      int            // DocMDP P of a certification signature
}

func (s *sigInfo) end() int64 {
	if len(s.br) != 4 {
		return -1
	}
	return s.br[2] + s.br[3]
}

// collect reads the value of every signed field.
func (v *verifier) collect() []*sigInfo {
	var out []*sigInfo
	for i := range v.doc.Fields {
		fl := &v.doc.Fields[i]
		if !fl.Signed {
			continue
		}
		fd, err := v.f.Dict(ref(fl.num))
		if err != nil || fd == nil {
			continue
		}
		s := &sigInfo{field: fl}
		val := fd["V"]
		if val == nil && fl.widgetNum != fl.num { // /V on the widget kid, as pdfsig writes it
			if wd, _ := v.f.Dict(ref(fl.widgetNum)); wd != nil {
				val = wd["V"]
			}
		}
		if r, ok := val.(types.IndirectRef); ok {
			s.dictNum = r.ObjectNumber.Value()
		}
		s.dict, _ = v.f.Dict(val)
		if s.dict == nil {
			out = append(out, s)
			continue
		}
		if t, ok := s.dict["Type"].(types.Name); ok && t == "DocTimeStamp" {
			s.docTS = true
		}
		if br, err := v.f.Resolve(s.dict["ByteRange"]); err == nil {
			if a, ok := br.(types.Array); ok {
				for _, x := range a {
					if n, ok := x.(types.Integer); ok {
						s.br = append(s.br, int64(n))
					}
				}
			}
		}
		s.contents = stringBytes(s.dict["Contents"])
		s.mdp = docMDPOf(v.f, s.dict)
		if s.docTS {
			if len(s.contents) > 0 {
				s.ts = cms.ParseTimestampToken(trimZeros(s.contents))
				s.hashAlg = s.ts.Hash
			}
		} else {
			s.cms, s.cmsErr = cms.Parse(trimZeros(s.contents))
			if s.cms != nil {
				s.hashAlg = s.cms.DigestAlgorithm
			}
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].end() < out[j].end() })
	return out
}

// stringBytes returns the bytes of a PDF string object (literal or hex).
func stringBytes(o types.Object) []byte {
	switch s := o.(type) {
	case types.HexLiteral:
		b, err := s.Bytes()
		if err == nil {
			return b
		}
	case types.StringLiteral:
		b, err := types.Unescape(string(s))
		if err == nil {
			return b
		}
	}
	return nil
}

// trimZeros drops the zero padding after the DER value: the DER length says where it ends.
func trimZeros(b []byte) []byte {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(b, &raw)
	if err != nil {
		return b
	}
	return b[:len(b)-len(rest)]
}

func docMDPOf(f *pdfread.File, sig types.Dict) int {
	refs, err := f.Resolve(sig["Reference"])
	if err != nil {
		return 0
	}
	arr, _ := refs.(types.Array)
	for _, r := range arr {
		d, err := f.Dict(r)
		if err != nil || d == nil {
			continue
		}
		if m, ok := d["TransformMethod"].(types.Name); ok && m == "DocMDP" {
			p, _ := f.Dict(d["TransformParams"])
			if n, ok := p["P"].(types.Integer); ok {
				return int(n)
			}
			return 2
		}
	}
	return 0
}

// hashAll computes every signature's digest in one pass over the file: a running hash of
// the file from its start is cloned (through its serialised state) at each signature's
// gap, and the clone takes the rest of that signature's range. Signatures in later
// revisions reuse the prefix that earlier ones hashed.
func (v *verifier) hashAll(sigs []*sigInfo) {
	running := map[crypto.Hash]hash.Hash{}
	pos := map[crypto.Hash]int64{}
	size := v.size
	order := append([]*sigInfo(nil), sigs...)
	sort.SliceStable(order, func(i, j int) bool { return gapStart(order[i]) < gapStart(order[j]) })
	for _, s := range order {
		h := s.hashAlg
		if h == 0 || !validRange(s.br, size) || !h.Available() {
			continue
		}
		if running[h] == nil {
			running[h] = h.New()
		}
		r := running[h]
		if s.br[1] < pos[h] { // ranges out of order: hash this one on its own
			d := h.New()
			v.hashRange(d, s.br[0], s.br[0]+s.br[1])
			v.hashRange(d, s.br[2], s.br[2]+s.br[3])
			s.digest = d.Sum(nil)
			continue
		}
		v.hashRange(r, pos[h], s.br[1])
		pos[h] = s.br[1]
		c := cloneHash(h, r)
		v.hashRange(c, s.br[2], s.br[2]+s.br[3])
		s.digest = c.Sum(nil)
	}
}

func gapStart(s *sigInfo) int64 {
	if len(s.br) != 4 {
		return 0
	}
	return s.br[1]
}

// validRange accepts only the PAdES form [0 a b c]: one range from the start, one gap, one
// range to the end of what is covered.
func validRange(br []int64, size int64) bool {
	// br[3] <= size-br[2], not br[2]+br[3] <= size: the sum of two values near 2^63
	// overflows to a negative number, which passed and made hashAll slice out of range
	// (found by the malformed-input suite: /ByteRange [0 10 20 9223372036854775800]).
	return len(br) == 4 && br[0] == 0 && br[1] > 0 && br[2] > br[1] && br[2] <= size && br[3] >= 0 && br[3] <= size-br[2]
}

// cloneHash copies a hash state by serialising it, which is what lets the running state be
// carried between revisions (and across a worker boundary) rather than rehashing.
func cloneHash(h crypto.Hash, r hash.Hash) hash.Hash {
	c := h.New()
	state, err := r.(encoding.BinaryMarshaler).MarshalBinary()
	if err == nil && c.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) == nil {
		return c
	}
	panic("pdfcore: hash state cannot be carried") // all crypto/sha* hashes support it
}

// report judges one signature.
func (v *verifier) report(s *sigInfo) SignatureReport {
	r := SignatureReport{Field: s.field.Name, Method: "unknown", ByteRange: s.br, ChangesAfter: []Change{}, Integrity: "invalid", Level: "B-B"}
	if r.ByteRange == nil {
		r.ByteRange = []int64{}
	}
	if sl := s.field.Slot; sl != nil {
		r.Method = string(sl.Method)
		if sl.OnSignaturePage {
			r.Reference = sl.Label
		}
	} else if s.cms != nil {
		r.Method = "x509"
	}
	if s.docTS {
		r.Method = "timestamp"
	}
	if m := textOf(s.dict["M"]); m != "" {
		if t, ok := parsePDFDate(m); ok {
			r.SignedAt = formatTime(t)
		}
	}
	rev := v.revisionOf(s.end())
	r.Revision = rev + 1 // revisions are counted from 1, as Acrobat does; 0: none
	r.CoversRevision = v.coversRevision(s, rev)
	r.CoversWholeDocument = s.end() == v.size
	switch {
	case s.dict == nil:
		r.Reason = "The signature field's value is not a signature dictionary."
	case !validRange(s.br, v.size):
		r.Reason = "The /ByteRange is not of the form [0 a b c] inside the file."
	case !r.CoversRevision:
		r.Reason = "The /ByteRange does not cover its revision exactly: bytes outside the signed range could show other content."
	case s.docTS:
		v.checkDocTimestamp(&r, s)
	case s.cmsErr != nil:
		r.Reason = "The signature cannot be read: " + s.cmsErr.Error()
	default:
		if err := s.cms.CheckDigest(s.digest); err != nil {
			r.Reason = "The document was changed after signing: the signed bytes do not match the signature."
		} else if err := s.cms.Verify(); err != nil {
			r.Reason = "The signature value does not verify: " + err.Error()
		} else {
			r.Integrity = "valid"
		}
	}
	if s.cms != nil {
		v.describeSigner(&r, s)
	}
	if s.docTS {
		r.Level = "" // PAdES levels are of signatures; a time-stamp raises theirs
		v.describeTimestamp(&r, s)
	}
	if rev >= 0 {
		r.ChangesAfter, r.ChangesNotListed = listChanges(v.changesAfter(rev, s), v.changesListed)
	}
	return r
}

// Every signature lists every change of every later revision, so n signatures over m
// revisions list n·m changes: 1,000 of each, a 400 KB file, made a report of a million
// changes (112 MB as JSON, and as many objects in a browser). So a signature lists at
// most MaxChangesListed — the changes after the first of some 70 signatures, a
// signature's revision making two or three, and more than a person reads — and a report
// about maxChangesReported in all, though never fewer than minChangesListed a signature.
const (
	MaxChangesListed   = 200
	maxChangesReported = 20000
	minChangesListed   = 10
)

// changesListed is how many changes each of n signatures lists.
func changesListed(n int) int {
	return max(minChangesListed, min(MaxChangesListed, maxChangesReported/max(n, 1)))
}

// listChanges keeps at most limit of all, in their order, preferring those not allowed
// (so that a signature the document was changed after always shows why), and counts the
// rest.
func listChanges(all []Change, limit int) ([]Change, int) {
	if len(all) <= limit {
		return all, 0
	}
	keep := make([]bool, len(all))
	room := limit
	for _, allowed := range []bool{false, true} {
		for i, c := range all {
			if room > 0 && c.Allowed == allowed {
				keep[i] = true
				room--
			}
		}
	}
	listed := make([]Change, 0, limit)
	for i, c := range all {
		if keep[i] {
			listed = append(listed, c)
		}
	}
	return listed, len(all) - len(listed)
}

// revisionOf returns the index of the revision that ends at end, or -1.
func (v *verifier) revisionOf(end int64) int {
	for i, rv := range v.revs {
		if end == rv.End || (end < rv.End && end >= rv.End-2 && onlyEOL(v.span(end, rv.End))) {
			return i
		}
	}
	return -1
}

func onlyEOL(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// coversRevision checks the PAdES coverage rule: the range starts at 0, ends at its
// revision's %%EOF, and the gap is exactly the hex string of this signature's own /Contents
// (one /Contents key, inside the signature dictionary's object).
func (v *verifier) coversRevision(s *sigInfo, rev int) bool {
	if rev < 0 || !validRange(s.br, v.size) {
		return false
	}
	a, b := s.br[1], s.br[2]
	e, ok := v.f.Entry(s.dictNum)
	if !ok {
		return false
	}
	start, end, ok := v.f.ObjectSpan(e)
	if !ok || a < start || b > end {
		return false
	}
	obj := v.span(start, end) // the gap [a, b) lies inside it
	if int64(len(obj)) != end-start || obj[a-start] != '<' || obj[b-1-start] != '>' {
		return false
	}
	if bytes.Count(obj, []byte("/Contents")) != 1 {
		return false
	}
	k := bytes.Index(obj, []byte("/Contents"))
	at := int64(k) + int64(len("/Contents")) // from here on, offsets inside obj
	for at < a-start && (obj[at] == ' ' || obj[at] == '\n' || obj[at] == '\r' || obj[at] == '\t') {
		at++
	}
	if at != a-start {
		return false
	}
	for _, c := range obj[a+1-start : b-1-start] {
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// describeSigner fills in who signed, with what, and when the timestamp says.
func (v *verifier) describeSigner(r *SignatureReport, s *sigInfo) {
	c := s.cms.Signer
	if c != nil {
		r.Signer = subjectOf(c)
		r.Issuer = c.Issuer.CommonName
		if r.Issuer == "" {
			r.Issuer = c.Issuer.String()
		}
		r.Qualified = qualifiedOf(c)
	}
	if ts := s.cms.Timestamp; ts != nil {
		r.Timestamp.Present = true
		r.Timestamp.Valid = ts.Err == nil && ts.ImprintValid
		r.Timestamp.Time = formatTime(ts.Time)
		r.Timestamp.TSA = ts.TSAName
		r.Level = "B-T"
	}
}

func subjectOf(c *x509.Certificate) Subject {
	s := Subject{CommonName: c.Subject.CommonName, SerialNumber: c.Subject.SerialNumber}
	if len(c.Subject.Country) > 0 {
		s.Country = c.Subject.Country[0]
	}
	if len(c.Subject.Organization) > 0 {
		s.Organization = c.Subject.Organization[0]
	}
	for _, a := range c.Subject.Names {
		val, _ := a.Value.(string)
		switch {
		case a.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 42}):
			s.GivenName = val
		case a.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 4}):
			s.Surname = val
		}
	}
	return s
}

var (
	oidQcSSCD = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	oidQcType = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
)

// qualifiedOf reads QCStatements: compliance, QSCD and the certificate type.
func qualifiedOf(c *x509.Certificate) Qualified {
	var q Qualified
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidQCStatements) {
			continue
		}
		var stmts []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &stmts); err != nil {
			return q
		}
		for _, st := range stmts {
			var id asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(st.Bytes, &id)
			if err != nil {
				continue
			}
			switch {
			case id.Equal(oidQcCompliance):
				q.QCCompliance = true
			case id.Equal(oidQcSSCD):
				q.QSCD = true
			case id.Equal(oidQcType):
				var qcTypes []asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(rest, &qcTypes); err == nil {
					for _, t := range qcTypes {
						n := len(oidQcType)
						if len(t) == n+1 && t[:n].Equal(oidQcType) && t[n] >= 1 && t[n] <= 3 {
							q.Type = [...]string{"", "esign", "eseal", "web"}[t[n]]
						}
					}
				}
			}
		}
	}
	return q
}

// parsePDFDate reads "D:YYYYMMDDHHmmSSOHH'mm'" (with its optional parts).
func parsePDFDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, "D:")
	s = strings.ReplaceAll(s, "'", "")
	layouts := []string{"20060102150405-0700", "20060102150405Z0700", "20060102150405Z", "20060102150405", "200601021504", "20060102"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// summarise sets the report's verdict.
func (v *verifier) summarise(rep *Report) {
	if len(rep.Signatures) == 0 {
		rep.Summary = SummaryUnsigned
		return
	}
	rep.Valid = true
	rep.Summary = SummaryValid
	changed, untrusted := false, false
	for _, s := range rep.Signatures {
		if s.Integrity != "valid" {
			rep.Valid = false
			rep.Summary = SummaryInvalid
			return
		}
		for _, c := range s.ChangesAfter {
			if !c.Allowed {
				changed = true
			}
		}
		if v.opts.Roots != nil && !s.CertificateTrusted {
			untrusted = true
		}
	}
	switch {
	case changed:
		rep.Valid, rep.Summary = false, SummaryChanged
	case untrusted:
		rep.Valid, rep.Summary = false, SummaryUntrust
	}
}
