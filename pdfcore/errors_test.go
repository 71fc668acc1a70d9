package pdfcore_test

// TestErrors checks that every refusal of Open, Prepare and Embed carries its stable code,
// matches its sentinel with errors.Is, and leaves the caller's bytes as they were. Inputs
// come from testdata/pdf/fail-*.pdf; when a kind of broken file is not there (yet), the test
// builds one from a good document so that it does not depend on the corpus.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
)

// wantError checks err's code, its sentinel and its message.
func wantError(t *testing.T, what string, err error, sentinel *pdfcore.Error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, sentinel.Code)
		return
	}
	if got := pdfcore.CodeOf(err); got != sentinel.Code {
		t.Errorf("%s: code %q, want %q (%v)", what, got, sentinel.Code, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: errors.Is(err, Err…) is false for %v", what, err)
	}
	var pe *pdfcore.Error
	if !errors.As(err, &pe) || strings.TrimSpace(pe.Msg) == "" {
		t.Errorf("%s: %v has no message a person can act on", what, err)
	}
}

// failInputs returns the testdata files matching pattern and the documents build makes
// (required tells build whether the corpus had none, so that it must not skip).
func failInputs(t *testing.T, pattern string, build func(t *testing.T, required bool) map[string][]byte) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "pdf", pattern))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	for name, data := range build(t, len(out) == 0) {
		out["built-"+name] = data
	}
	return out
}

func TestErrorsOpen(t *testing.T) {
	good := miniPDF(2, "")
	cases := []struct {
		pattern  string
		sentinel *pdfcore.Error
		build    func(t *testing.T, required bool) map[string][]byte
	}{
		{"fail-encrypted*.pdf", pdfcore.ErrEncrypted, func(t *testing.T, required bool) map[string][]byte {
			qpdf, err := exec.LookPath("qpdf")
			if err != nil && !required {
				return nil // the corpus has encrypted files; qpdf only adds one more
			}
			if err != nil {
				qpdf = testtool.Require(t, "qpdf")
			}
			dir := t.TempDir()
			in := writeTemp(t, dir, "in.pdf", good)
			out := filepath.Join(dir, "out.pdf")
			if r := run(t, qpdf, "--encrypt", "u", "o", "256", "--", in, out); r.Code != 0 {
				t.Fatalf("qpdf --encrypt: exit %d: %s", r.Code, r.Stderr)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			return map[string][]byte{"aes256": data}
		}},
		{"fail-damaged-xref*.pdf", pdfcore.ErrDamagedXref, func(t *testing.T, _ bool) map[string][]byte {
			i := bytes.LastIndex(good, []byte("startxref\n"))
			var xref int
			fmt.Sscanf(string(good[i+len("startxref\n"):]), "%d", &xref)
			shifted := append(bytes.Clone(good[:i]), fmt.Sprintf("startxref\n%d\n%%%%EOF\n", xref+3)...)
			offsets := bytes.Replace(good, []byte(fmt.Sprintf("%010d 00000 n", bytes.Index(good, []byte("2 0 obj")))),
				[]byte(fmt.Sprintf("%010d 00000 n", bytes.Index(good, []byte("2 0 obj"))+5)), 1)
			return map[string][]byte{"startxref-off-by-3": shifted, "object-offset-shifted": offsets}
		}},
		{"fail-not-pdf*", pdfcore.ErrNotPDF, func(t *testing.T, _ bool) map[string][]byte {
			return map[string][]byte{"png": []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}
		}},
	}
	for _, c := range cases {
		for name, data := range failInputs(t, c.pattern, c.build) {
			t.Run(name, func(t *testing.T) {
				keep := bytes.Clone(data)
				_, err := pdfcore.Open(data)
				wantError(t, name, err, c.sentinel)
				if !bytes.Equal(data, keep) {
					t.Errorf("%s: Open changed the input", name)
				}
			})
		}
	}
	for _, empty := range [][]byte{{}, nil, []byte("%PDF-")} {
		_, err := pdfcore.Open(empty)
		if len(empty) < 5 {
			wantError(t, fmt.Sprintf("Open(%q)", empty), err, pdfcore.ErrNotPDF)
		} else if pdfcore.CodeOf(err) == "" {
			t.Errorf("Open(%q): %v, want a pdfcore error", empty, err)
		}
	}
}

// TestErrorsOtherFailFiles: every fail-* file the cases above do not name must still be
// refused by Open or Prepare with a pdfcore code, and stay unchanged.
func TestErrorsOtherFailFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "pdf", "fail-*"))
	fx := sharedPKI(t)
	for _, p := range paths {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "fail-encrypted") || strings.HasPrefix(base, "fail-damaged-xref") || strings.HasPrefix(base, "fail-not-pdf") {
			continue
		}
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			keep := bytes.Clone(data)
			doc, err := pdfcore.Open(data)
			if err == nil {
				_, err = pdfcore.Prepare(doc, plan1(), "A", fx.itsme.Chain, pdfcore.Options{Time: time.Now()})
			}
			if pdfcore.CodeOf(err) == "" {
				t.Errorf("%s: Open+Prepare: %v, want a refusal with a pdfcore code", base, err)
			} else {
				t.Logf("%s: %s", base, pdfcore.CodeOf(err))
			}
			if !bytes.Equal(data, keep) {
				t.Errorf("%s: the input changed", base)
			}
		})
	}
}

// plan1 is a one-signer itsme plan with a field on page 1 of an A4 page.
func plan1() *pdfcore.Plan {
	return &pdfcore.Plan{Signers: []pdfcore.Signer{{Label: "A", Name: nameA, Method: pdfcore.MethodItsme,
		Field: &pdfcore.Field{Page: 1, Rect: pdfcore.Rect{LLX: 40, LLY: 40, URX: 220, URY: 80}}}}}
}

func TestErrorsCertifiedNoChanges(t *testing.T) {
	fx := sharedPKI(t)
	files := failInputs(t, "fail-certified-p1.pdf", func(t *testing.T, _ bool) map[string][]byte {
		// A DocMDP certification with /P 1 as Open reads it: /Perms /DocMDP names a
		// signature dictionary whose reference carries the transform parameters.
		sig := "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /Reference [<< /Type /SigRef " +
			"/TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>] >>"
		return map[string][]byte{"docmdp-p1": miniPDF(1, "/Perms << /DocMDP 5 0 R >>", sig)}
	})
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			keep := bytes.Clone(data)
			doc, err := pdfcore.Open(data)
			if err != nil {
				t.Fatalf("%s: Open: %v", name, err)
			}
			if doc.MDP != 1 {
				t.Errorf("%s: MDP = %d, want 1", name, doc.MDP)
			}
			_, err = pdfcore.Prepare(doc, plan1(), "A", fx.itsme.Chain, pdfcore.Options{Time: time.Now()})
			wantError(t, name+": Prepare", err, pdfcore.ErrNoChangesAllowed)
			_, err = pdfcore.Preflight(doc, plan1(), "A")
			wantError(t, name+": Preflight", err, pdfcore.ErrNoChangesAllowed)
			if !bytes.Equal(data, keep) {
				t.Errorf("%s: the input changed", name)
			}
		})
	}
}

func TestErrorsEmbed(t *testing.T) {
	fx := sharedPKI(t)
	good := miniPDF(2, "")
	keep := bytes.Clone(good)
	now := time.Now()

	prepare := func(t *testing.T, opts pdfcore.Options) *pdfcore.Prepared {
		t.Helper()
		doc, err := pdfcore.Open(good)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pdfcore.Prepare(doc, plan1(), "A", fx.itsme.Chain, opts)
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		return p
	}
	// embed runs Embed and EmbedUpdate and checks neither changes the prepared update or
	// the CMS.
	embed := func(t *testing.T, p *pdfcore.Prepared, der []byte) error {
		t.Helper()
		update, derKeep := bytes.Clone(p.Update), bytes.Clone(der)
		out, err := pdfcore.Embed(p, der)
		if out != nil {
			t.Errorf("Embed returned %d bytes with its error", len(out))
		}
		if _, err2 := pdfcore.EmbedUpdate(p, der); pdfcore.CodeOf(err2) != pdfcore.CodeOf(err) {
			t.Errorf("EmbedUpdate: %v; Embed: %v", err2, err)
		}
		if !bytes.Equal(p.Update, update) || !bytes.Equal(der, derKeep) {
			t.Error("a failed Embed changed the prepared update or the CMS")
		}
		return err
	}

	t.Run("contents-too-small", func(t *testing.T) {
		p := prepare(t, pdfcore.Options{Time: now, Reserve: 2048})
		if p.Reserved() != 2048 {
			t.Errorf("Reserved() = %d, want 2048", p.Reserved())
		}
		der, err := cms.Sign(p.Digest, crypto.SHA256, fx.itsme.Chain, fx.itsme.Key)
		if err != nil {
			t.Fatal(err)
		}
		imp, _ := cms.TimestampImprint(der, crypto.SHA256)
		tok, err := fx.pki.Timestamp(imp, crypto.SHA256, now)
		if err != nil {
			t.Fatal(err)
		}
		if der, err = cms.AddTimestamp(der, tok); err != nil {
			t.Fatal(err)
		}
		if len(der) <= 2048 {
			t.Fatalf("the CMS is only %d bytes; the test needs more than the 2048 reserved", len(der))
		}
		wantError(t, "Embed", embed(t, p, der), pdfcore.ErrContentsTooSmall)
		wantError(t, "Check", pdfcore.Check(p, der), pdfcore.ErrContentsTooSmall)
	})

	t.Run("digest-mismatch", func(t *testing.T) {
		p := prepare(t, pdfcore.Options{Time: now})
		other := sha256.Sum256([]byte("another document"))
		der, err := cms.Sign(other[:], crypto.SHA256, fx.itsme.Chain, fx.itsme.Key)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, "Embed", embed(t, p, der), pdfcore.ErrDigestMismatch)
	})

	t.Run("already-signed", func(t *testing.T) {
		res, err := signStep(t, fx, good, plan1(), "A", fx.itsme, pdfcore.Options{Time: now})
		if err != nil {
			t.Fatalf("first signature: %v", err)
		}
		signed := res.Out
		signedKeep := bytes.Clone(signed)
		doc, err := pdfcore.Open(signed)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pdfcore.Prepare(doc, plan1(), "A", fx.itsme.Chain, pdfcore.Options{Time: now})
		wantError(t, "Prepare A again", err, pdfcore.ErrAlreadySigned)
		if !bytes.Equal(signed, signedKeep) {
			t.Error("the signed input changed")
		}
	})

	t.Run("bad-plan", func(t *testing.T) {
		doc, err := pdfcore.Open(good)
		if err != nil {
			t.Fatal(err)
		}
		unknown := plan1()
		unknown.Signers[0].Method = "fax"
		noPage := plan1()
		noPage.Signers[0].Field.Page = doc.Pages + 1
		pageZero := plan1()
		pageZero.Signers[0].Field.Page = 0
		for name, plan := range map[string]*pdfcore.Plan{"unknown method": unknown, "page past the end": noPage, "page 0": pageZero} {
			_, err := pdfcore.Prepare(doc, plan, "A", fx.itsme.Chain, pdfcore.Options{Time: now})
			wantError(t, "Prepare, "+name, err, pdfcore.ErrBadPlan)
		}
	})

	if !bytes.Equal(good, keep) {
		t.Error("the input document changed")
	}
}
