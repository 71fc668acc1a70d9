package pdfcore

import (
	"bytes"
	"crypto"
	_ "crypto/sha256" // the digests Prepare offers
	_ "crypto/sha512"
	"crypto/x509"
	"fmt"
	"strconv"
	"time"
)

// Options tune one signature. The zero value signs with SHA-256 at the current time.
type Options struct {
	// Hash is the digest algorithm: crypto.SHA256 (default), SHA384 or SHA512.
	Hash crypto.Hash
	// Time is the signing time written to /M and shown in the slot. Prepare is a pure
	// function of its inputs only when Time is set.
	Time time.Time
	// Reserve is the room for the CMS in bytes; 0 sizes it from the chain with space for a
	// timestamp token (never less than DefaultReserve).
	Reserve int
	// Reason, Location and ContactInfo go to the signature dictionary.
	Reason, Location, ContactInfo string
	// Logos replace the built-in method logos (PNG or JPEG bytes), by method.
	Logos map[Method][]byte
	// Ink is a pen signature's drawing: strokes of points in a unit box.
	Ink [][][2]float64
	// Evidence is a line recorded in the signature dictionary and shown in the slot, such
	// as the masked phone number and time of a TAN confirmation.
	Evidence string
	// SkipDigest leaves Prepared.Digest empty for callers that hash the byte ranges
	// themselves (the browser hashes with WebCrypto).
	SkipDigest bool
}

// DefaultReserve is the least room reserved for the CMS: a 4-certificate RSA-4096 chain
// (about 8 KB), the signature, and an RFC 3161 token with its own chain, with room to spare.
const DefaultReserve = 24 << 10

// maxReserve keeps a hostile or mistaken option from allocating without bound.
const maxReserve = 1 << 20

// Prepared is a document with one signature prepared: everything written except the CMS.
type Prepared struct {
	// Update is the incremental update to append to the original bytes; the /Contents
	// placeholder in it is all zeros.
	Update []byte
	// ByteRange is the signed ranges [offset length offset length] in the whole file.
	ByteRange [4]int64
	// Digest is the hash of the two ranges (nil with SkipDigest).
	Digest []byte
	Hash   crypto.Hash
	// Field is the name of the signature field being signed; Label its signer's reference.
	Field, Label string
	// Layout says how the signature is placed and why.
	Layout Layout
	// Chain is the certificate chain the signature must be made with, leaf first; nil for
	// a document time-stamp.
	Chain []*x509.Certificate

	original *Document // the document the update is appended to
	gapStart int       // offset in Update of the '<' that opens /Contents
	gapEnd   int       // offset in Update just after the closing '>'
	// docTimestamp: /Contents takes an RFC 3161 token, not a CMS signature.
	docTimestamp bool
}

// DocTimestamp reports whether p is a document time-stamp (Embed takes a TimeStampToken).
func (p *Prepared) DocTimestamp() bool { return p.docTimestamp }

// Size is the length of the signed file.
func (p *Prepared) Size() int64 { return p.original.Size() + int64(len(p.Update)) }

// Bytes returns the whole prepared file (original + update) in a new slice.
func (p *Prepared) Bytes() ([]byte, error) {
	return p.joined(p.Update)
}

// joined is the original document followed by update, in a new slice.
func (p *Prepared) joined(update []byte) ([]byte, error) {
	original, err := p.original.Bytes()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(original)+len(update))
	return append(append(out, original...), update...), nil
}

// Reserved is the room for the DER CMS, in bytes.
func (p *Prepared) Reserved() int { return (p.gapEnd - p.gapStart - 2) / 2 }

// Prepare appends one incremental update that adds the signature of the signer labelled
// label, lays out the document for the whole plan if this is its first signature, and
// returns the digest the signer must sign. It never changes doc's bytes, and its result
// depends only on its arguments (set opts.Time), so a retry starts clean.
func Prepare(doc *Document, plan *Plan, label string, chain []*x509.Certificate, opts Options) (*Prepared, error) {
	p, err := prepareSignature(doc, plan, label, chain, opts)
	return afterReading(doc, p, err)
}

func prepareSignature(doc *Document, plan *Plan, label string, chain []*x509.Certificate, opts Options) (*Prepared, error) {
	if doc.MDP == 1 {
		return nil, newError(CodeNoChangesAllowed, "The document is certified with \"no changes allowed\" (DocMDP P=1); adding a signature would break its certification.")
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, newError(CodeBadPlan, "A certificate chain is needed to prepare a signature (leaf first).")
	}
	if opts.Hash == 0 {
		opts.Hash = crypto.SHA256
	}
	switch opts.Hash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, newError(CodeBadPlan, "The digest algorithm must be SHA-256, SHA-384 or SHA-512.")
	}
	if opts.Time.IsZero() {
		opts.Time = time.Now()
	}
	opts.Time = opts.Time.UTC().Truncate(time.Second)
	if plan == nil {
		plan = &Plan{}
	}
	reserve := opts.Reserve
	if reserve == 0 {
		reserve = reserveFor(chain)
	}
	if reserve < 1024 || reserve > maxReserve {
		return nil, newError(CodeBadPlan, "The reservation for the signature must be between 1 KB and 1 MB, not %d bytes.", reserve)
	}
	b := newBuilder(doc, plan, chain, opts)
	target, layout, err := b.place(label)
	if err != nil {
		return nil, err
	}
	sigBody, contentsAt := b.signatureDict(target, reserve)
	sigNum := b.u.Alloc()
	b.u.Set(sigNum, sigBody)
	if err := b.fill(target, sigNum); err != nil {
		return nil, err
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	res, err := b.u.Write()
	if err != nil {
		return nil, err
	}
	p := &Prepared{Update: res.Bytes, Hash: opts.Hash, Field: target.name, Label: label, Layout: layout,
		Chain: chain, original: doc}
	p.gapStart = res.Offsets[sigNum] + contentsAt
	p.gapEnd = p.gapStart + 2 + 2*reserve
	if err := p.patchByteRange(res.Offsets[sigNum]); err != nil {
		return nil, err
	}
	if !opts.SkipDigest {
		if p.Digest, err = p.digest(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// reserveFor sizes the CMS reservation from the chain: the certificates, a signature as
// long as the leaf's key allows, the attributes, and a timestamp token of up to 10 KB.
func reserveFor(chain []*x509.Certificate) int {
	n := 2048 + 10<<10
	for _, c := range chain {
		n += len(c.Raw)
	}
	if n < DefaultReserve {
		n = DefaultReserve
	}
	return n
}

const byteRangeWidth = 48 // "[0 a b c]" padded; 13 digits each is enough past 10 TB

// patchByteRange writes the final /ByteRange into the placeholder of the signature
// dictionary at sigAt.
func (p *Prepared) patchByteRange(sigAt int) error {
	base := p.original.Size()
	p.ByteRange = [4]int64{0, base + int64(p.gapStart), base + int64(p.gapEnd), int64(len(p.Update) - p.gapEnd)}
	s := fmt.Sprintf("[0 %d %d %d]", p.ByteRange[1], p.ByteRange[2], p.ByteRange[3])
	if len(s) > byteRangeWidth {
		return newError(CodeLimit, "The file is too large for the /ByteRange placeholder.")
	}
	at := bytes.Index(p.Update[sigAt:], []byte(byteRangePlaceholder))
	if at < 0 {
		return fmt.Errorf("pdfcore: /ByteRange placeholder lost")
	}
	at += sigAt + len("/ByteRange ")
	copy(p.Update[at:at+byteRangeWidth], fmt.Sprintf("%-*s", byteRangeWidth, s))
	return nil
}

// digestStep is how much of the original ComputeDigest hashes between progress reports:
// often enough for a progress bar, rarely enough that reporting costs nothing measurable.
const digestStep = 8 << 20

// ComputeDigest hashes the two signed ranges in one pass — the original, read through its
// source in steps (a document opened with OpenReaderAt is never held whole), then the
// update on either side of the /Contents gap — and calls progress, when given, after each
// step with the bytes hashed so far and the total. Prepare does this unless SkipDigest; a
// caller that hashes elsewhere (the browser, with WebCrypto) falls back on it.
func (p *Prepared) ComputeDigest(progress func(done, total int64)) ([]byte, error) {
	h := p.Hash.New()
	size := p.original.Size()
	total := size + int64(p.gapStart) + int64(len(p.Update)-p.gapEnd)
	for off := int64(0); off < size; off += digestStep {
		end := min(off+digestStep, size)
		if err := p.original.f.WriteRange(h, off, end); err != nil {
			return nil, readError(err)
		}
		if progress != nil {
			progress(end, total)
		}
	}
	h.Write(p.Update[:p.gapStart])
	h.Write(p.Update[p.gapEnd:])
	if progress != nil {
		progress(total, total)
	}
	return h.Sum(nil), nil
}

func (p *Prepared) digest() ([]byte, error) { return p.ComputeDigest(nil) }

// byteRangePlaceholder holds the place of "/ByteRange [0 a b c]" until the offsets are known;
// the stars cannot occur in any other object we write, so patchByteRange finds it.
var byteRangePlaceholder = "/ByteRange " + string(bytes.Repeat([]byte("*"), byteRangeWidth))

// signatureDict writes the signature dictionary with its placeholders; it returns the body
// and the offset of the '<' that opens /Contents inside it.
func (b *builder) signatureDict(t *target, reserve int) ([]byte, int) {
	var s bytes.Buffer
	s.WriteString("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n")
	s.WriteString(byteRangePlaceholder)
	s.WriteString("\n/M ")
	s.WriteString(textString(pdfDate(b.opts.Time)).PDFString())
	if t.slot != nil && t.slot.Name != "" {
		s.WriteString("\n/Name " + textString(t.slot.Name).PDFString())
	}
	for _, kv := range [][2]string{{"Reason", b.opts.Reason}, {"Location", b.opts.Location}, {"ContactInfo", b.opts.ContactInfo}} {
		if kv[1] != "" {
			s.WriteString("\n/" + kv[0] + " " + textString(kv[1]).PDFString())
		}
	}
	if ev := b.evidenceDict(t); ev != "" {
		s.WriteString("\n/VeilsignEvidence " + ev)
	}
	s.WriteString("\n/Prop_Build << /App << /Name /veilsign /REx (" + Version + ") >> /Filter << /Name /Adobe.PPKLite >> >>")
	s.WriteString("\n/Contents ")
	at := s.Len()
	s.WriteByte('<')
	writeHexZeros(&s, 2*reserve)
	s.WriteString(">\n>>")
	return s.Bytes(), at
}

// hexZeros is copied in chunks into /Contents placeholders: a slice of the whole
// reservation (up to 2 MB of hex) would be allocated, cleared, filled and copied again.
var hexZeros = bytes.Repeat([]byte("0"), 4096)

// writeHexZeros writes n '0' characters to b, growing it once.
func writeHexZeros(b *bytes.Buffer, n int) {
	b.Grow(n)
	for n > 0 {
		k := min(n, len(hexZeros))
		b.Write(hexZeros[:k])
		n -= k
	}
}

// Version is written to each signature's /Prop_Build.
const Version = "0.1.0"

// pdfDate formats a time as a PDF date string in UTC.
func pdfDate(t time.Time) string {
	return "D:" + t.UTC().Format("20060102150405") + "+00'00'"
}

func (b *builder) evidenceDict(t *target) string {
	if t.slot == nil || t.slot.Method.X509() {
		return ""
	}
	var s bytes.Buffer
	s.WriteString("<< /Method /" + string(t.slot.Method))
	if b.opts.Evidence != "" {
		s.WriteString(" /Text " + textString(b.opts.Evidence).PDFString())
	}
	if len(b.opts.Ink) > 0 {
		s.WriteString(" /Ink [")
		for _, stroke := range b.opts.Ink {
			s.WriteString("[")
			for i, p := range stroke {
				if i > 0 {
					s.WriteByte(' ')
				}
				s.WriteString(strconv.FormatFloat(round3(p[0]), 'f', -1, 64) + " " + strconv.FormatFloat(round3(p[1]), 'f', -1, 64))
			}
			s.WriteString("]")
		}
		s.WriteString("]")
	}
	s.WriteString(" >>")
	return s.String()
}

func round3(v float64) float64 { return float64(int64(v*1000+copysign(0.5, v))) / 1000 }
