// Command relay is veilsign's one binary: the websocket relay between browsers and remote
// signers (serve), and command-line signing and verification of PDFs (sign, verify).
// This file only dispatches; the commands live in relay/internal/cli.
package main

import (
	"fmt"
	"os"

	"github.com/veilsign/veilsign/relay/internal/cli"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(cli.ExitBadInput)
	}
	switch os.Args[1] {
	case "sign":
		os.Exit(cli.Sign(os.Args[2:], os.Stdout, os.Stderr))
	case "serve":
		os.Exit(cli.Serve(os.Args[2:], os.Stdout, os.Stderr))
	case "extend":
		os.Exit(cli.Extend(os.Args[2:], os.Stdout, os.Stderr))
	case "verify":
		os.Exit(cli.Verify(os.Args[2:], os.Stdout, os.Stderr))
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "relay: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(cli.ExitBadInput)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: relay <command> [flags]

commands:
  serve    run the relay: relay serve [--addr 127.0.0.1:8080] [--demo] …
  sign     sign a PDF: relay sign --dev --in in.pdf --out out.pdf --signer "Name" [--method itsme|eid|pen|tan]
           or through a relay: relay sign --relay ws://127.0.0.1:8080 --token T --in … --out … --signer …
           [--level B-B|B-T|B-LT|B-LTA] (default B-T)
  extend   add validation data (B-LT) and a document time-stamp (B-LTA) to a signed PDF:
           relay extend --level B-LTA [--relay URL --token T | --dev] in.pdf --out out.pdf
  verify   check every signature and what changed after it: relay verify [--json] [--trust FILE.pem|dev] FILE.pdf
  help     this text

Run "relay <command> -h" for the flags of a command.
`)
}
