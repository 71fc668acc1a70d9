package pdfcore

import (
	"bytes"
	"encoding/hex"

	"github.com/veilsign/veilsign/pdfcore/cms"
)

// Embed writes the CMS into the prepared /Contents and returns the signed file. It checks
// first that the CMS signs the prepared digest with the prepared certificate and that it
// fits; on any error nothing is written. No byte other than the placeholder's changes.
// For a document time-stamp (PrepareDocTimestamp) der is the TSA's TimeStampToken.
func Embed(p *Prepared, der []byte) ([]byte, error) {
	update, err := EmbedUpdate(p, der)
	if err != nil {
		return nil, err
	}
	return p.joined(update)
}

// EmbedUpdate is Embed returning only the signed update, to append to the original bytes:
// callers that hold a large document in one buffer (the browser) avoid a copy of it.
func EmbedUpdate(p *Prepared, der []byte) ([]byte, error) {
	if err := Check(p, der); err != nil {
		return nil, err
	}
	update := bytes.Clone(p.Update)
	hex.Encode(update[p.gapStart+1:], der)
	return update, nil
}

// Check verifies that der is a CMS for p: it fits the reservation, its message-digest is
// p's digest, its signature verifies, and its signer is p's certificate. The browser calls
// it before embedding what a relay returned. For a document time-stamp it checks the token
// instead: its signature, and that its message imprint is p's digest.
func Check(p *Prepared, der []byte) error {
	if p.docTimestamp {
		return checkTimestamp(p, der)
	}
	if len(der) == 0 {
		return newError(CodeBadCMS, "The signature is empty.")
	}
	if len(der) > p.Reserved() {
		return newError(CodeContentsTooSmall, "The signature is %d bytes but only %d were reserved; prepare again with a larger reservation.", len(der), p.Reserved())
	}
	sig, err := cms.Parse(der)
	if err != nil {
		return cmsError(err)
	}
	digest := p.Digest
	if digest == nil {
		var err error
		if digest, err = p.digest(); err != nil {
			return err
		}
	}
	if err := sig.CheckDigest(digest); err != nil {
		return cmsError(err)
	}
	if err := sig.Verify(); err != nil {
		return cmsError(err)
	}
	if leaf := sig.Signer; leaf == nil || !bytes.Equal(leaf.Raw, p.Chain[0].Raw) {
		return newError(CodeBadCMS, "The signature was made with a different certificate than the one the document was prepared for.")
	}
	return nil
}
