package pdfcore_test

// TestMalformed runs the generated set of hostile and broken PDFs (pdfcore/internal/
// malformed) through everything that reads a document: Open, Preflight, Prepare (then
// EmbedUpdate and Check with a real and a garbage CMS) and Verify. Each call must return a
// typed *pdfcore.Error or a correct result, within a time and a memory bound, without a
// panic and without changing the caller's bytes.

import (
	"bytes"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

// Bounds per call: they catch a hang or a runaway allocation, not slowness — the slowest
// case takes ~0.3 s on a quiet machine and 2.1 s was seen with both cores busy, so the time
// bound leaves room for a loaded CI machine. The race detector slows everything by an
// order of magnitude.
const (
	malformedTimeLimit = 10 * time.Second
	malformedHeapLimit = 256 << 20
)

var malformedIdentity = sync.OnceValues(func() (*devpki.PKI, *devpki.Identity) {
	pki, err := devpki.New()
	if err != nil {
		panic(err)
	}
	id, err := pki.IssueQualified(devpki.Person{GivenName: "Jan", Surname: "Peeters",
		SerialNumber: devpki.NationalNumber(time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC), 17, true)})
	if err != nil {
		panic(err)
	}
	return pki, id
})

// malformedCases returns the generated cases, derived from malformed.SourceFiles and synthetic.
func malformedCases(t testing.TB) []malformed.Case {
	var srcs []malformed.Source
	for _, name := range malformed.SourceFiles {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "pdf", name))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, malformed.Source{Name: name, Data: data})
	}
	return malformed.Cases(srcs)
}

// call is one guarded call's outcome.
type call struct {
	err      error
	dur      time.Duration
	heap     uint64 // peak growth of live heap objects during the call
	timedOut bool
	panicked any
	stack    []byte
}

// guarded runs f in its own goroutine, bounded by limit, sampling the heap while it runs.
// A call that times out is left running (a goroutine cannot be stopped); the test fails.
func guarded(limit time.Duration, f func() error) call {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := heap()
	var c call
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				c.panicked, c.stack = r, debug.Stack()
			}
		}()
		c.err = f()
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var peak uint64
	for {
		select {
		case <-done:
			c.dur = time.Since(start)
			if h := heap(); h > peak {
				peak = h
			}
			if peak > base {
				c.heap = peak - base
			}
			return c
		case <-timer.C:
			return call{timedOut: true, dur: time.Since(start), heap: max(peak, base) - base}
		case <-tick.C:
			if h := heap(); h > peak {
				peak = h
			}
		}
	}
}

// outcome names a result for the summary: the error code, or what succeeded.
func outcome(err error, ok string) string {
	if err == nil {
		return ok
	}
	if c := pdfcore.CodeOf(err); c != "" {
		return string(c)
	}
	return "UNTYPED"
}

func TestMalformed(t *testing.T) {
	_, id := malformedIdentity()
	limit, heapLimit := malformedTimeLimit, uint64(malformedHeapLimit)
	if raceEnabled {
		limit *= 15
	}
	if testing.Short() {
		t.Log("-short: the cases of many megabytes are left out")
	}
	cases := malformedCases(t)
	if len(cases) < 120 {
		t.Fatalf("only %d malformed cases", len(cases))
	}
	plan := &pdfcore.Plan{Signers: []pdfcore.Signer{
		{Label: "A", Name: "Jan Peeters", Method: pdfcore.MethodItsme, Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 300, LLY: 60, URX: 520, URY: 100}}},
		{Label: "B", Name: "Marie Dubois", Method: pdfcore.MethodEID},
	}}
	opts := pdfcore.Options{Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	garbageCMS := []byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0, 0}

	type row struct {
		name              string
		open, prep, verif string
		slowest           time.Duration
		heap              uint64
	}
	var rows []row
	start := time.Now()
	only := os.Getenv("VEILSIGN_MALFORMED_ONLY") // a substring of case names, to rerun a few
	for _, c := range cases {
		if only != "" && !strings.Contains(c.Name, only) || testing.Short() && c.Big {
			continue
		}
		data := c.Bytes()
		if data == nil {
			t.Errorf("%s: the generator could not build it", c.Name)
			continue
		}
		orig := bytes.Clone(data)
		r := row{name: c.Name}
		check := func(op string, cl call) bool {
			r.slowest, r.heap = max(r.slowest, cl.dur), max(r.heap, cl.heap)
			switch {
			case cl.panicked != nil:
				t.Errorf("%s: %s panicked: %v\n%s", c.Name, op, cl.panicked, cl.stack)
				return false
			case cl.timedOut:
				t.Errorf("%s: %s did not return within %v", c.Name, op, limit)
				return false
			case cl.heap > heapLimit:
				t.Errorf("%s: %s grew the heap by %d MB (limit %d MB)", c.Name, op, cl.heap>>20, heapLimit>>20)
			case cl.err != nil && pdfcore.CodeOf(cl.err) == "":
				t.Errorf("%s: %s returned an untyped error: %v", c.Name, op, cl.err)
			}
			return true
		}

		var doc *pdfcore.Document
		cl := guarded(limit, func() (err error) { doc, err = pdfcore.Open(data); return err })
		if !check("Open", cl) {
			rows = append(rows, r)
			continue
		}
		r.open = outcome(cl.err, "opened")
		r.prep, r.verif = "-", "-"
		if c.Expect == malformed.Refuse && cl.err == nil {
			t.Errorf("%s: Open accepted a file it must refuse", c.Name)
		}
		if doc != nil {
			cl = guarded(limit, func() error { _, err := pdfcore.Preflight(doc, plan, "A"); return err })
			check("Preflight", cl)
			var p *pdfcore.Prepared
			cl = guarded(limit, func() (err error) { p, err = pdfcore.Prepare(doc, plan, "A", id.Chain, opts); return err })
			if check("Prepare", cl) {
				r.prep = outcome(cl.err, "prepared")
			}
			if p != nil {
				r.prep = signPrepared(t, c.Name, data, p, id, garbageCMS, limit, check)
			}
		}
		if c.Expect == malformed.Accept && r.prep != "signed" {
			t.Errorf("%s: a valid control was not signed (open %s, prepare %s)", c.Name, r.open, r.prep)
		}
		var rep *pdfcore.Report
		cl = guarded(limit, func() (err error) { rep, err = pdfcore.Verify(data, pdfcore.VerifyOptions{}); return err })
		if check("Verify", cl) {
			switch {
			case cl.err != nil:
				r.verif = outcome(cl.err, "")
			case len(rep.Signatures) == 0:
				r.verif = "unsigned"
			case rep.Valid:
				r.verif = "valid"
			default:
				r.verif = "invalid"
			}
			if c.Expect == malformed.NotValid && rep != nil && rep.Valid {
				t.Errorf("%s: Verify calls a broken signature valid", c.Name)
			}
		}
		if !bytes.Equal(orig, data) {
			t.Errorf("%s: the input slice was changed", c.Name)
		}
		rows = append(rows, r)
	}
	total := time.Since(start)

	// The summary: outcomes per operation, and the costliest cases.
	count := func(get func(row) string) string {
		m := map[string]int{}
		for _, r := range rows {
			m[get(r)]++
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
		return strings.Join(parts, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d malformed files in %v\n", len(rows), total.Round(time.Millisecond))
	fmt.Fprintf(&b, "  Open:    %s\n", count(func(r row) string { return r.open }))
	fmt.Fprintf(&b, "  Prepare: %s\n", count(func(r row) string { return r.prep }))
	fmt.Fprintf(&b, "  Verify:  %s\n", count(func(r row) string { return r.verif }))
	sort.Slice(rows, func(i, j int) bool { return rows[i].slowest > rows[j].slowest })
	b.WriteString("  slowest calls:")
	for _, r := range rows[:min(8, len(rows))] {
		fmt.Fprintf(&b, " %s %v;", r.name, r.slowest.Round(time.Millisecond))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].heap > rows[j].heap })
	b.WriteString("\n  largest heap growth:")
	for _, r := range rows[:min(8, len(rows))] {
		fmt.Fprintf(&b, " %s %d MB;", r.name, r.heap>>20)
	}
	t.Log(b.String())
	if os.Getenv("VEILSIGN_MALFORMED_TABLE") != "" {
		sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
		for _, r := range rows {
			t.Logf("%-70s open=%-16s prepare=%-18s verify=%-14s %v %dMB", r.name, r.open, r.prep, r.verif, r.slowest.Round(time.Millisecond), r.heap>>20)
		}
	}
}

// signPrepared completes a prepared case: a garbage CMS must be refused with a code, a CMS
// made for the digest must embed, and the signed result must verify with that signature
// intact. The prepared update must not change. It returns the summary outcome.
func signPrepared(t *testing.T, name string, data []byte, p *pdfcore.Prepared, id *devpki.Identity, garbage []byte, limit time.Duration, check func(string, call) bool) string {
	t.Helper()
	update := bytes.Clone(p.Update)
	cl := guarded(limit, func() error { return pdfcore.Check(p, garbage) })
	check("Check(garbage)", cl)
	if cl.err == nil {
		t.Errorf("%s: Check accepted a garbage CMS", name)
	}
	der, err := cms.Sign(p.Digest, crypto.SHA256, id.Chain, id.Key)
	if err != nil {
		t.Fatalf("%s: cms.Sign: %v", name, err)
	}
	var signedUpdate []byte
	cl = guarded(limit, func() (err error) { signedUpdate, err = pdfcore.EmbedUpdate(p, der); return err })
	if !check("EmbedUpdate", cl) || cl.err != nil {
		t.Errorf("%s: EmbedUpdate of a CMS made for the digest: %v", name, cl.err)
		return outcome(cl.err, "embedded")
	}
	if !bytes.Equal(update, p.Update) {
		t.Errorf("%s: EmbedUpdate changed the prepared update", name)
	}
	signed := append(bytes.Clone(data), signedUpdate...)
	var rep *pdfcore.Report
	cl = guarded(limit, func() (err error) { rep, err = pdfcore.Verify(signed, pdfcore.VerifyOptions{}); return err })
	if !check("Verify(signed)", cl) {
		return "signed-verify-failed"
	}
	if cl.err != nil {
		t.Errorf("%s: our signed output does not verify: %v", name, cl.err)
		return "signed-unreadable"
	}
	var ours *pdfcore.SignatureReport
	for i := range rep.Signatures {
		if rep.Signatures[i].Field == p.Field {
			ours = &rep.Signatures[i]
		}
	}
	if ours == nil {
		t.Errorf("%s: Verify does not find our signature (field %q) in the signed output", name, p.Field)
		return "signed-invalid"
	}
	if ours.Integrity != "valid" || !ours.CoversRevision || !ours.CoversWholeDocument {
		t.Errorf("%s: our signature in the output is %s (%s)", name, ours.Integrity, ours.Reason)
		return "signed-invalid"
	}
	return "signed"
}
