package pdfcore_test

// TestInterop signs every PDF of testdata/pdf (but fail-*.pdf) three times in a row — itsme
// (A), pen (B), SMS-TAN (C), each B-T with a dev TSA token — and after every signature has
// tools nobody here wrote check the result: poppler's pdfsig, pdfcpu's signature validation,
// qpdf --check and openssl cms/ts. After the third one it checks the signature page's text
// (pdftotext) and that no original page changed outside the markers (pdftoppm).
//
// Extra inputs: VEILSIGN_INTEROP_EXTRA is a glob of more PDFs to sign (e.g. /tmp/pdfs/*.pdf).
// VEILSIGN_INTEROP_KEEP names a directory where each signed file is written for inspection.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/fault"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// interopTools are the outside programs the test runs.
type interopTools struct {
	pdfsig, pdfinfo, pdftotext, pdftoppm, qpdf, openssl string
}

func requireTools(t *testing.T) *interopTools {
	return &interopTools{
		pdfsig:    testtool.Require(t, "pdfsig"),
		pdfinfo:   testtool.Require(t, "pdfinfo"),
		pdftotext: testtool.Require(t, "pdftotext"),
		pdftoppm:  testtool.Require(t, "pdftoppm"),
		qpdf:      testtool.Require(t, "qpdf"),
		openssl:   testtool.Require(t, "openssl"),
	}
}

// The checks, numbered as in the test plan.
const (
	chkPdfsig    = "1 pdfsig"
	chkPdfcpu    = "2 pdfcpu"
	chkQpdf      = "3 qpdf --check"
	chkCMS       = "4 openssl cms -verify"
	chkTS        = "4b openssl ts -verify (B-T)"
	chkText      = "5 pdftotext"
	chkShown     = "5b slots show \"Signed\""
	chkRender    = "6 pdftoppm"
	chkPrefix    = "7 prefix & unchanged input"
	chkLayout    = "layout kind"
	chkFieldsRO  = "Open sees signatures"
	chkPlan      = "3-signer plan accepted"
	chkCertified = "certified: new field refused"
	chkVerify    = "8 our verifier: valid, ref, method, level"
)

// interopStats counts passes and failures per check over all files, for the summary.
type interopStats struct {
	mu      sync.Mutex
	pass    map[string]int
	fail    map[string]int
	failed  map[string][]string // check → files
	pixels  map[string]int      // file → differing pixels outside the markers
	skipped map[string][]string // check → "file: why"
	files   int
}

func newStats() *interopStats {
	return &interopStats{pass: map[string]int{}, fail: map[string]int{}, failed: map[string][]string{},
		pixels: map[string]int{}, skipped: map[string][]string{}}
}

func (s *interopStats) record(check, file string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.pass[check]++
		return
	}
	s.fail[check]++
	if fs := s.failed[check]; len(fs) == 0 || fs[len(fs)-1] != file {
		s.failed[check] = append(fs, file)
	}
}

func (s *interopStats) skip(check, file, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipped[check] = append(s.skipped[check], file+": "+why)
}

func (s *interopStats) summary(t *testing.T, files int, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "interop summary: %d files in %v\n", files, took.Round(time.Millisecond))
	for _, c := range []string{chkPdfsig, chkPdfcpu, chkQpdf, chkCMS, chkTS, chkText, chkShown, chkRender, chkPrefix, chkLayout, chkFieldsRO, chkPlan, chkCertified, chkVerify} {
		fmt.Fprintf(&b, "  %-30s pass %4d  fail %3d", c, s.pass[c], s.fail[c])
		if fs := s.failed[c]; len(fs) > 0 {
			fmt.Fprintf(&b, "  failing: %s", strings.Join(fs, ", "))
		}
		b.WriteString("\n")
		for _, sk := range s.skipped[c] {
			fmt.Fprintf(&b, "      skipped %s\n", sk)
		}
	}
	names := make([]string, 0, len(s.pixels))
	for n := range s.pixels {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("  differing pixels outside the markers (pdftoppm -r 50 -gray):\n")
	for _, n := range names {
		fmt.Fprintf(&b, "      %6d  %s\n", s.pixels[n], n)
	}
	t.Log(b.String())
}

type interopInput struct{ name, path string }

// interopInputs lists testdata/pdf/*.pdf but fail-*.pdf, VEILSIGN_INTEROP_EXTRA, and — while
// the corpus is still nearly empty — a few PDFs built here in a temporary directory.
func interopInputs(t *testing.T) []interopInput {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pdf", "*.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	var in []interopInput
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(p), "fail-") {
			continue
		}
		in = append(in, interopInput{filepath.Base(p), p})
	}
	if g := os.Getenv("VEILSIGN_INTEROP_EXTRA"); g != "" {
		extra, _ := filepath.Glob(g)
		for _, p := range extra {
			in = append(in, interopInput{"extra-" + filepath.Base(p), p})
		}
	}
	// Always: a first page turned by /Rotate, which the corpus lacks, to check that fields,
	// markers and the pixel comparison follow the rotation. While the corpus is nearly
	// empty, a few plain documents too. They live in a temporary directory only.
	dir := t.TempDir()
	for _, rot := range []int{90, 270} {
		name := fmt.Sprintf("generated-page1-rotate%d.pdf", rot)
		in = append(in, interopInput{name, writeTemp(t, dir, name, miniPDFRotated(2, rot, ""))})
	}
	if len(in) < 7 {
		for _, n := range []int{1, 3} {
			name := fmt.Sprintf("generated-%d-pages.pdf", n)
			in = append(in, interopInput{name, writeTemp(t, dir, name, miniPDF(n, ""))})
		}
	}
	return in
}

func TestInterop(t *testing.T) {
	tools := requireTools(t)
	fx := sharedPKI(t)
	// pdfcpu: no configuration directory, and a trust store holding only the dev root, so
	// that its path check can succeed (an untrusted path would be accepted too).
	model.ConfigPath = "disable"
	model.TrustedCertDir = t.TempDir()
	fx.writeRoot(t, model.TrustedCertDir)
	inputs := interopInputs(t)
	stats := newStats()
	start := time.Now()
	t.Run("sign3", func(t *testing.T) {
		for _, in := range inputs {
			t.Run(in.name, func(t *testing.T) {
				t.Parallel()
				interopFile(t, tools, fx, in, stats)
			})
		}
	})
	stats.summary(t, stats.files, time.Since(start))
}

// pdfcpuMu serialises pdfcpu: its signature validation keeps package state (trust pool,
// configuration) that is not documented as safe for concurrent use.
var pdfcpuMu sync.Mutex

// errNoSignatures: pdfcpu found nothing to validate (an unsigned input).
var errNoSignatures = errors.New("pdfcpu: no signatures")

// pdfcpuValidate runs pdfcpu 0.15's signature validation on a PDF in memory. It is
// api.ValidateSignaturesRaw step by step (read, validate, optimise, cache form fonts, load
// the trust pool, validate the signatures): package api itself imports pdfcpu/form, whose
// dependency github.com/mattn/go-runewidth has no go.sum entry in this module.
func pdfcpuValidate(pdf []byte) (results []*model.SignatureValidationResult, err error) {
	pdfcpuMu.Lock()
	defer pdfcpuMu.Unlock()
	defer fault.Catch(&err)
	rs := bytes.NewReader(pdf)
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATESIGNATURES
	ctx, err := pdfcpu.Read(rs, conf)
	if err != nil {
		return nil, fmt.Errorf("pdfcpu read: %w", err)
	}
	if err := validate.XRefTable(ctx); err != nil {
		return nil, fmt.Errorf("pdfcpu validate: %w", err)
	}
	if conf.Optimize {
		if err := pdfcpu.OptimizeXRefTable(ctx); err != nil {
			return nil, fmt.Errorf("pdfcpu optimize: %w", err)
		}
	}
	if err := pdfcpu.CacheFormFonts(ctx); err != nil {
		return nil, fmt.Errorf("pdfcpu form fonts: %w", err)
	}
	if len(ctx.Signatures) == 0 && !ctx.SignatureExist && !ctx.AppendOnly {
		return nil, errNoSignatures
	}
	// pdfcpu 0.15 gives up on the whole document when a signature field has no /V
	// ("signature field dict entry V: missing signature dict reference"), though an empty
	// signature field is legal; after our first signature the plan's other fields are
	// empty. Only signed fields are handed to it: the bytes stay as they are.
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
		return nil, fmt.Errorf("pdfcpu trust pool: %w", err)
	}
	return pdfcpu.ValidateSignatures(rs, ctx, true)
}

// pdfcpuIntegrityProblem says what is wrong with the integrity of one signature, "" when
// nothing is. An untrusted or unknown certificate is not an integrity problem.
func pdfcpuIntegrityProblem(r *model.SignatureValidationResult) string {
	if !r.Signed {
		return ""
	}
	switch {
	case r.DocModified == model.True:
		return "document modified"
	case r.Reason == model.SignatureReasonDocModified, r.Reason == model.SignatureReasonSignatureForged,
		r.Reason == model.SignatureReasonMalformed, r.Reason == model.SignatureReasonTimestampTokenInvalid,
		r.Reason == model.SignatureReasonInternal:
		return r.Reason.String()
	}
	var probs []string
	probs = append(probs, r.Problems...)
	for _, s := range r.Details.Signers {
		probs = append(probs, s.Problems...)
	}
	for _, p := range probs {
		l := strings.ToLower(p)
		if strings.Contains(l, "digest") || strings.Contains(l, "modif") || strings.Contains(l, "mismatch") {
			return p
		}
	}
	return ""
}

func interopFile(t *testing.T, tools *interopTools, fx *devFixture, in interopInput, stats *interopStats) {
	name := in.name
	stats.mu.Lock()
	stats.files++
	stats.mu.Unlock()
	errorf := func(check, format string, args ...any) {
		t.Helper()
		t.Errorf("%s: [%s] %s", name, check, fmt.Sprintf(format, args...))
	}
	data, err := os.ReadFile(in.path)
	if err != nil {
		t.Fatal(err)
	}
	keep := bytes.Clone(data)
	dir := t.TempDir()
	root := fx.writeRoot(t, dir)
	inPath := writeTemp(t, dir, "input.pdf", data)

	doc, err := pdfcore.Open(data)
	if err != nil {
		t.Fatalf("%s: Open: %v (code %q)", name, err, pdfcore.CodeOf(err))
	}
	pre := 0
	for _, f := range doc.Fields {
		if f.Signed {
			pre++
		}
	}
	origPages := doc.Pages

	// Baselines on the unsigned input.
	baseSigs := signedOnly(parsePdfsig(run(t, tools.pdfsig, inPath).Stdout))
	okPre := len(baseSigs) == pre
	stats.record(chkFieldsRO, name, okPre)
	if !okPre {
		errorf(chkFieldsRO, "Open finds %d signed fields, pdfsig %d signatures", pre, len(baseSigs))
		pre = len(baseSigs) // count what poppler sees from here on
	}
	qBaseCode, qBase, _ := qpdfCheck(t, tools.qpdf, inPath)
	qBaseSet := map[string]bool{}
	for _, w := range qBase {
		qBaseSet[w] = true
	}
	pdfcpuOK := true
	pdfcpuBaseBad := map[string]bool{} // pre-existing signatures pdfcpu already faults
	pdfcpuPre := 0                     // signatures pdfcpu sees in the input
	if res, err := pdfcpuValidate(data); err != nil {
		if !errors.Is(err, errNoSignatures) {
			pdfcpuOK = false
			stats.skip(chkPdfcpu, name, "pdfcpu cannot read the unsigned input: "+err.Error())
			t.Logf("%s: pdfcpu cannot validate the unsigned input, check 2 skipped: %v", name, err)
		}
	} else {
		for _, r := range res {
			if r.Signed {
				pdfcpuPre++
			}
			if p := pdfcpuIntegrityProblem(r); p != "" {
				pdfcpuBaseBad[r.Details.FieldName] = true
				t.Logf("%s: pdfcpu already faults the input's signature %q: %s", name, r.Details.FieldName, p)
			}
		}
	}

	boxes := pageBoxes(t, tools.pdfinfo, inPath, 1, 1)
	if boxes[1] == nil {
		t.Fatalf("%s: pdfinfo gave no boxes for page 1", name)
	}
	counter := pre > 0 || doc.MDP >= 2 // a document signed elsewhere gets no signature page
	// Under /NeedAppearances true poppler redraws every widget itself and shows nothing of
	// a signature's appearance (Acrobat draws it). pdfcore leaves the flag as the author set
	// it, so on such forms the checks that read widget appearances through poppler cannot
	// see them; they are reported as not applicable rather than passed.
	widgetsHidden := needAppearances.Match(data)
	rectA, rectB := fieldRects(boxes[1])
	if counter {
		// No page and no markers can be added: each signature is a widget showing the
		// whole slot, which needs about 340×84 points; they are stacked.
		rectA, rectB = slotRects(boxes[1])
	}
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{
		{Label: "A", Name: nameA, Capacity: "Zaakvoerder", Email: "zoe@example.invalid", Method: pdfcore.MethodItsme,
			Field: &pdfcore.Field{Page: 1, Rect: rectA}},
		{Label: "B", Name: nameB, Capacity: "Διευθυντής", Method: pdfcore.MethodPen,
			Field: &pdfcore.Field{Page: 1, Rect: rectB}},
		{Label: "C", Name: nameC, Capacity: "Бухгалтер", Method: pdfcore.MethodTAN},
	}}
	// A minute apart, the last one now: nothing is dated in the future.
	now := time.Now().UTC().Truncate(time.Second)
	tA, tB, tC := now.Add(-2*time.Minute), now.Add(-time.Minute), now
	steps := []struct {
		label string
		id    *devpki.Identity
		opts  pdfcore.Options
	}{
		{"A", fx.itsme, pdfcore.Options{Time: tA}},
		{"B", fx.seal, pdfcore.Options{Time: tB, Ink: [][][2]float64{
			{{0.05, 0.4}, {0.2, 0.8}, {0.35, 0.3}, {0.5, 0.75}, {0.65, 0.35}, {0.9, 0.6}},
			{{0.1, 0.15}, {0.85, 0.2}}}}},
		{"C", fx.seal, pdfcore.Options{Time: tC,
			Evidence: "SMS code confirmed on +32 470 ** ** 56 at " + tC.Format("15:04:05") + " UTC"}},
	}

	if doc.MDP >= 2 {
		// A certified document can only have its existing empty signature fields signed;
		// the plan places signers on rectangles, so Prepare must refuse, with the code.
		_, err := signStep(t, fx, data, plan, "A", fx.itsme, steps[0].opts)
		ok := pdfcore.CodeOf(err) == pdfcore.CodeNoChangesAllowed
		stats.record(chkCertified, name, ok)
		if !ok {
			errorf(chkCertified, "a new field on a certified document was not refused: %v", err)
		}
		return
	}
	prev := data
	var done []*signResult
	var revStart []int                // where each of our revisions starts
	for k := 0; k < len(steps); k++ { // steps may shrink at step 1
		st, step := steps[k], k+1
		res, err := signStep(t, fx, prev, plan, st.label, st.id, st.opts)
		for err != nil && step == 1 && pdfcore.CodeOf(err) == pdfcore.CodeNoRoom && len(steps) > 1 {
			// The plan is refused (a pdfcore limitation, reported); sign with fewer
			// signers so that every other check still runs on this file.
			errorf(chkPlan, "a plan of %d signers is refused: %v", len(steps), err)
			steps = steps[:len(steps)-1]
			plan = &pdfcore.Plan{Signers: plan.Signers[:len(steps)]}
			res, err = signStep(t, fx, prev, plan, st.label, st.id, st.opts)
		}
		if err != nil {
			t.Fatalf("%s: step %d (signer %s): %v (code %q)", name, step, st.label, err, pdfcore.CodeOf(err))
		}
		if step == 1 {
			stats.record(chkPlan, name, len(steps) == 3)
		}
		out := res.Out
		okPrefix := bytes.HasPrefix(out, data) && bytes.HasPrefix(out, prev) && bytes.Equal(data, keep)
		stats.record(chkPrefix, name, okPrefix)
		if !okPrefix {
			errorf(chkPrefix, "step %d: the input is not a prefix of the output, or the input changed", step)
		}
		wantKind := pdfcore.LayoutSlot
		switch {
		case counter:
			wantKind = pdfcore.LayoutCounterSignature
		case step == 1:
			wantKind = pdfcore.LayoutSignaturePage
		}
		okKind := res.Prepared.Layout.Kind == wantKind
		stats.record(chkLayout, name, okKind)
		if !okKind {
			errorf(chkLayout, "step %d: layout %q, want %q (%s)", step, res.Prepared.Layout.Kind, wantKind, res.Prepared.Layout.Reason)
		}
		revStart = append(revStart, len(prev))
		done = append(done, res)
		outPath := writeTemp(t, dir, fmt.Sprintf("step%d.pdf", step), out)
		wantSigned := pre + step

		// 1. pdfsig: every signature valid, only the last one covers the whole file.
		{
			r := run(t, tools.pdfsig, outPath)
			sigs := signedOnly(parsePdfsig(r.Stdout))
			var probs []string
			if len(sigs) != wantSigned {
				probs = append(probs, fmt.Sprintf("%d signatures, want %d", len(sigs), wantSigned))
			}
			total := 0
			for _, s := range sigs {
				if s.Validation != "Signature is Valid." {
					probs = append(probs, fmt.Sprintf("field %q: %q", s.Field, s.Validation))
				}
				if s.Total {
					total++
					br := res.Prepared.ByteRange
					if s.Ranges != [4]int64{br[0], br[1], br[2], br[2] + br[3]} || s.Ranges[3] != int64(len(out)) {
						probs = append(probs, fmt.Sprintf("field %q is \"Total document signed\" with ranges %v; prepared /ByteRange %v, file %d bytes", s.Field, s.Ranges, br, len(out)))
					}
				} else if !s.NotTotal {
					probs = append(probs, fmt.Sprintf("field %q: no total/not total line", s.Field))
				}
			}
			if total != 1 {
				probs = append(probs, fmt.Sprintf("%d signatures are \"Total document signed\", want exactly 1 (the last)", total))
			}
			stats.record(chkPdfsig, name, len(probs) == 0)
			if len(probs) > 0 {
				errorf(chkPdfsig, "step %d: %s\n%s", step, strings.Join(probs, "; "), r.Stdout+r.Stderr)
			}
		}

		// 2. pdfcpu: no integrity failure; untrusted certificates are fine.
		if pdfcpuOK {
			res2, err := pdfcpuValidate(out)
			var probs []string
			if err != nil {
				probs = append(probs, err.Error())
			}
			n := 0
			for _, r := range res2 {
				if !r.Signed {
					continue
				}
				n++
				if pdfcpuBaseBad[r.Details.FieldName] {
					continue
				}
				if p := pdfcpuIntegrityProblem(r); p != "" {
					probs = append(probs, fmt.Sprintf("field %q: %s\n%s", r.Details.FieldName, p, r.String()))
				}
			}
			if err == nil && n != pdfcpuPre+step {
				probs = append(probs, fmt.Sprintf("%d signed signatures, want %d", n, pdfcpuPre+step))
			}
			stats.record(chkPdfcpu, name, len(probs) == 0)
			if len(probs) > 0 {
				errorf(chkPdfcpu, "step %d: %s", step, strings.Join(probs, "; "))
			}
		}

		// 3. qpdf --check: exit 0 or 3, no warning the input did not have.
		{
			code, warns, all := qpdfCheck(t, tools.qpdf, outPath)
			var fresh []string
			for _, w := range warns {
				if !qBaseSet[w] {
					fresh = append(fresh, w)
				}
			}
			ok := (code == 0 || code == 3) && len(fresh) == 0
			stats.record(chkQpdf, name, ok)
			if !ok {
				errorf(chkQpdf, "step %d: exit %d (input: %d), new warnings %q\n%s", step, code, qBaseCode, fresh, all)
			}
		}

		// 4. openssl: each of our signatures, found by a byte search in its revision.
		for j, d := range done {
			br, err := findByteRange(out[:revStart[j]+len(d.Prepared.Update)], revStart[j])
			var der, signed []byte
			if err == nil && br != d.Prepared.ByteRange {
				err = fmt.Errorf("/ByteRange in the file %v, Prepared.ByteRange %v", br, d.Prepared.ByteRange)
			}
			if err == nil {
				der, signed, err = extractSignature(out, br)
			}
			if err == nil && !bytes.Equal(der, d.CMS) {
				err = errors.New("the CMS in /Contents is not the one embedded")
			}
			tag := fmt.Sprintf("s%d-%s", step, steps[j].label)
			if err != nil {
				stats.record(chkCMS, name, false)
				errorf(chkCMS, "step %d, signature %s: %v", step, steps[j].label, err)
				continue
			}
			ok, msg := opensslVerify(t, tools.openssl, dir, root, der, signed, tag)
			stats.record(chkCMS, name, ok)
			if !ok {
				errorf(chkCMS, "step %d, signature %s: openssl cms -verify: %s", step, steps[j].label, msg)
			}
			if j == k { // the time-stamp is checked once, when it is new
				ok, msg := opensslTimestamp(t, tools.openssl, dir, root, der, tag)
				stats.record(chkTS, name, ok)
				if !ok {
					errorf(chkTS, "step %d, signature %s: %s", step, steps[j].label, msg)
				}
			}
		}
		prev = out
	}
	if !bytes.Equal(data, keep) {
		errorf(chkPrefix, "the input bytes changed during the test")
	}

	final := prev
	if keepDir := os.Getenv("VEILSIGN_INTEROP_KEEP"); keepDir != "" {
		// Keep the signed file for a look by hand (never under testdata).
		if err := os.WriteFile(filepath.Join(keepDir, name), final, 0o644); err != nil {
			t.Log(err)
		}
	}
	finalPath := filepath.Join(dir, fmt.Sprintf("step%d.pdf", len(steps)))
	fdoc, err := pdfcore.Open(final)
	if err != nil {
		t.Fatalf("%s: Open(signed): %v", name, err)
	}
	// Where each signer's slot is, as the signed document records it.
	slotPage := map[string]int{}
	var ourRects = map[int][]pdfcore.Rect{}
	for _, f := range fdoc.Fields {
		if f.Slot != nil {
			slotPage[f.Slot.Label] = f.Page
			if f.Page >= 1 && f.Page <= origPages {
				ourRects[f.Page] = append(ourRects[f.Page], f.Rect)
			}
		}
	}

	// 8. Our own verifier: every signature valid (the dev root trusted), ours with the
	// right reference, method, timestamp and level, and nothing disallowed after any of
	// them — for the input's own signatures too, unless the input itself broke them.
	{
		rep, err := pdfcore.Verify(final, pdfcore.VerifyOptions{Roots: fx.pki.Roots()})
		var probs []string
		if err != nil {
			probs = append(probs, err.Error())
		} else {
			wantMethod := map[string]string{"A": "itsme", "B": "pen", "C": "tan"}
			ours := 0
			for _, s := range rep.Signatures {
				if s.Integrity != "valid" {
					probs = append(probs, fmt.Sprintf("%s: %s (%s)", s.Field, s.Integrity, s.Reason))
				}
				label := strings.TrimPrefix(s.Field, "Signature ")
				m, isOurs := wantMethod[label]
				if !isOurs {
					continue
				}
				ours++
				if s.Method != m || !s.Timestamp.Valid || s.Level != "B-T" || !s.CertificateTrusted {
					probs = append(probs, fmt.Sprintf("%s: method %s, timestamp %v, level %s, trusted %v", s.Field, s.Method, s.Timestamp.Valid, s.Level, s.CertificateTrusted))
				}
				if !counter && s.Reference != label {
					probs = append(probs, fmt.Sprintf("%s: reference %q", s.Field, s.Reference))
				}
				for _, c := range s.ChangesAfter {
					if !c.Allowed {
						probs = append(probs, fmt.Sprintf("%s: disallowed change %s (%s)", s.Field, c.Kind, c.Detail))
					}
				}
			}
			if ours != len(steps) {
				probs = append(probs, fmt.Sprintf("%d of our %d signatures reported", ours, len(steps)))
			}
			// signed-pdfsig-2-signatures.pdf arrives with pdfsig's second signature
			// changing its first one's revision (pyHanko says so too): not valid before us.
			// Signatures made elsewhere chain to a test key our roots do not hold.
			untrustedForeign := pre > 0 && rep.Summary == pdfcore.SummaryUntrust
			if !rep.Valid && !untrustedForeign && name != "signed-pdfsig-2-signatures.pdf" {
				probs = append(probs, "report not valid: "+rep.Summary)
			}
		}
		stats.record(chkVerify, name, len(probs) == 0)
		if len(probs) > 0 {
			errorf(chkVerify, "%s", strings.Join(probs, "; "))
		}
	}

	// 5. pdftotext: the last page (the signature page) names every signer and reference.
	{
		lastPage := pageCount(t, tools.pdfinfo, finalPath)
		var probs []string
		if !counter && lastPage != origPages+1 {
			probs = append(probs, fmt.Sprintf("%d pages, want %d (the original and a signature page)", lastPage, origPages+1))
		}
		textOf := map[int][]string{}
		pageText := func(p int) []string {
			if w, ok := textOf[p]; ok {
				return w
			}
			r := run(t, tools.pdftotext, "-f", fmt.Sprint(p), "-l", fmt.Sprint(p), "-enc", "UTF-8", finalPath, "-")
			textOf[p] = strings.Fields(r.Stdout)
			return textOf[p]
		}
		for _, s := range []struct{ label, name string }{{"A", nameA}, {"B", nameB}, {"C", nameC}}[:len(steps)] {
			p := lastPage
			if counter { // no signature page: each slot is a widget at the signer's place
				p = slotPage[s.label]
			}
			if counter && widgetsHidden {
				continue // only the widget carries the name; poppler does not draw it here
			}
			words := pageText(p)
			norm := " " + strings.Join(words, " ") + " "
			if !strings.Contains(norm, " "+s.name+" ") {
				probs = append(probs, fmt.Sprintf("page %d lacks the name %q", p, s.name))
			}
			if !strings.Contains(norm, " "+s.label+" ") {
				probs = append(probs, fmt.Sprintf("page %d lacks the reference %q", p, s.label))
			}
		}
		// 5b. Each slot shows its signed state ("Signed", drawn by the widget appearance of
		// the signed field): viewers that ignore the appearance show an empty slot.
		wantSigned := map[int]int{}
		for _, st := range steps {
			p := lastPage
			if counter {
				p = slotPage[st.label]
			}
			wantSigned[p]++
		}
		var shown []string
		for p, want := range wantSigned {
			n := 0
			for _, w := range pageText(p) {
				if w == "Signed" {
					n++
				}
			}
			if n < want {
				shown = append(shown, fmt.Sprintf("page %d shows \"Signed\" %d times, want %d (one per signed slot)", p, n, want))
			}
		}
		if widgetsHidden {
			stats.skip(chkShown, name, "the form sets /NeedAppearances true: poppler hides widget appearances")
			shown = nil
		} else {
			stats.record(chkShown, name, len(shown) == 0)
		}
		if len(shown) > 0 {
			errorf(chkShown, "%s", strings.Join(shown, "; "))
		}
		stats.record(chkText, name, len(probs) == 0)
		if len(probs) > 0 {
			var pages []string
			for p, w := range textOf {
				pages = append(pages, fmt.Sprintf("--- page %d:\n%s", p, strings.Join(w, " ")))
			}
			sort.Strings(pages)
			errorf(chkText, "%s\n%s", strings.Join(probs, "; "), strings.Join(pages, "\n"))
		}
	}

	// 6. pdftoppm: the original pages are unchanged outside the markers.
	{
		before := render(t, tools.pdftoppm, inPath, filepath.Join(dir, mkdir(t, dir, "before")), origPages)
		after := render(t, tools.pdftoppm, finalPath, filepath.Join(dir, mkdir(t, dir, "after")), origPages)
		skipRects := map[int][]pdfcore.Rect{1: {rectA, rectB}}
		if counter {
			for p, rs := range ourRects {
				skipRects[p] = append(skipRects[p], rs...)
			}
		}
		var skipBoxes map[int]*pageBox
		if len(skipRects) > 1 {
			skipBoxes = pageBoxes(t, tools.pdfinfo, inPath, 1, origPages)
		} else {
			skipBoxes = boxes
		}
		var probs []string
		total := 0
		if len(before) != origPages || len(after) != origPages {
			probs = append(probs, fmt.Sprintf("rendered %d pages of the input and %d of the signed file, want %d", len(before), len(after), origPages))
		}
		for p := 1; p <= origPages; p++ {
			a, b := before[p], after[p]
			if a == nil || b == nil {
				continue
			}
			if a.W != b.W || a.H != b.H {
				probs = append(probs, fmt.Sprintf("page %d is %d×%d px, was %d×%d", p, b.W, b.H, a.W, a.H))
				continue
			}
			var skip []pixRect
			for i, r := range skipRects[p] {
				skip = append(skip, toPixels(r, skipBoxes[p], a, 2))
				if p == 1 && i < 2 && i < len(steps) && !(counter && widgetsHidden) {
					// The marker (or the counter-signature widget) is drawn where planned.
					if n := diffInside(a, b, toPixels(r, skipBoxes[p], a, -1)); n == 0 {
						probs = append(probs, fmt.Sprintf("nothing drawn at %s's field %v on page 1", steps[i].label, r))
					}
				}
			}
			if n := diffOutside(a, b, skip); n > 0 {
				total += n
				probs = append(probs, fmt.Sprintf("page %d: %d pixels differ outside the markers %v", p, n, skip))
			}
		}
		stats.mu.Lock()
		stats.pixels[name] = total
		stats.mu.Unlock()
		stats.record(chkRender, name, len(probs) == 0)
		if len(probs) > 0 {
			errorf(chkRender, "%s", strings.Join(probs, "; "))
		}
	}
}

var needAppearances = regexp.MustCompile(`/NeedAppearances\s+true`)

func mkdir(t *testing.T, dir, name string) string {
	if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	return name
}
