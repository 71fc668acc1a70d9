package csc

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLatin9(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Contract 2026-114", "Contract 2026-114"},
		{"Façade à Liège, 5 €", "Façade à Liège, 5 €"}, // all in ISO 8859-15
		{"Œuvre – Škoda", "Œuvre - Škoda"},
		{"Łódź, Kraków", "Lódz, Kraków"},
		{"Erdős Pál", "Erdos Pál"},
		{"Dvořák ﬁnal", "Dvorák final"},
		{"e\u0301te\u0301", "été"}, // decomposed input is composed first
		{"Σύμβαση", "Symvasi"},
		{"Договор №5", "Dogovor No5"},
		{"Підʼїзд", "Pid'izd"}, // Ukrainian apostrophe (a modifier letter) and ї
		{"line\nbreak\t tab", "line break tab"},
		{"“quoted” … ‘x’", `"quoted" ... 'x'`},
		{"Объект", "Obekt"},
	}
	for _, c := range cases {
		got, err := Latin9(c.in, MaxDescription)
		if c.want == "" {
			var te *TextError
			if !errors.As(err, &te) {
				t.Errorf("%q: %q, %v; want a TextError", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Latin9(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		for _, r := range got {
			if !InLatin9(r) {
				t.Errorf("Latin9(%q) kept %q", c.in, r)
			}
		}
	}
	for _, bad := range []string{"合同", "عقد", "ok 🙂", "\u0007bell"} {
		_, err := Latin9(bad, MaxDescription)
		var te *TextError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "ISO 8859-15") {
			t.Errorf("Latin9(%q) = %v, want a TextError", bad, err)
		}
	}
	long, err := Latin9(strings.Repeat("Щ", 100), MaxDescription) // 400 letters once romanised
	if err != nil || utf8.RuneCountInString(long) != MaxDescription || !strings.HasSuffix(long, "...") {
		t.Errorf("long label: %d characters, %v", utf8.RuneCountInString(long), err)
	}
}

func TestInLatin9(t *testing.T) {
	for _, r := range "€ŠšŽžŒœŸ aZ~ÿ" {
		if !InLatin9(r) {
			t.Errorf("%q should be in ISO 8859-15", r)
		}
	}
	for _, r := range "¤¦¨´¸¼½¾\u0080\u009f\u007f\t–Ł" {
		if InLatin9(r) {
			t.Errorf("%q should not be in ISO 8859-15", r)
		}
	}
}
