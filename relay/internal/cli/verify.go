package cli

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/relay/internal/devstore"
)

// Verify runs "relay verify": exit 0 when every signature is valid and nothing disallowed
// changed after any of them, 1 otherwise, 2 when the input is not a readable PDF.
func Verify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	trust := fs.String("trust", "", "trust anchors: a PEM file of root certificates, or \"dev\" for the development CA")
	if err := fs.Parse(args); err != nil {
		return ExitBadInput
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: relay verify [--json] [--trust FILE.pem|dev] FILE.pdf")
		return ExitBadInput
	}
	var opts pdfcore.VerifyOptions
	if *trust != "" {
		roots, err := loadTrust(*trust)
		if err != nil {
			return fail(stderr, err)
		}
		opts.Roots = roots
	}
	// The file is read as verification needs it, not loaded: a 2 GB PDF is hashed from
	// the disk in chunks.
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(stderr, usage("cannot read %s: %v", fs.Arg(0), err))
	}
	defer f.Close()
	var doc *pdfcore.Document
	if st, serr := f.Stat(); serr == nil && st.Mode().IsRegular() {
		doc, err = pdfcore.OpenReaderAt(f, st.Size())
	} else {
		// A pipe (/dev/stdin) has no random access: read it whole.
		data, rerr := io.ReadAll(f)
		if rerr != nil {
			return fail(stderr, usage("cannot read %s: %v", fs.Arg(0), rerr))
		}
		doc, err = pdfcore.Open(data)
	}
	var rep *pdfcore.Report
	if err == nil {
		rep, err = pdfcore.VerifyDocument(doc, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, "veilsign:", err)
		return ExitBadInput
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.WriteText(stdout)
	}
	if !rep.Valid {
		return ExitFailure
	}
	return ExitOK
}

func loadTrust(spec string) (*x509.CertPool, error) {
	if spec == "dev" {
		pki, err := devstore.Load()
		if err != nil {
			return nil, err
		}
		return pki.Roots(), nil
	}
	certs, err := readPEMCerts(spec)
	if err != nil {
		return nil, usage("--trust: %v", err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readPEMCerts reads the certificates of a PEM file; it must hold at least one.
func readPEMCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s holds a certificate that cannot be parsed: %v", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return out, nil
}
