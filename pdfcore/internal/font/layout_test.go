package font

import (
	"reflect"
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	f := Regular()
	w := func(s string) float64 { return f.Width(s, 10) }
	for _, tc := range []struct {
		name  string
		text  string
		width float64
		want  []string
	}{
		{"fits", "Anna Kovalchuk", 200, []string{"Anna Kovalchuk"}},
		{"spaces", "Managing director on behalf of", w("Managing director"), []string{"Managing director", "on behalf of"}},
		{"hyphen", "Zoë Ångström-Łukasiewicz", w("Zoë Ångström-"), []string{"Zoë Ångström-", "Łukasiewicz"}},
		{"comma", "CN=Anna,SERIALNUMBER=900215,C=BE", w("SERIALNUMBER=900215,"), []string{"CN=Anna,", "SERIALNUMBER=900215,", "C=BE"}},
		{"newline", "A\n\nB", 100, []string{"A", "", "B"}},
		{"collapse", "  A  \r\n B ", 100, []string{"A", "B"}},
		{"long word", "Αλέξανδρος", w("Αλέξ"), []string{"Αλέξ", "ανδ", "ρος"}},
		{"narrow", "Ёлка", 1, []string{"Ё", "л", "к", "а"}},
		{"nfc", "Zoe\u0308", 100, []string{"Zoë"}},
		{"empty", "", 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f.Wrap(tc.text, 10, tc.width)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Wrap(%q, %.1f) = %q, want %q", tc.text, tc.width, got, tc.want)
			}
			for _, l := range got {
				if len([]rune(l)) > 1 && w(l) > tc.width {
					t.Errorf("line %q is %.2f wide, more than %.2f", l, w(l), tc.width)
				}
			}
		})
	}
}

func TestFit(t *testing.T) {
	f := Regular()
	name := "Αλέξανδρος Παπαδόπουλος"
	full := f.Width(name, 12)

	if s, size := f.Fit(name, 12, 8, full+1); s != name || size != 12 {
		t.Errorf("fitting text changed: %q at %v", s, size)
	}
	s, size := f.Fit(name, 12, 8, full*0.8)
	if s != name || size >= 12 || size < 8 || f.Width(s, size) > full*0.8 {
		t.Errorf("shrink: %q at %v (width %v of %v)", s, size, f.Width(s, size), full*0.8)
	}
	s, size = f.Fit(name+"\nline two", 12, 8, full*0.3)
	if size != 8 || !strings.HasSuffix(s, "…") || !strings.HasPrefix(name, strings.TrimSuffix(s, "…")) || f.Width(s, 8) > full*0.3 {
		t.Errorf("ellipsize: %q at %v, width %v of %v", s, size, f.Width(s, 8), full*0.3)
	}
	if s, _ := f.Fit(name, 12, 8, 1); s != "" {
		t.Errorf("nothing fits, got %q", s)
	}
}

func TestFitLines(t *testing.T) {
	f := Regular()
	subject := "CN=Zoë Ångström-Łukasiewicz, SERIALNUMBER=90021512345, G=Zoë, SN=Ångström-Łukasiewicz, C=BE"
	width := f.Width("SERIALNUMBER=90021512345,", 9)

	lines, size := f.FitLines(subject, 9, 6, width, 6)
	if size != 9 || strings.Join(lines, " ") == "" {
		t.Errorf("fits at full size: %q at %v", lines, size)
	}
	lines, size = f.FitLines(subject, 9, 6, width, 3)
	if len(lines) > 3 || size >= 9 {
		t.Errorf("shrunk: %q at %v", lines, size)
	}
	lines, size = f.FitLines(subject, 9, 8.5, width, 2)
	if len(lines) != 2 || size != 8.5 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("cut: %q at %v", lines, size)
	}
	for _, l := range lines {
		if f.Width(l, size) > width {
			t.Errorf("line %q too wide", l)
		}
	}
}
