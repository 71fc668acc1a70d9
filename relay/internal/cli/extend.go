package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/veilsign/veilsign/relay/internal/devstore"
	"github.com/veilsign/veilsign/relay/internal/ltv"
)

type extendFlags struct {
	in, out, level, relay, token, hash string
	dev, demoFlow                      bool
}

// Extend runs "relay extend": bring the signatures of an already-signed PDF to B-LT (a DSS
// with the validation data of every certificate chain it uses) or B-LTA (then a document
// time-stamp), with data from a relay or, with --dev, from the development PKI.
func Extend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f extendFlags
	fs.StringVar(&f.in, "in", "", "the signed PDF (or give it as the argument)")
	fs.StringVar(&f.out, "out", "", "where to write the extended PDF")
	fs.StringVar(&f.level, "level", "B-LTA", "B-LT (DSS) or B-LTA (DSS and a document time-stamp)")
	fs.StringVar(&f.relay, "relay", "", "the relay that fetches OCSP/CRL data and time-stamps, e.g. ws://127.0.0.1:8080")
	fs.StringVar(&f.token, "token", "", "the portal's session token for --relay")
	fs.StringVar(&f.hash, "hash", "sha256", "digest of the document time-stamp: sha256, sha384 or sha512")
	fs.BoolVar(&f.dev, "dev", false, "use the development PKI in-process (its OCSP responses and TSA)")
	fs.BoolVar(&f.demoFlow, "demo", false, "with --relay against relay serve --demo: take a demo token")
	// The file may come first (relay extend in.pdf --out out.pdf) or after the flags.
	if err := fs.Parse(args); err != nil {
		return ExitBadInput
	}
	for fs.NArg() > 0 {
		if f.in != "" {
			fmt.Fprintln(stderr, "usage: relay extend --level B-LT|B-LTA [--relay URL --token T | --dev] in.pdf --out out.pdf")
			return ExitBadInput
		}
		f.in = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return ExitBadInput
		}
	}
	if err := runExtend(f, stdout, stderr); err != nil {
		return fail(stderr, err)
	}
	return ExitOK
}

func runExtend(f extendFlags, stdout, stderr io.Writer) error {
	if f.in == "" || f.out == "" {
		return usage("the input PDF and --out are required")
	}
	if f.level != "B-LT" && f.level != "B-LTA" {
		return usage("--level must be B-LT or B-LTA, not %q", f.level)
	}
	if f.dev == (f.relay != "") {
		return usage("choose one: --dev (in-process dev PKI) or --relay URL")
	}
	h, err := parseHash(f.hash)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(f.in)
	if err != nil {
		return usage("cannot read %s: %v", f.in, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var src ltv.Source
	if f.dev {
		pki, err := devstore.Load()
		if err != nil {
			return err
		}
		src = ltv.Dev{PKI: pki}
	} else {
		c, err := dialRelay(ctx, f.relay, f.token, "extend", f.demoFlow)
		if err != nil {
			return err
		}
		defer c.Close()
		src = ltv.Relay{C: c}
	}
	more, err := ltv.Extend(ctx, data, f.level, src, ltv.Options{Hash: h, Warn: warnTo(stderr)})
	if err != nil {
		return err
	}
	if err := writeSigned(f.out, data, more); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "extended %s to %s: %d bytes appended\n", f.out, f.level, len(more))
	return nil
}
