package pdfcore

// Regression tests for what the malformed-input suite (malformed_test.go) found in the
// package; each names the generated case that showed the problem.

import (
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

// hostileCases are the generated cases with the signed corpus file as their only source.
var hostileCases = sync.OnceValues(func() ([]malformed.Case, error) {
	signed, err := os.ReadFile("../testdata/pdf/signed-pdfsig-existing-field.pdf")
	return malformed.Cases([]malformed.Source{{Name: "signed-pdfsig-existing-field.pdf", Data: signed}}), err
})

func hostile(t *testing.T, name string) []byte {
	t.Helper()
	cases, err := hostileCases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Name == name {
			return c.Bytes()
		}
	}
	t.Fatalf("the generator has no case %q", name)
	return nil
}

// TestValidRangeOverflow: br[2]+br[3] overflowed int64 and passed the check, and hashAll
// then sliced the file out of range ("byterange/sum-overflows-int64@…" panicked Verify).
func TestValidRangeOverflow(t *testing.T) {
	for _, c := range []struct {
		br   []int64
		want bool
	}{
		{[]int64{0, 10, 20, 80}, true},
		{[]int64{0, 10, 20, 81}, false},
		{[]int64{0, 10, 20, math.MaxInt64 - 7}, false},
		{[]int64{0, 10, math.MaxInt64, 1}, false},
		{[]int64{0, 10, math.MaxInt64, math.MaxInt64}, false},
		{[]int64{0, 10, 20, -1}, false},
	} {
		if got := validRange(c.br, 100); got != c.want {
			t.Errorf("validRange(%v, 100) = %v", c.br, got)
		}
	}
	for _, name := range []string{
		"byterange/sum-overflows-int64@signed-pdfsig-existing-field.pdf",
		"byterange/gap-overflows-int64@signed-pdfsig-existing-field.pdf",
		"signature/byterange-overflow",
	} {
		rep, err := Verify(hostile(t, name), VerifyOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Valid {
			t.Fatalf("%s: reported valid", name)
		}
	}
}

// TestPageNumberFlatTree: mapping page objects to numbers called Page(i) for every page,
// quadratic in a flat tree: Open of 20,000 pages with a field on the last took over 2 s.
func TestPageNumberFlatTree(t *testing.T) {
	start := time.Now()
	doc, err := Open(hostile(t, "page-tree/20000-pages-field-on-last"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open took %v", d)
	}
	if len(doc.Fields) != 1 || doc.Fields[0].Page != 20000 {
		t.Fatalf("fields %+v; want one on page 20000", doc.Fields)
	}
}

// TestFieldNameManyFields: choosing a free field name looked each candidate up among all
// fields, quadratic with thousands named "Signature A", "Signature A (A)", ….
func TestFieldNameManyFields(t *testing.T) {
	doc, err := Open(hostile(t, "form/20000-fields-named-like-ours"))
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(doc, &Plan{}, nil, Options{})
	start := time.Now()
	name := b.fieldName("A")
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("fieldName took %v", d)
	}
	if doc.field(name) != nil {
		t.Fatalf("fieldName chose %q, which is taken", name)
	}
}

// TestChangesAnalysedOnce: with n signatures and m later revisions each revision was
// analysed n times; now once, and every signature still gets its own copy of the list.
func TestChangesAnalysedOnce(t *testing.T) {
	rep, err := Verify(hostile(t, "signature/1000-signatures-1000-revisions"), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 1000 || rep.Valid {
		t.Fatalf("%d signatures, valid %v", len(rep.Signatures), rep.Valid)
	}
	first := rep.Signatures[0].ChangesAfter
	if n := len(first) + rep.Signatures[0].ChangesNotListed; n != 1000 || len(first) != changesListed(1000) {
		t.Fatalf("%d changes after the first signature (%d listed), want one per revision", n, len(first))
	}
	first[0].Detail = "edited"
	for _, s := range rep.Signatures[1:] {
		if len(s.ChangesAfter) != len(first) || s.ChangesAfter[0].Detail == "edited" {
			t.Fatalf("signature %s: %d changes, shared with another signature's list", s.Field, len(s.ChangesAfter))
		}
	}
}

// TestOlderRevisionNegativeOffset: Open checks only the newest entry of each object; the
// change analysis read an older revision's entry at offset -1 and panicked indexing the
// file ("xref-stream/negative-offset-in-older-revision"; fixed in pdfread.objectHeader).
func TestOlderRevisionNegativeOffset(t *testing.T) {
	rep, err := Verify(hostile(t, "xref-stream/negative-offset-in-older-revision"), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) != 1 {
		t.Fatalf("%+v", rep)
	}
}
