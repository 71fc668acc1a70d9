package pdfcore

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden reports")

// signThree signs data as A (itsme), B (pen) and C (tan) of one plan.
func signThree(t *testing.T, data []byte) []byte {
	pki, id := testPKI()
	plan := &Plan{Signers: []Signer{
		{Label: "A", Name: "Zoë Ångström-Łukasiewicz", Capacity: "Director", Method: MethodItsme, Field: &Field{Page: 1, Rect: Rect{300, 60, 520, 100}}},
		{Label: "B", Name: "Αλέξανδρος Παπαδόπουλος", Capacity: "Witness", Method: MethodPen, Field: &Field{Page: 1, Rect: Rect{60, 60, 280, 100}}},
		{Label: "C", Name: "Анна Ковальчук", Capacity: "Buyer", Method: MethodTAN},
	}}
	out, _ := signWith(t, data, plan, "A", id, Options{Time: signTime})
	out, _ = signWith(t, out, plan, "B", pki.Seal(), Options{Time: signTime.Add(time.Minute), Ink: [][][2]float64{{{0.1, 0.2}, {0.5, 0.9}, {0.9, 0.3}}}})
	out, _ = signWith(t, out, plan, "C", pki.Seal(), Options{Time: signTime.Add(2 * time.Minute), Evidence: "SMS code sent to +32 ••• •• 12"})
	return out
}

// TestVerifyGolden compares the JSON report of a three-signature document with the golden
// file (go test -run TestVerifyGolden -update rewrites it).
func TestVerifyGolden(t *testing.T) {
	pki, _ := testPKI()
	out := signThree(t, readTestdata(t, "pdftex-1.40-objstm-xref-stream.pdf"))
	rep, err := Verify(out, VerifyOptions{Roots: pki.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || len(rep.Signatures) != 3 {
		t.Fatalf("report not valid: %+v", rep)
	}
	for i, want := range []struct{ ref, method, level string }{{"A", "itsme", "B-T"}, {"B", "pen", "B-T"}, {"C", "tan", "B-T"}} {
		s := rep.Signatures[i]
		if s.Reference != want.ref || s.Method != want.method || s.Level != want.level || !s.CertificateTrusted || !s.Timestamp.Valid {
			t.Errorf("signature %d: %s %s %s trusted=%v ts=%v", i, s.Reference, s.Method, s.Level, s.CertificateTrusted, s.Timestamp.Valid)
		}
	}
	if rep.Signatures[0].Signer.SerialNumber == "" || !rep.Signatures[0].Qualified.QCCompliance {
		t.Errorf("signer A lacks the national number or the qualified flag: %+v", rep.Signatures[0])
	}
	got, _ := json.MarshalIndent(rep, "", "  ")
	// The TSA's and signer's certificates are new in each run; their names are not.
	golden := filepath.Join("testdata", "golden", "report-itsme-pen-tan.json")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		t.Fatalf("report differs from %s:\n%s", golden, got)
	}
	var text strings.Builder
	rep.WriteText(&text)
	for _, s := range []string{SummaryValid, "reference A", "not been modified since this signature", "serialNumber " + rep.Signatures[0].Signer.SerialNumber} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report lacks %q:\n%s", s, text.String())
		}
	}
}

// TestVerifyUnsigned: a document without signatures is not "valid".
func TestVerifyUnsigned(t *testing.T) {
	rep, err := Verify(readTestdata(t, "groff-1.22-gropdf.pdf"), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || rep.Summary != SummaryUnsigned || len(rep.Signatures) != 0 {
		t.Fatalf("unsigned document reported %+v", rep)
	}
}

// FuzzVerify mutates a signed document: Verify must answer (error or report) without
// panicking, and never call a mutated document valid unless it is byte-identical where
// signed.
func FuzzVerify(f *testing.F) {
	pki, id := testPKI()
	_ = pki
	base := minimalPDF()
	plan := &Plan{Signers: []Signer{{Label: "A", Name: "Jan", Method: MethodItsme}}}
	signed, _ := signWith(f, base, plan, "A", id, Options{})
	f.Add(signed)
	f.Add(base)
	f.Fuzz(func(t *testing.T, data []byte) {
		before := bytes.Clone(data)
		Verify(data, VerifyOptions{})
		if !bytes.Equal(before, data) {
			t.Fatal("Verify changed its input")
		}
	})
}

// minimalPDF is a one-page PDF small enough for fuzzing.
func minimalPDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Count 1 /Kids [3 0 R] >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n" +
		"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")
}

// TestVerifyForeign verifies files signed by other tools (poppler's pdfsig with NSS, BER
// CMS; openssl-built certification signatures) and the same files after our
// counter-signature: every signature stays intact.
func TestVerifyForeign(t *testing.T) {
	_, id := testPKI()
	for _, c := range []struct {
		file  string
		valid bool // false: the file itself changes a signed revision (pyHanko agrees)
	}{
		{"signed-pdfsig-existing-field.pdf", true},
		{"signed-pdfsig-add-signature-libreoffice.pdf", true},
		{"signed-pdfsig-libreoffice-form-sigfield.pdf", true},
		{"signed-pdfsig-2-signatures.pdf", false},
		{"certified-p2-docmdp-libreoffice-form.pdf", true},
	} {
		t.Run(c.file, func(t *testing.T) {
			in := readTestdata(t, c.file)
			rep, err := Verify(in, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rep.Signatures {
				if s.Integrity != "valid" || !s.CoversRevision {
					t.Fatalf("%s: %s %s", s.Field, s.Integrity, s.Reason)
				}
			}
			if rep.Valid != c.valid {
				t.Fatalf("valid = %v (%s), want %v", rep.Valid, rep.Summary, c.valid)
			}
			plan := &Plan{Signers: []Signer{{Label: "A", Name: "Jan Peeters", Method: MethodItsme, Field: &Field{Page: 1, Rect: Rect{200, 300, 540, 384}}}}}
			if doc := mustOpen(t, in); doc.MDP >= 2 {
				// Certified: a new signature field would break the certification.
				if _, err := Prepare(doc, plan, "A", id.Chain, Options{}); CodeOf(err) != CodeNoChangesAllowed {
					t.Fatalf("a new field on a certified document: %v", err)
				}
				return
			}
			out, _ := signWith(t, in, plan, "A", id, Options{})
			after, err := Verify(out, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(after.Signatures) != len(rep.Signatures)+1 {
				t.Fatalf("%d signatures after counter-signing, want %d", len(after.Signatures), len(rep.Signatures)+1)
			}
			for i, s := range after.Signatures {
				if s.Integrity != "valid" {
					t.Fatalf("after counter-signing, %s: %s", s.Field, s.Reason)
				}
				if i == len(rep.Signatures)-1 || !c.valid {
					continue
				}
				for _, ch := range s.ChangesAfter {
					if !ch.Allowed && ch.Revision == after.Revisions {
						t.Fatalf("our counter-signature is a disallowed change for %s: %+v", s.Field, ch)
					}
				}
			}
			if c.valid && !after.Valid {
				t.Fatalf("after counter-signing: %s %+v", after.Summary, after.Signatures)
			}
		})
	}
}
