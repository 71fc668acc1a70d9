// Package ltv extends signed PDFs to PAdES B-LT and B-LTA: a DSS update with the
// validation data (certificates, OCSP responses, CRLs) of every certificate chain the
// document's signatures and time-stamps use, then for B-LTA a document time-stamp. The data
// comes from a Source: a relay (validation-data and timestamp messages) or, for --dev, the
// development PKI in-process.
package ltv

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/protocol"
)

// Levels a signature may be asked for, from the weakest.
var Levels = []string{"B-B", "B-T", "B-LT", "B-LTA"}

// ValidLevel says whether level is one of Levels.
func ValidLevel(level string) bool {
	for _, l := range Levels {
		if l == level {
			return true
		}
	}
	return false
}

// ErrUntrusted marks a chain a Source refuses because it does not trust its root.
var ErrUntrusted = errors.New("ltv: the source does not serve this chain")

// Source gives validation data and document time-stamps.
type Source interface {
	ValidationData(ctx context.Context, chain []*x509.Certificate) (pdfcore.ValidationData, error)
	Timestamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// Options tune Extend.
type Options struct {
	// Hash of the document time-stamp; 0 means SHA-256.
	Hash crypto.Hash
	// Warn hears about chains that were skipped (a root the source does not serve).
	Warn func(string)
}

// Extend returns the incremental updates, to append to data, that bring its signatures to
// level (B-LT or B-LTA): the DSS update (nothing when the DSS already holds everything),
// then for B-LTA a document time-stamp. B-B and B-T need nothing: the result is empty.
func Extend(ctx context.Context, data []byte, level string, src Source, opts Options) ([]byte, error) {
	if level != "B-LT" && level != "B-LTA" {
		if ValidLevel(level) {
			return nil, nil
		}
		return nil, fmt.Errorf("ltv: unknown level %q (B-B, B-T, B-LT or B-LTA)", level)
	}
	doc, err := pdfcore.Open(data)
	if err != nil {
		return nil, err
	}
	chains, err := pdfcore.CertificateChains(doc)
	if err != nil {
		return nil, err
	}
	if len(chains) == 0 {
		return nil, errors.New("ltv: the document has no signature to extend")
	}
	var vd pdfcore.ValidationData
	for _, chain := range chains {
		got, err := src.ValidationData(ctx, chain)
		if errors.Is(err, ErrUntrusted) {
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("no validation data for %q: %v", chain[0].Subject.CommonName, err))
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("validation data for %q: %w", chain[0].Subject.CommonName, err)
		}
		vd.Certs = append(vd.Certs, got.Certs...)
		vd.OCSPs = append(vd.OCSPs, got.OCSPs...)
		vd.CRLs = append(vd.CRLs, got.CRLs...)
	}
	if len(vd.OCSPs)+len(vd.CRLs) == 0 {
		return nil, errors.New("ltv: no revocation data (OCSP or CRL) was found for the document's certificates")
	}
	out, err := pdfcore.AddValidationData(doc, vd)
	if err != nil {
		return nil, err
	}
	if level == "B-LT" {
		return out, nil
	}
	all := append(append([]byte(nil), data...), out...)
	doc, err = pdfcore.Open(all)
	if err != nil {
		return nil, err
	}
	p, err := pdfcore.PrepareDocTimestamp(doc, pdfcore.TimestampOptions{Hash: opts.Hash})
	if err != nil {
		return nil, err
	}
	tok, err := src.Timestamp(ctx, p.Digest, p.Hash)
	if err != nil {
		return nil, fmt.Errorf("document time-stamp: %w", err)
	}
	ts, err := pdfcore.EmbedUpdate(p, tok)
	if err != nil {
		return nil, err
	}
	return append(out, ts...), nil
}

// HashName is the protocol's name of h.
func HashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return "sha256"
}

// Relay is a Source that asks a relay over an open session.
type Relay struct{ C *client.Client }

// ValidationData sends validation-data; an untrusted-chain refusal wraps ErrUntrusted.
func (r Relay) ValidationData(ctx context.Context, chain []*x509.Certificate) (pdfcore.ValidationData, error) {
	ocsps, crls, certs, err := r.C.ValidationData(ctx, chain)
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeUntrustedChain {
		return pdfcore.ValidationData{}, fmt.Errorf("%w: %v", ErrUntrusted, pe.Message)
	}
	if err != nil {
		return pdfcore.ValidationData{}, err
	}
	return pdfcore.ValidationData{Certs: certs, OCSPs: ocsps, CRLs: crls}, nil
}

// Timestamp sends timestamp.
func (r Relay) Timestamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	return r.C.Timestamp(ctx, digest, HashName(h))
}

// Dev is a Source made of the development PKI: OCSP responses signed in-process (every
// certificate good), and its TSA.
type Dev struct{ PKI *devpki.PKI }

// ValidationData answers for the certificates the dev PKI issued; other chains are
// refused with ErrUntrusted.
func (d Dev) ValidationData(ctx context.Context, chain []*x509.Certificate) (pdfcore.ValidationData, error) {
	root := d.PKI.Root()
	last := chain[len(chain)-1]
	if !last.Equal(root) && last.CheckSignatureFrom(root) != nil {
		return pdfcore.ValidationData{}, fmt.Errorf("%w: not a chain of the dev PKI", ErrUntrusted)
	}
	vd := pdfcore.ValidationData{}
	for _, c := range chain {
		vd.Certs = append(vd.Certs, c.Raw)
		if c.Equal(root) {
			continue
		}
		r, err := d.PKI.OCSPResponse(c, devpki.CertStatus{Status: devpki.StatusGood}, time.Now())
		if err != nil {
			return pdfcore.ValidationData{}, err
		}
		vd.OCSPs = append(vd.OCSPs, r)
	}
	if !last.Equal(root) {
		vd.Certs = append(vd.Certs, root.Raw)
	}
	return vd, nil
}

// Timestamp asks the dev TSA.
func (d Dev) Timestamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	return d.PKI.Timestamp(digest, h, time.Now())
}
