package pdfread

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

func TestObjectText(t *testing.T) {
	ref := func(n, g int) types.Object { return *types.NewIndirectRef(n, g) }
	cases := []struct {
		in, rest string
		want     types.Object
	}{
		{"  % comment\n 42 ", " ", types.Integer(42)},
		{"-17]", "]", types.Integer(-17)},
		{"+5 0 R", " 0 R", types.Integer(5)}, // a signed number is never an object number
		{"-.5 ", " ", types.Float(-0.5)},
		{"4. ", " ", types.Float(4)},
		{"99999999999999999999 ", " ", types.Float(1e20)},
		{"12 0 R/Next", "/Next", ref(12, 0)},
		{"12\r\n3 R>>", ">>", ref(12, 3)},
		{"12 0 obj", " 0 obj", types.Integer(12)},
		{"0 0 R", " 0 R", types.Integer(0)}, // object 0 is the free list's head
		{"1 123456 R", " 123456 R", types.Integer(1)},
		{"12 0 Rx", " 0 Rx", types.Integer(12)},
		{"/A#20B#2fC ", " ", types.Name("A B/C")},
		{"/ ", " ", types.Name("")},
		{"/Type/Page", "/Page", types.Name("Type")},
		{"(a (b) \\) c\\\\)x", "x", types.StringLiteral("a (b) \\) c\\\\")},
		{"()", "", types.StringLiteral("")},
		{"<4 1\n6a7>", "", types.HexLiteral("416A70")},
		{"<>", "", types.HexLiteral("")},
		{"true]", "]", types.Boolean(true)},
		{"false ", " ", types.Boolean(false)},
		{"null ", " ", nil},
		{"[1 0 R 2 [/X] (s) <ab>]", "", types.Array{ref(1, 0), types.Integer(2), types.Array{types.Name("X")}, types.StringLiteral("s"), types.HexLiteral("AB")}},
		{"[null 1]", "", types.Array{nil, types.Integer(1)}},
		{"<</A null/B 1/B 2/C<</D[]>>>>endobj", "endobj", types.Dict{"B": types.Integer(2), "C": types.Dict{"D": types.Array{}}}},
	}
	for _, c := range cases {
		got, rest, err := parseObjectText(c.in, true, maxParseDepth)
		if err != nil || !reflect.DeepEqual(got, c.want) || rest != c.rest {
			t.Errorf("%q: got %#v rest %q err %v; want %#v rest %q", c.in, got, rest, err, c.want, c.rest)
		}
	}

	// Text that may go on in the file: whatever reaches its end is not trusted.
	for _, in := range []string{"", "  ", "12", "12 ", "12 0", "12 0 ", "12 0 R", "-3.", "/Nam", "tru", "true", "(abc", "(a\\)", "<41", "<", "<<", "<</A 1", "<</A 1>", "[1 2", "% only a comment"} {
		if _, _, err := parseObjectText(in, false, maxParseDepth); !errors.Is(err, errObjectTruncated) {
			t.Errorf("%q in a window: err %v, want errObjectTruncated", in, err)
		}
	}
	// Complete text with those endings: a value where there is one, a syntax error otherwise.
	for in, want := range map[string]types.Object{"12": types.Integer(12), "12 0": types.Integer(12), "12 0 R": ref(12, 0), "/Nam": types.Name("Nam"), "true": types.Boolean(true)} {
		if got, _, err := parseObjectText(in, true, maxParseDepth); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q as the whole text: %#v, %v; want %#v", in, got, err, want)
		}
	}

	for _, in := range []string{"<</A 1/B>>", "<<1 2>>", "<</A 1>x", "<4G>", "/A#4", "/A#00", "1.2.3 ", "1e5 ", "-- ", ". ", "obj ", "endobj ", "R ", ") ", "] ", "{ ", "[1 R]", "1" + strings.Repeat("0", 400) + " "} {
		if o, _, err := parseObjectText(in, true, maxParseDepth); err == nil || errors.Is(err, errObjectTruncated) {
			t.Errorf("%q: got %#v, %v; want a syntax error", in, o, err)
		}
	}

	deep := strings.Repeat("[", maxParseDepth) + strings.Repeat("]", maxParseDepth)
	if _, _, err := parseObjectText(deep, true, maxParseDepth); err != nil {
		t.Errorf("%d nested arrays: %v", maxParseDepth, err)
	}
	deeper := strings.Repeat("<</A ", maxParseDepth+1) + strings.Repeat(">>", maxParseDepth+1)
	if _, _, err := parseObjectText(deeper, true, maxParseDepth); !errors.Is(err, ErrLimit) {
		t.Errorf("%d nested dictionaries: %v, want ErrLimit", maxParseDepth+1, err)
	}
}

// TestObjectTextAgreesWithPdfcpu parses every object of the test PDFs with object.go's parser
// and with pdfcpu's model.ParseObjectContext, which the reader used before: the values must
// be the same, so that the rest of pdfcore and pdfcpu's methods see what they saw.
func TestObjectTextAgreesWithPdfcpu(t *testing.T) {
	paths, _ := filepath.Glob("../../../testdata/pdf/*.pdf")
	compared, files := 0, 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Open(data)
		if err != nil {
			continue // the fail-* files
		}
		files++
		name := filepath.Base(path)
		for num, e := range f.index {
			var text string
			final := true
			switch e.Kind {
			case InFile:
				_, _, body, ok := f.buf.objectHeader(e.Offset)
				if !ok {
					t.Errorf("%s: object %d has no header", name, num)
					continue
				}
				end := min(int64(len(data)), body+1<<20)
				text, final = string(data[body:end]), end == int64(len(data))
			case Compressed:
				os, err := f.objStream(e.Stream)
				if err != nil || e.Index >= len(os.offsets) {
					t.Errorf("%s: object stream %d: %v", name, e.Stream, err)
					continue
				}
				start, end := os.first+os.offsets[e.Index], len(os.data)
				if e.Index+1 < len(os.offsets) {
					end = os.first + os.offsets[e.Index+1]
				}
				text = string(os.data[start:end])
			default:
				continue
			}
			ours, _, errOurs := parseObjectText(text, final, maxParseDepth)
			rest := text
			theirs, errTheirs := model.ParseObjectContext(context.Background(), &rest, 0, maxParseDepth)
			if errOurs != nil || errTheirs != nil {
				t.Errorf("%s object %d: ours %v, pdfcpu's %v", name, num, errOurs, errTheirs)
				continue
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Errorf("%s object %d:\nours    %#v\npdfcpu's %#v", name, num, ours, theirs)
			}
			compared++
		}
	}
	// Far from all: the test must not pass by finding nothing to compare.
	if files < 30 || compared < 3000 {
		t.Fatalf("compared %d objects of %d files; the test PDFs are missing", compared, files)
	}
	t.Logf("%d objects of %d files parse to the same values", compared, files)
}

// FuzzObjectText checks the parser's promises on any text: no panic; a value it returns
// written back by pdfcpu (PDFString) parses to the same value; and a value it trusts in a
// window (the file going on after it) is the value and the length the whole text gives.
func FuzzObjectText(f *testing.F) {
	for _, s := range []string{"<</Type/Page/Kids[1 0 R 2 0 R]/MediaBox[0 0 612.5 792]>>", "(a\\)(b)) 1", "<41 4>", "/A#20B", "[true false null -.5 +3]", "12 0 R", "<<>>stream\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		whole, rest, errWhole := parseObjectText(s, true, maxParseDepth)
		if errWhole != nil {
			if rest != s {
				t.Fatalf("an error moved the text on")
			}
		} else {
			if len(rest) >= len(s) || s[len(s)-len(rest):] != rest {
				t.Fatalf("%q: rest %q is not a proper suffix", s, rest)
			}
			if whole != nil {
				back, _, err := parseObjectText(whole.PDFString(), true, maxParseDepth)
				if err != nil || !sameObject(back, whole) {
					t.Fatalf("%q: written as %q and read back as %#v (%v), not %#v", s, whole.PDFString(), back, err, whole)
				}
			}
		}
		for k := 0; k <= len(s); k += 1 + len(s)/32 {
			part, partRest, err := parseObjectText(s[:k], false, maxParseDepth)
			if err != nil {
				continue
			}
			if errWhole != nil || !sameObject(part, whole) || k-len(partRest) != len(s)-len(rest) {
				t.Fatalf("%q: the first %d bytes gave %#v (%d bytes), the whole text %#v (%d bytes)", s, k, part, k-len(partRest), whole, len(s)-len(rest))
			}
		}
	})
}

// sameObject is reflect.DeepEqual with reals compared to the 12 decimals pdfcpu writes.
func sameObject(a, b types.Object) bool {
	switch x := a.(type) {
	case types.Float:
		y, ok := b.(types.Float)
		return ok && math.Abs(float64(x)-float64(y)) <= 1e-11*math.Max(1, math.Abs(float64(x)))
	case types.Array:
		y, ok := b.(types.Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameObject(x[i], y[i]) {
				return false
			}
		}
		return true
	case types.Dict:
		y, ok := b.(types.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, found := y[k]
			if !found || !sameObject(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
