package pdfcore

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// changesAfter lists what every revision after rev changed, judged as Acrobat and pyHanko
// do: signature fields may be added and filled, DSS and document timestamps added; page
// content, pages, other annotations, the catalog and other form fields may not change.
// Only the objects each later revision lists are parsed, with their earlier versions.
func (v *verifier) changesAfter(rev int, s *sigInfo) []Change {
	out := []Change{}
	for k := rev + 1; k < len(v.revs); k++ {
		// Each revision is analysed once for all signatures (a copy, since the DocMDP rule
		// below edits it): recomputing it per signature cost n·m analyses for n signatures
		// and m revisions, 1.8 s for a 400 KB file with 1000 of each (malformed-input suite).
		cs := append([]Change(nil), v.revisionChangesOnce(k)...)
		switch {
		case s.mdp == 1: // certified "no changes": only DSS and timestamps may follow
			for i := range cs {
				if cs[i].Kind != ChangeDSSAdded && cs[i].Kind != ChangeDocumentTimestamp {
					cs[i].Allowed = false
				}
			}
		case s.mdp >= 2: // certified with form filling and signing: of existing fields only
			for i := range cs {
				if cs[i].Kind == ChangeSignatureFieldAdded {
					cs[i].Allowed = false
					cs[i].Detail += " (a certified document allows only the signature fields it already has to be signed)"
				}
			}
		}
		out = append(out, cs...)
	}
	return out
}

// revisionChangesOnce is revisionChanges(k), computed once per verification.
func (v *verifier) revisionChangesOnce(k int) []Change {
	if cs, ok := v.revChanges[k]; ok {
		return cs
	}
	if v.revChanges == nil {
		v.revChanges = map[int][]Change{}
	}
	cs := v.revisionChanges(k)
	v.revChanges[k] = cs
	return cs
}

// revisionChanges classifies the objects revision k defines against their versions before.
func (v *verifier) revisionChanges(k int) []Change {
	var out []Change
	add := func(kind string, allowed bool, format string, args ...any) {
		c := Change{Revision: k + 1, Kind: kind, Allowed: allowed, Detail: fmt.Sprintf(format, args...)}
		for _, o := range out { // one line per distinct change
			if o == c {
				return
			}
		}
		out = append(out, c)
	}
	nums := make([]int, 0, len(v.revs[k].Defined))
	for n := range v.revs[k].Defined {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	catalogNum := v.doc.catalogNum
	infoNum := -1
	if r, ok := v.revs[k].Trailer["Info"].(types.IndirectRef); ok {
		infoNum = r.ObjectNumber.Value()
	}
	dssObjects := v.dssObjects(k - 1)
	effective := 0
	for _, n := range nums {
		e := v.revs[k].Defined[n]
		prev, existed := v.entryAt(n, k-1)
		existed = existed && prev.Kind != pdfread.Free
		if e.Kind == pdfread.Free {
			if existed && n != 0 {
				add(ChangeObjectRedefined, false, "object %d was deleted", n)
			}
			continue
		}
		cur := v.obj(n, e, k)
		if !existed {
			if isDocTimestamp(asDict(cur)) {
				add(ChangeDocumentTimestamp, true, "a document timestamp was added")
			}
			effective++
			continue // a new object matters only through what refers to it
		}
		old := v.obj(n, prev, k-1)
		if equalObjects(old, cur) {
			continue
		}
		effective++
		switch {
		case n == catalogNum:
			v.catalogChanges(asDict(old), asDict(cur), k, add)
		case dssObjects[n]:
			// the DSS (or one of its arrays) updated in place, as pyHanko does
			cat := v.dictAt(ref(catalogNum), k)
			if why := v.dssProblem(cat["DSS"], k); why != "" {
				add(ChangeObjectRedefined, false, "%s", why)
				continue
			}
			add(ChangeDSSAdded, true, "validation data (DSS) was added")
		case n == infoNum:
			add(ChangeMetadata, true, "the document information dictionary was updated")
		default:
			v.objectChange(n, old, cur, k, add)
		}
	}
	if effective == 0 && len(out) == 0 {
		add(ChangeXrefOnly, false, "the revision only rewrites the cross-reference data")
	}
	return out
}

type addFunc func(kind string, allowed bool, format string, args ...any)

// objectChange classifies a redefined object by what it was.
func (v *verifier) objectChange(n int, old, cur types.Object, k int, add addFunc) {
	od, cd := asDict(old), asDict(cur)
	if _, isStream := old.(types.StreamDict); isStream {
		if t, _ := od["Type"].(types.Name); t == "Metadata" {
			add(ChangeMetadata, true, "the XMP metadata stream was updated")
			return
		}
		add(ChangeObjectRedefined, false, "stream object %d (%s) was replaced", n, describe(od))
		return
	}
	if oa, ok := old.(types.Array); ok {
		ca, _ := cur.(types.Array)
		v.arrayChange(n, oa, ca, k, add)
		return
	}
	if od == nil || cd == nil {
		add(ChangeObjectRedefined, false, "object %d was replaced", n)
		return
	}
	typ, _ := od["Type"].(types.Name)
	switch {
	case typ == "Pages":
		oc, _ := od["Count"].(types.Integer)
		cc, _ := cd["Count"].(types.Integer)
		switch {
		case cc > oc:
			add(ChangePageAdded, false, "%d page(s) added", cc-oc)
		case cc < oc:
			add(ChangePageRemoved, false, "%d page(s) removed", oc-cc)
		default:
			add(ChangePageContent, false, "the page tree node %d was changed", n)
		}
	case typ == "Page":
		v.pageChange(n, od, cd, k, add)
	case isSigField(od, v, k-1):
		_, hadV := od["V"]
		_, hasV := cd["V"]
		if !hadV && hasV && onlyKeysChanged(od, cd, "V", "AP", "F", slotKey, "Lock") {
			if isDocTimestamp(v.dictAt(cd["V"], k)) {
				add(ChangeDocumentTimestamp, true, "a document timestamp was added")
				return
			}
			add(ChangeSignatureFieldFilled, true, "signature field %q was signed", textOf(cd["T"]))
			return
		}
		if hadV && onlyKeysChanged(od, cd, "AP") {
			add(ChangeAnnotationChanged, false, "the appearance of signed field %q was replaced", textOf(cd["T"]))
			return
		}
		add(ChangeAcroFormField, false, "signature field %q was changed", textOf(od["T"]))
	case isSigWidget(od, v, k):
		if onlyKeysChanged(od, cd, "AP") {
			add(ChangeSignatureFieldFilled, true, "the widget of a signature field being signed got its appearance")
			return
		}
		add(ChangeAnnotationChanged, false, "a signature widget was changed")
	case od["Fields"] != nil:
		v.acroFormChange(od, cd, k, add)
	case od["FT"] != nil || od["Kids"] != nil && od["T"] != nil:
		add(ChangeAcroFormField, false, "form field %q was changed", textOf(od["T"]))
	case typ == "Annot" || od["Subtype"] != nil && od["Rect"] != nil:
		add(ChangeAnnotationChanged, false, "a %s annotation was changed", describe(od))
	default:
		add(ChangeObjectRedefined, false, "object %d (%s) was redefined", n, describe(od))
	}
}

func describe(d types.Dict) string {
	var parts []string
	for _, k := range []string{"Type", "Subtype", "FT"} {
		if n, ok := d[k].(types.Name); ok {
			parts = append(parts, string(n))
		}
	}
	if len(parts) == 0 {
		return "dictionary"
	}
	return strings.Join(parts, " ")
}

// pageChange allows a page to change only by gaining signature widgets in /Annots.
func (v *verifier) pageChange(n int, od, cd types.Dict, k int, add addFunc) {
	for _, key := range unionKeys(od, cd) {
		if equalObjects(od[key], cd[key]) {
			continue
		}
		switch key {
		case "Annots":
			oa, _ := v.resolveAt(od[key], k-1).(types.Array)
			ca, _ := v.resolveAt(cd[key], k).(types.Array)
			v.annotsChange(oa, ca, k, add)
		case "Contents", "Resources":
			add(ChangePageContent, false, "the %s of a page (object %d) changed", strings.ToLower(key), n)
		default:
			add(ChangePageContent, false, "the page entry /%s (object %d) changed", key, n)
		}
	}
}

// arrayChange judges a redefined array by its new members: an /Annots or /Fields array may
// only gain signature fields; a /Kids array gaining pages adds pages.
func (v *verifier) arrayChange(n int, oa, ca types.Array, k int, add addFunc) {
	kept, added := diffRefs(oa, ca)
	if !kept {
		add(ChangeObjectRedefined, false, "array object %d lost or reordered members", n)
		return
	}
	for _, r := range added {
		d := v.dictAt(r, k)
		if t, _ := d["Type"].(types.Name); t == "Page" || t == "Pages" {
			add(ChangePageAdded, false, "a page was added")
			continue
		}
		if isSigField(d, v, k) || isSigWidget(d, v, k) {
			if isDocTimestamp(v.dictAt(d["V"], k)) {
				// its own kind, so that it stays allowed where only DSS and time-stamps may
				// follow (DocMDP P=1)
				add(ChangeDocumentTimestamp, true, "a document timestamp was added")
				continue
			}
			add(ChangeSignatureFieldAdded, true, "signature field %q was added", fieldName(d, v, k))
			continue
		}
		if d["Subtype"] != nil {
			add(ChangeAnnotationAdded, false, "a %s annotation was added", describe(d))
			continue
		}
		add(ChangeObjectRedefined, false, "array object %d gained object %v", n, r)
	}
}

func (v *verifier) annotsChange(oa, ca types.Array, k int, add addFunc) {
	v.arrayChange(-1, oa, ca, k, add)
}

// acroFormChange allows the form to gain signature fields and set /SigFlags.
func (v *verifier) acroFormChange(od, cd types.Dict, k int, add addFunc) {
	for _, key := range unionKeys(od, cd) {
		if equalObjects(od[key], cd[key]) {
			continue
		}
		switch key {
		case "Fields":
			oa, _ := v.resolveAt(od[key], k-1).(types.Array)
			ca, _ := v.resolveAt(cd[key], k).(types.Array)
			v.arrayChange(-1, oa, ca, k, add)
		case "SigFlags", "DR":
			// marking the document as signed, and resources for new appearances
		default:
			add(ChangeAcroFormField, false, "the form entry /%s changed", key)
		}
	}
}

// catalogChanges allows a catalog to change only by gaining a DSS or form changes that add
// signature fields.
func (v *verifier) catalogChanges(od, cd types.Dict, k int, add addFunc) {
	for _, key := range unionKeys(od, cd) {
		if equalObjects(od[key], cd[key]) {
			continue
		}
		switch key {
		case "DSS":
			if why := v.dssProblem(cd[key], k); why != "" {
				add(ChangeCatalog, false, "%s", why)
				continue
			}
			add(ChangeDSSAdded, true, "validation data (DSS) was added")
		case "AcroForm":
			of, _ := v.resolveAt(od[key], k-1).(types.Dict)
			cf, _ := v.resolveAt(cd[key], k).(types.Dict)
			if of == nil {
				of = types.Dict{}
			}
			if cf == nil {
				add(ChangeCatalog, false, "the form was removed")
				continue
			}
			v.acroFormChange(of, cf, k, add)
		case "Metadata":
			add(ChangeMetadata, true, "the document's metadata stream was replaced")
		default:
			add(ChangeCatalog, false, "the catalog entry /%s changed", key)
		}
	}
}

// entryAt finds object num as of revision k (searching back), false if undefined.
func (v *verifier) entryAt(num, k int) (pdfread.Entry, bool) {
	for j := k; j >= 0; j-- {
		if e, ok := v.revs[j].Defined[num]; ok {
			return e, true
		}
	}
	return pdfread.Entry{}, false
}

// obj parses the version e of object n (as of revision k), cached by location.
func (v *verifier) obj(n int, e pdfread.Entry, k int) types.Object {
	key := [2]int64{int64(n), e.Offset<<20 ^ int64(e.Stream)<<8 ^ int64(e.Index)}
	if o, ok := v.cache[key]; ok {
		return o
	}
	o, err := v.f.ObjectAt(n, e, func(s int) (pdfread.Entry, bool) { return v.entryAt(s, k) })
	if err != nil {
		o = nil
	}
	v.cache[key] = o
	return o
}

// resolveAt follows references as of revision k.
func (v *verifier) resolveAt(o types.Object, k int) types.Object {
	for i := 0; i < 16; i++ {
		r, ok := o.(types.IndirectRef)
		if !ok {
			return o
		}
		e, ok := v.entryAt(r.ObjectNumber.Value(), k)
		if !ok || e.Kind == pdfread.Free {
			return nil
		}
		o = v.obj(r.ObjectNumber.Value(), e, k)
	}
	return nil
}

func (v *verifier) dictAt(o types.Object, k int) types.Dict {
	return asDict(v.resolveAt(o, k))
}

func asDict(o types.Object) types.Dict {
	switch d := o.(type) {
	case types.Dict:
		return d
	case types.StreamDict:
		return d.Dict
	}
	return nil
}

// isSigField: a field whose type (own or inherited) is /Sig.
func isSigField(d types.Dict, v *verifier, k int) bool {
	for i := 0; d != nil && i < 16; i++ {
		if ft, ok := d["FT"].(types.Name); ok {
			return ft == "Sig"
		}
		d = v.dictAt(d["Parent"], k)
	}
	return false
}

// isSigWidget: a widget annotation of a signature field.
func isSigWidget(d types.Dict, v *verifier, k int) bool {
	if st, _ := d["Subtype"].(types.Name); st != "Widget" {
		return false
	}
	return isSigField(d, v, k)
}

func fieldName(d types.Dict, v *verifier, k int) string {
	if t := textOf(d["T"]); t != "" {
		return t
	}
	return textOf(v.dictAt(d["Parent"], k)["T"])
}

// diffRefs reports whether cur keeps old's members in order as its prefix, and what it
// appends.
func diffRefs(old, cur types.Array) (kept bool, added []types.Object) {
	if len(cur) < len(old) {
		return false, nil
	}
	for i := range old {
		if !equalObjects(old[i], cur[i]) {
			return false, nil
		}
	}
	return true, cur[len(old):]
}

func unionKeys(a, b types.Dict) []string {
	seen := map[string]bool{}
	var keys []string
	for _, d := range []types.Dict{a, b} {
		for k := range d {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func onlyKeysChanged(a, b types.Dict, allowed ...string) bool {
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for _, k := range unionKeys(a, b) {
		if !ok[k] && !equalObjects(a[k], b[k]) {
			return false
		}
	}
	return true
}

// equalObjects compares two parsed objects; streams by dictionary and raw bytes.
func equalObjects(a, b types.Object) bool {
	sa, aok := a.(types.StreamDict)
	sb, bok := b.(types.StreamDict)
	if aok || bok {
		return aok && bok && reflect.DeepEqual(sa.Dict, sb.Dict) && bytes.Equal(sa.Raw, sb.Raw)
	}
	return reflect.DeepEqual(a, b)
}
