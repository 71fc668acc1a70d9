// Package cli implements the relay binary's command-line subcommands on top of pdfcore.
// The main package only dispatches; each command parses its flags here and returns an exit
// code: 0 done, 2 bad input (the document or the arguments), 1 anything else.
package cli

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/devstore"
	"github.com/veilsign/veilsign/relay/internal/ltv"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitBadInput = 2
)

// badInputCodes are the pdfcore codes that mean the caller's input is at fault.
var badInputCodes = map[pdfcore.Code]bool{
	pdfcore.CodeNotPDF: true, pdfcore.CodeEncrypted: true, pdfcore.CodeDamagedXref: true,
	pdfcore.CodeDamagedObject: true, pdfcore.CodeNoChangesAllowed: true, pdfcore.CodeBadPlan: true,
	pdfcore.CodeAlreadySigned: true, pdfcore.CodeNoRoom: true, pdfcore.CodeBadImage: true, pdfcore.CodeLimit: true,
}

// fail prints err and returns the exit code it deserves.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "veilsign:", err)
	if badInputCodes[pdfcore.CodeOf(err)] || errors.Is(err, errUsage) {
		return ExitBadInput
	}
	return ExitFailure
}

var errUsage = errors.New("usage")

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

type signFlags struct {
	in, out, signer, capacity, email, method, field, hash, label, planFile, ink, evidence string
	relay, token, phone, level                                                            string
	dev, demoFlow                                                                         bool
}

// Sign runs "relay sign": prepare, sign and embed one signature.
func Sign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f signFlags
	fs.StringVar(&f.in, "in", "", "the PDF to sign")
	fs.StringVar(&f.out, "out", "", "where to write the signed PDF")
	fs.StringVar(&f.signer, "signer", "", "the signer's name")
	fs.StringVar(&f.capacity, "capacity", "", "the signer's capacity (e.g. Director)")
	fs.StringVar(&f.email, "email", "", "the signer's e-mail address")
	fs.StringVar(&f.method, "method", "itsme", "itsme, eid, x509, pen or tan")
	fs.StringVar(&f.field, "field", "", "PAGE:X,Y,W,H — where the marker (or a pen signature) goes, in points")
	fs.StringVar(&f.hash, "hash", "sha256", "sha256, sha384 or sha512")
	fs.StringVar(&f.label, "label", "", "the signer's reference (A, B…); default: the signer's slot in the plan, or the next letter")
	fs.StringVar(&f.planFile, "plan", "", "a JSON signing plan ({\"signers\": [...]}) for the whole document")
	fs.StringVar(&f.ink, "ink", "", "a JSON file with the pen drawing: [[[x,y],…],…] in a unit box")
	fs.StringVar(&f.evidence, "evidence", "", "evidence line for pen/TAN (e.g. the masked phone number)")
	fs.BoolVar(&f.dev, "dev", false, "sign in-process with the development PKI (test QTSP CA, seal, TSA)")
	fs.StringVar(&f.relay, "relay", "", "sign through a relay, e.g. ws://127.0.0.1:8080 (the document stays here; only its digest is sent)")
	fs.StringVar(&f.token, "token", "", "the portal's session token for --relay")
	fs.StringVar(&f.phone, "phone", "", "the signer's phone number for --method tan (+32…)")
	fs.StringVar(&f.level, "level", "B-T", "PAdES level: B-B, B-T (with a signature time-stamp), B-LT (and a DSS with OCSP/CRL data) or B-LTA (and a document time-stamp)")
	fs.BoolVar(&f.demoFlow, "demo", false, "with --relay against relay serve --demo: fetch a demo token, approve in the itsme simulator and read TAN codes from the dev outbox")
	if err := fs.Parse(args); err != nil {
		return ExitBadInput
	}
	if err := runSign(f, stdout, stderr); err != nil {
		return fail(stderr, err)
	}
	return ExitOK
}

func runSign(f signFlags, stdout, stderr io.Writer) error {
	if f.in == "" || f.out == "" {
		return usage("--in and --out are required")
	}
	if f.dev == (f.relay != "") {
		return usage("choose one: --dev (in-process dev PKI) or --relay URL")
	}
	if !ltv.ValidLevel(f.level) {
		return usage("--level must be B-B, B-T, B-LT or B-LTA, not %q", f.level)
	}
	h, err := parseHash(f.hash)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(f.in)
	if err != nil {
		return usage("cannot read --in: %v", err)
	}
	doc, err := pdfcore.Open(data)
	if err != nil {
		return err
	}
	plan, label, signer, err := buildPlan(f, doc)
	if err != nil {
		return err
	}
	opts := pdfcore.Options{Hash: h, Time: time.Now(), Evidence: f.evidence}
	if f.ink != "" {
		if opts.Ink, err = readInk(f.ink); err != nil {
			return err
		}
	} else if signer.Method == pdfcore.MethodPen {
		opts.Ink = devScribble(signer.Name)
	}
	if f.relay != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		update, p, level, err := signViaRelay(ctx, f, doc, data, plan, label, signer, opts, stdout, stderr)
		if err != nil {
			return err
		}
		if err := writeSigned(f.out, data, update); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %s as %s (%s, %s) through %s: %s, level %s\n", f.out, label, signer.Name, signer.Method, f.relay, p.Layout.Kind, level)
		return nil
	}
	pki, err := devstore.Load()
	if err != nil {
		return err
	}
	var id *devpki.Identity
	if signer.Method.X509() {
		if id, err = devstore.Identity(pki, signer.Name); err != nil {
			return err
		}
	} else {
		id = pki.Seal()
	}
	p, err := pdfcore.Prepare(doc, plan, label, id.Chain, opts)
	if err != nil {
		return err
	}
	der, err := cms.Sign(p.Digest, h, id.Chain, id.Key)
	if err != nil {
		return err
	}
	if f.level != "B-B" {
		imprint, err := cms.TimestampImprint(der, h)
		if err != nil {
			return err
		}
		token, err := pki.Timestamp(imprint, h, time.Now())
		if err != nil {
			return err
		}
		if der, err = cms.AddTimestamp(der, token); err != nil {
			return err
		}
	}
	update, err := pdfcore.EmbedUpdate(p, der)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	more, err := ltv.Extend(ctx, append(append([]byte(nil), data...), update...), f.level, ltv.Dev{PKI: pki}, ltv.Options{Hash: h, Warn: warnTo(stderr)})
	if err != nil {
		return err
	}
	if err := writeSigned(f.out, data, append(update, more...)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s as %s (%s, %s): %s, level %s\n", f.out, label, signer.Name, signer.Method, p.Layout.Kind, f.level)
	return nil
}

// warnTo prints warnings (chains left without validation data) on stderr.
func warnTo(stderr io.Writer) func(string) {
	return func(s string) { fmt.Fprintln(stderr, "veilsign: warning:", s) }
}

func parseHash(s string) (crypto.Hash, error) {
	switch strings.ToLower(s) {
	case "sha256", "sha-256":
		return crypto.SHA256, nil
	case "sha384", "sha-384":
		return crypto.SHA384, nil
	case "sha512", "sha-512":
		return crypto.SHA512, nil
	}
	return 0, usage("--hash must be sha256, sha384 or sha512, not %q", s)
}

// buildPlan finds who signs: a signer of --plan or of the document's own plan (by --label
// or by name), or a new signer from the flags.
func buildPlan(f signFlags, doc *pdfcore.Document) (*pdfcore.Plan, string, *pdfcore.Signer, error) {
	plan := &pdfcore.Plan{}
	if f.planFile != "" {
		b, err := os.ReadFile(f.planFile)
		if err != nil {
			return nil, "", nil, usage("cannot read --plan: %v", err)
		}
		if err := json.Unmarshal(b, plan); err != nil {
			return nil, "", nil, usage("--plan is not a valid plan: %v", err)
		}
	}
	used := map[string]bool{}
	for _, fl := range doc.Fields {
		if fl.Slot != nil {
			used[fl.Slot.Label] = true
			if f.label == "" && !fl.Signed && fl.Slot.Name == f.signer {
				f.label = fl.Slot.Label
			}
		}
	}
	for _, s := range plan.Signers {
		if f.label == "" && s.Name == f.signer {
			f.label = s.Label
		}
	}
	if s := findSigner(plan, f.label); s != nil {
		return plan, s.Label, s, nil
	}
	for _, fl := range doc.Fields {
		if fl.Slot != nil && fl.Slot.Label == f.label {
			s := &pdfcore.Signer{Label: fl.Slot.Label, Name: fl.Slot.Name, Capacity: fl.Slot.Capacity, Email: fl.Slot.Email, Method: fl.Slot.Method}
			return plan, s.Label, s, nil
		}
	}
	if f.signer == "" {
		return nil, "", nil, usage("--signer is required")
	}
	if f.label == "" {
		for i := 0; ; i++ {
			if l := pdfcore.Label(i); !used[l] && findSigner(plan, l) == nil {
				f.label = l
				break
			}
		}
	}
	s := pdfcore.Signer{Label: f.label, Name: f.signer, Capacity: f.capacity, Email: f.email, Method: pdfcore.Method(f.method)}
	if f.field != "" {
		fld, err := parseField(f.field)
		if err != nil {
			return nil, "", nil, err
		}
		s.Field = fld
	}
	plan.Signers = append(plan.Signers, s)
	return plan, s.Label, &plan.Signers[len(plan.Signers)-1], nil
}

func findSigner(p *pdfcore.Plan, label string) *pdfcore.Signer {
	for i := range p.Signers {
		if label != "" && p.Signers[i].Label == label {
			return &p.Signers[i]
		}
	}
	return nil
}

// parseField reads PAGE:X,Y,W,H.
func parseField(s string) (*pdfcore.Field, error) {
	page, rest, ok := strings.Cut(s, ":")
	parts := strings.Split(rest, ",")
	if !ok || len(parts) != 4 {
		return nil, usage("--field must be PAGE:X,Y,W,H, not %q", s)
	}
	p, err := strconv.Atoi(page)
	if err != nil {
		return nil, usage("--field page %q is not a number", page)
	}
	var v [4]float64
	for i, x := range parts {
		if v[i], err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return nil, usage("--field value %q is not a number", x)
		}
	}
	return &pdfcore.Field{Page: p, Rect: pdfcore.Rect{LLX: v[0], LLY: v[1], URX: v[0] + v[2], URY: v[1] + v[3]}}, nil
}

func readInk(path string) ([][][2]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usage("cannot read --ink: %v", err)
	}
	var ink [][][2]float64
	if err := json.Unmarshal(b, &ink); err != nil {
		return nil, usage("--ink is not [[[x,y],…],…]: %v", err)
	}
	return ink, nil
}

// devScribble stands in for a drawing in dev mode: a wave whose shape depends on the name.
func devScribble(name string) [][][2]float64 {
	var stroke [][2]float64
	k := float64(len(name)%5 + 2)
	for i := 0; i <= 40; i++ {
		x := float64(i) / 40
		y := 0.5 + 0.3*math.Sin(x*k*math.Pi)*(1-x*0.5)
		stroke = append(stroke, [2]float64{x, y})
	}
	return [][][2]float64{stroke}
}

// writeSigned writes original+update to path without joining them in memory, through a
// temporary file renamed into place so a failed write never leaves half a PDF.
func writeSigned(path string, original, update []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".veilsign-*.pdf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(original); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(update); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
