package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	pdfcpu "github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
)

// pdfsignPeer signs data with github.com/digitorus/pdfsign in process with the same key and
// chain; the first signed file is checked, the timed runs write to a discarding writer. It
// returns the best time.
func pdfsignPeer(k *keys, data []byte, runs int) (ms float64, err error) {
	one := func(out io.Writer) (err error) {
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
		return sign.Sign(rs, out, rdr, int64(len(data)), sign.SignData{
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
	// The checked copy is dropped before the timed runs, so that they do not run beside
	// a dead copy of the file that the collector still holds.
	check := func() error {
		var first bytes.Buffer
		if err := one(&first); err != nil {
			return err
		}
		if err := signedBy(k, first.Bytes()); err != nil {
			return fmt.Errorf("its output: %w", err)
		}
		return nil
	}
	if err := check(); err != nil {
		return 0, err
	}
	runtime.GC()
	return best(runs, 20*time.Second, func() {
		if e := one(io.Discard); e != nil && err == nil {
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

type nodeResult struct {
	OK         bool    `json:"ok"`
	Ms         float64 `json:"ms"`
	HashWasmMs float64 `json:"hashwasm_ms"`
	P12Ms      float64 `json:"p12_ms"`
	Error      string  `json:"error"`
}

// nodeSignpdf runs node/signpdf.mjs on the document of mb MB with the bench PKCS#12.
func nodeSignpdf(k *keys, mb, runs int) (*nodeResult, error) {
	file, _ := filepath.Abs(filepath.Join(*outDir, "docs", fmt.Sprintf("doc-%dMB.pdf", mb)))
	p12, _ := filepath.Abs(k.p12)
	out, _ := filepath.Abs(filepath.Join(*outDir, fmt.Sprintf("signpdf-%dMB.pdf", mb)))
	cmd := exec.Command("node", "--max-old-space-size=4096", "node/signpdf.mjs", file, p12, k.p12Pass, strconv.Itoa(runs), out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	o, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node: %v: %s", err, lastLine(stderr.String()))
	}
	var res nodeResult
	if err := json.Unmarshal(bytes.TrimSpace(o), &res); err != nil {
		return nil, fmt.Errorf("node output %q: %v", o, err)
	}
	if !res.OK {
		return nil, fmt.Errorf("%s", res.Error)
	}
	if err := checkPeerOutput(k, out); err != nil {
		return nil, err
	}
	return &res, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := lines[len(lines)-1]
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}
