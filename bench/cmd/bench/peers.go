package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	pdfcpu "github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
)

// pdfsignPeer signs data with github.com/digitorus/pdfsign in process with the same key and
// chain, writing the whole signed file to a discarding writer; it returns the best time.
func pdfsignPeer(k *keys, data []byte, runs int) (ms float64, err error) {
	one := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		rs := bytes.NewReader(data)
		rdr, err := pdf.NewReader(rs, int64(len(data)))
		if err != nil {
			return err
		}
		return sign.Sign(rs, io.Discard, rdr, int64(len(data)), sign.SignData{
			Signature: sign.SignDataSignature{
				Info:     sign.SignDataSignatureInfo{Name: "Jan Peeters", Reason: "bench", Date: time.Unix(1795000000, 0)},
				CertType: sign.ApprovalSignature,
			},
			Signer:            k.id.Key,
			DigestAlgorithm:   crypto.SHA256,
			Certificate:       k.id.Chain[0],
			CertificateChains: [][]*x509.Certificate{k.id.Chain},
		})
	}
	if err := one(); err != nil {
		return 0, err
	}
	return best(runs, 20*time.Second, func() {
		if e := one(); e != nil && err == nil {
			err = e
		}
	}), err
}

// pdfcpuValidate runs pdfcpu 0.15's signature validation on a PDF in memory, step by step
// as its api.ValidateSignatures does (read, validate, optimise, form fonts, trust pool,
// signatures), and returns how many signatures it reported.
func pdfcpuValidate(data []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	rs := bytes.NewReader(data)
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATESIGNATURES
	ctx, err := pdfcpu.Read(rs, conf)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	if err := validate.XRefTable(ctx); err != nil {
		return 0, fmt.Errorf("validate: %w", err)
	}
	if conf.Optimize {
		if err := pdfcpu.OptimizeXRefTable(ctx); err != nil {
			return 0, fmt.Errorf("optimize: %w", err)
		}
	}
	if err := pdfcpu.CacheFormFonts(ctx); err != nil {
		return 0, fmt.Errorf("form fonts: %w", err)
	}
	// pdfcpu rejects a document whose signature fields lack /V; only signed fields are kept.
	for inc, sigs := range ctx.Signatures {
		for nr, sig := range sigs {
			if !sig.Signed {
				delete(sigs, nr)
			}
		}
		if len(sigs) == 0 {
			delete(ctx.Signatures, inc)
		}
	}
	if err := pdfcpu.LoadCertificates(); err != nil {
		return 0, fmt.Errorf("trust pool: %w", err)
	}
	res, err := pdfcpu.ValidateSignatures(rs, ctx, true)
	if err != nil {
		return 0, err
	}
	for _, r := range res {
		if r.Signed {
			n++
		}
	}
	return n, nil
}
