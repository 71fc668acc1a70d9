package pdfcore

import (
	"bytes"
	"crypto"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/cms"
)

// TimestampOptions tune a document time-stamp. The zero value hashes with SHA-256 and
// reserves DefaultTimestampReserve.
type TimestampOptions struct {
	// Hash is the digest the TSA time-stamps: crypto.SHA256 (default), SHA384 or SHA512.
	Hash crypto.Hash
	// Reserve is the room for the TimeStampToken in bytes; 0 means DefaultTimestampReserve.
	Reserve int
	// SkipDigest leaves Prepared.Digest empty for callers that hash the ranges themselves.
	SkipDigest bool
}

// DefaultTimestampReserve fits a token with an RSA-4096 TSA certificate and its issuing CA
// (about 6 KB from public TSAs) twice over.
const DefaultTimestampReserve = 12 << 10

// LayoutDocTimestamp: a document time-stamp in an invisible signature field (PAdES B-LTA).
const LayoutDocTimestamp LayoutKind = "document-timestamp"

// PrepareDocTimestamp appends one incremental update that adds a document time-stamp
// (ISO 32000-2 12.8.5, ETSI EN 319 142-1 B-LTA): a new invisible signature field — a widget
// with /Rect [0 0 0 0] on the last page — whose value is a /Type /DocTimeStamp dictionary
// with /SubFilter /ETSI.RFC3161 and /Contents reserved for an RFC 3161 TimeStampToken. The
// update only adds a signature field, which every later-revision rule allows (also after a
// DocMDP P=1 certification). Prepared.Digest is the message imprint to send to the TSA; Embed
// takes the token. Like Prepare it never changes doc's bytes and depends only on its inputs.
func PrepareDocTimestamp(doc *Document, opts TimestampOptions) (*Prepared, error) {
	p, err := prepareDocTimestamp(doc, opts)
	return afterReading(doc, p, err)
}

func prepareDocTimestamp(doc *Document, opts TimestampOptions) (*Prepared, error) {
	if opts.Hash == 0 {
		opts.Hash = crypto.SHA256
	}
	switch opts.Hash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, newError(CodeBadPlan, "The digest algorithm must be SHA-256, SHA-384 or SHA-512.")
	}
	reserve := opts.Reserve
	if reserve == 0 {
		reserve = DefaultTimestampReserve
	}
	if reserve < 1024 || reserve > maxReserve {
		return nil, newError(CodeBadPlan, "The reservation for the time-stamp must be between 1 KB and 1 MB, not %d bytes.", reserve)
	}
	b := newBuilder(doc, &Plan{}, nil, Options{Hash: opts.Hash})
	page, err := b.f.Page(doc.Pages)
	if err != nil {
		return nil, readError(err)
	}
	var body bytes.Buffer
	body.WriteString("<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161\n")
	body.WriteString(byteRangePlaceholder)
	body.WriteString("\n/Contents ")
	contentsAt := body.Len()
	body.WriteByte('<')
	writeHexZeros(&body, 2*reserve)
	body.WriteString(">\n>>")
	sigNum := b.u.Alloc()
	b.u.Set(sigNum, body.Bytes())

	name := timestampFieldName(doc)
	fieldNum := b.u.Alloc()
	b.newFields = append(b.newFields, fieldNum)
	e := b.edit(page)
	e.annots = append(e.annots, fieldNum)
	// An invisible widget needs no appearance (ISO 32000-2 12.5.5: none is required for a
	// zero-sized /Rect). Print | Locked: it is part of the record and cannot be removed.
	b.u.SetObject(fieldNum, types.Dict{
		"Type": types.Name("Annot"), "Subtype": types.Name("Widget"), "FT": types.Name("Sig"),
		"T": textString(name), "Rect": Rect{}.array(), "P": ref(page.Ref), "F": types.Integer(132),
		"V": ref(sigNum),
	})
	if err := b.finish(); err != nil {
		return nil, err
	}
	res, err := b.u.Write()
	if err != nil {
		return nil, err
	}
	p := &Prepared{Update: res.Bytes, Hash: opts.Hash, Field: name, original: doc, docTimestamp: true,
		Layout: Layout{LayoutDocTimestamp, "A document time-stamp is added in an invisible signature field; it covers every earlier revision, their signatures and validation data."}}
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

// timestampFieldName is the first free "Timestamp N".
func timestampFieldName(doc *Document) string {
	for i := 1; ; i++ {
		name := "Timestamp " + strconv.Itoa(i)
		if doc.field(name) == nil {
			return name
		}
	}
}

// checkTimestamp is Check for a document time-stamp: the token fits, is correctly signed by
// a time-stamping certificate, and its message imprint is the prepared digest.
func checkTimestamp(p *Prepared, token []byte) error {
	if len(token) == 0 {
		return newError(CodeBadCMS, "The time-stamp token is empty.")
	}
	if len(token) > p.Reserved() {
		return newError(CodeContentsTooSmall, "The time-stamp token is %d bytes but only %d were reserved; prepare again with a larger reservation.", len(token), p.Reserved())
	}
	ts := cms.ParseTimestampToken(trimZeros(token))
	if ts.Err != nil {
		return &Error{Code: CodeBadCMS, Msg: "The time-stamp token cannot be used: " + ts.Err.Error(), Err: ts.Err}
	}
	if len(trimZeros(token)) != len(token) {
		return newError(CodeBadCMS, "The time-stamp token has bytes after its DER value.")
	}
	digest := p.Digest
	if digest == nil {
		var err error
		if digest, err = p.digest(); err != nil {
			return err
		}
	}
	if !ts.Covers(digest, p.Hash) {
		return newError(CodeDigestMismatch, "The time-stamp token was issued for a different digest (or hash algorithm) than the one prepared.")
	}
	return nil
}
