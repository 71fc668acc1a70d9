package pdfcore

import (
	"testing"

	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
)

// TestListChanges: a signature lists at most MaxChangesListed changes, in revision order,
// those not allowed kept first, and counts the rest.
func TestListChanges(t *testing.T) {
	changes := func(n int, notAllowed ...int) []Change {
		out := make([]Change, n)
		for i := range out {
			out[i] = Change{Revision: i + 2, Kind: ChangeSignatureFieldAdded, Allowed: true}
		}
		for _, i := range notAllowed {
			out[i].Allowed, out[i].Kind = false, "catalog-changed"
		}
		return out
	}
	if got, more := listChanges(changes(MaxChangesListed), MaxChangesListed); len(got) != MaxChangesListed || more != 0 {
		t.Fatalf("%d changes: %d listed, %d more", MaxChangesListed, len(got), more)
	}
	got, more := listChanges(changes(3*MaxChangesListed, 5, 2*MaxChangesListed+7), MaxChangesListed)
	if len(got) != MaxChangesListed || more != 2*MaxChangesListed {
		t.Fatalf("%d listed, %d more", len(got), more)
	}
	bad := 0
	for i, c := range got {
		if !c.Allowed {
			bad++
		}
		if i > 0 && c.Revision <= got[i-1].Revision {
			t.Fatalf("not in revision order at %d: %d after %d", i, c.Revision, got[i-1].Revision)
		}
	}
	if bad != 2 || got[len(got)-1].Revision != 2*MaxChangesListed+9 {
		t.Fatalf("%d of the 2 changes not allowed listed; the last listed is revision %d", bad, got[len(got)-1].Revision)
	}
	all := make([]int, 2*MaxChangesListed)
	for i := range all {
		all[i] = i
	}
	if got, more := listChanges(changes(len(all), all...), MaxChangesListed); len(got) != MaxChangesListed || more != MaxChangesListed || got[0].Revision != 2 {
		t.Fatalf("all not allowed: %d listed from revision %d, %d more", len(got), got[0].Revision, more)
	}
	for n, want := range map[int]int{0: MaxChangesListed, 1: MaxChangesListed, 100: MaxChangesListed, 400: 50, 1000: 20, 100000: minChangesListed} {
		if got := changesListed(n); got != want {
			t.Errorf("%d signatures list %d changes each, want %d", n, got, want)
		}
	}
}

// TestReportOfManyRevisionsIsBounded: 1,000 signatures over 1,000 revisions (a 400 KB file)
// made a report of a million changes; the report now lists about maxChangesReported and
// counts the others, and the verdict still rests on all of them.
func TestReportOfManyRevisionsIsBounded(t *testing.T) {
	var data []byte
	for _, c := range malformed.Cases(nil) {
		if c.Name == "signature/1000-signatures-1000-revisions" {
			data = c.Bytes()
		}
	}
	if data == nil {
		t.Fatal("the generator has no 1000-signatures-1000-revisions case")
	}
	rep, err := Verify(data, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || len(rep.Signatures) != 1000 {
		t.Fatalf("valid %v, %d signatures", rep.Valid, len(rep.Signatures))
	}
	listed, counted := 0, 0
	for i, s := range rep.Signatures {
		if len(s.ChangesAfter) > changesListed(1000) {
			t.Fatalf("signature %d lists %d changes", i, len(s.ChangesAfter))
		}
		listed += len(s.ChangesAfter)
		counted += len(s.ChangesAfter) + s.ChangesNotListed
	}
	t.Logf("%d changes listed of %d", listed, counted)
	if listed > maxChangesReported || counted < 1000*999/2 {
		t.Fatalf("%d changes listed of %d", listed, counted)
	}
}
