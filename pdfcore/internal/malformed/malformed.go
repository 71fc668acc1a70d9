// Package malformed generates hostile and broken PDF documents for tests: truncated files,
// lying cross-reference data, /Prev and object-stream cycles, enormous lengths and counts,
// deep nesting, decompression bombs, absurd signature byte ranges and files that are not PDF
// at all. Every case is made by code from a few valid synthetic documents and from real
// files the caller passes in, deterministically: the same sources give the same bytes, so a
// failure names a case that can be rebuilt. The package does no I/O.
package malformed

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Expect is what a correct reader must do with a case, beyond never panicking, hanging,
// exhausting memory or changing its input.
type Expect int

const (
	// Any: a typed error or a correct result; the file is odd but not necessarily unusable.
	Any Expect = iota
	// Refuse: opening must fail with a typed error.
	Refuse
	// NotValid: opening may succeed, but no verification may call the document valid.
	NotValid
	// Accept: a valid control; opening and preparing a signature must succeed.
	Accept
)

func (e Expect) String() string {
	return [...]string{"any", "refuse", "not-valid", "accept"}[e]
}

// Case is one generated input.
type Case struct {
	// Name is unique and stable: family/variant[@source].
	Name string
	// Family groups cases that break the same thing.
	Family string
	Expect Expect
	// Big marks cases of many megabytes, which a quick run may leave out.
	Big  bool
	make func() []byte
}

// Bytes builds the case. It is called per use so that large cases are not all held at once.
func (c Case) Bytes() []byte { return c.make() }

// Source is a valid PDF the generator derives cases from.
type Source struct {
	Name string
	Data []byte
}

// Cases returns every case: the synthetic ones and, for each source (in name order), the
// ones derived from it.
func Cases(sources []Source) []Case {
	g := &gen{}
	g.synthetic()
	srcs := append([]Source(nil), sources...)
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	for _, s := range srcs {
		g.derived(s)
	}
	return g.cases
}

type gen struct {
	cases []Case
}

func (g *gen) add(family, variant string, e Expect, make func() []byte) {
	g.cases = append(g.cases, Case{Name: family + "/" + variant, Family: family, Expect: e, make: make})
}

func (g *gen) addBig(family, variant string, e Expect, make func() []byte) {
	g.add(family, variant, e, make)
	g.cases[len(g.cases)-1].Big = true
}

func fixed(b []byte) func() []byte { return func() []byte { return bytes.Clone(b) } }

// rng is the generator's only source of randomness: seeded, so cases are reproducible.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func garbage(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// derived adds the cases made from one real file.
func (g *gen) derived(s Source) {
	data := s.Data
	L := len(data)
	at := "@" + s.Name
	// Truncations: the start, spread through the body, and the tail where startxref lives.
	offs := []int{1, 5, 9, 64, L - 1, L - 6, L - 12, L - 30}
	for i := 1; i < 8; i++ {
		offs = append(offs, L*i/8)
	}
	if x, _, _, ok := lastStartxref(data); ok && x > 2 && x < L {
		offs = append(offs, x-1, x+2, x+(L-x)/2)
	}
	r := rng(uint64(L))
	for i := 0; i < 3; i++ {
		offs = append(offs, 1+r.IntN(L-1))
	}
	seen := map[int]bool{}
	sort.Ints(offs)
	for _, n := range offs {
		if n <= 0 || n >= L || seen[n] {
			continue
		}
		seen[n] = true
		g.add("truncated", fmt.Sprintf("%d-of-%d%s", n, L, at), Any, fixed(data[:n]))
	}

	// startxref off by N, and pointing at nonsense.
	if x, _, _, ok := lastStartxref(data); ok {
		for _, d := range []int{-1, 1, 3, -20, 100} {
			if v := x + d; v > 0 && v < L {
				// Pointing into the white space before the section is a common producer
				// slip that readers tolerate; anything else must be refused.
				e := Refuse
				if d < 0 && len(bytes.TrimSpace(data[v:x])) == 0 {
					e = Any
				}
				g.add("startxref", fmt.Sprintf("off-by-%+d%s", d, at), e, fixed(setStartxref(data, fmt.Sprint(v))))
			}
		}
		g.add("startxref", "zero"+at, Refuse, fixed(setStartxref(data, "0")))
		g.add("startxref", "past-eof"+at, Refuse, fixed(setStartxref(data, fmt.Sprint(L+4096))))
		g.add("startxref", "overflow"+at, Refuse, fixed(setStartxref(data, "99999999999999999999999")))
		g.add("startxref", "into-header"+at, Refuse, fixed(setStartxref(data, "3")))
	}

	// A cross-reference entry moved: the first in-use entry of the newest table section.
	if x, _, _, ok := lastStartxref(data); ok && x < L && bytes.HasPrefix(data[x:], []byte("xref")) {
		if i := bytes.Index(data[x:], []byte(" 00000 n")); i >= 10 {
			p := x + i - 10
			if v, err := atoi(data[p : p+10]); err == nil {
				for _, d := range []int{1, -1, 7, 1 << 20} {
					if v+d <= 0 {
						continue
					}
					out := bytes.Clone(data)
					copy(out[p:p+10], fmt.Sprintf("%010d", v+d))
					e := Refuse
					if d < 0 && v+d < L && len(bytes.TrimSpace(data[v+d:v])) == 0 {
						e = Any
					}
					g.add("xref-entry", fmt.Sprintf("off-by-%+d%s", d, at), e, fixed(out))
				}
			}
		}
	}

	// /Prev loops and lies, written into the newest trailer (after every offset in the file).
	if t := lastTrailerDict(data); t > 0 {
		x, _, _, _ := lastStartxref(data)
		for _, v := range []struct{ name, prev string }{
			{"self", fmt.Sprint(x)}, {"past-eof", fmt.Sprint(L + 1000)}, {"into-object", "20"},
			{"negative", "-7"}, {"overflow", "99999999999999999999"}, {"not-a-number", "(abc)"},
		} {
			g.add("prev", v.name+at, Any, fixed(insertAt(data, t, " /Prev "+v.prev+" ")))
		}
		g.add("trailer", "encrypt"+at, Refuse, fixed(insertAt(data, t, " /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >> ")))
		g.add("trailer", "deep-array"+at, Any, fixed(insertAt(data, t, " /Deep "+nest("[", "]", 10000)+" ")))
	}
	// Updates appended to the file: a 2-cycle of /Prev through two new sections, and an
	// update whose catalog is a loop of references.
	if root, _ := rootAndSize(data); root != "" {
		g.add("prev", "two-cycle-appended"+at, Refuse, func() []byte { return prevCycleAppended(data, 2) })
		g.add("prev", "three-cycle-appended"+at, Refuse, func() []byte { return prevCycleAppended(data, 3) })
	}

	// Signed files: /ByteRange and /Contents rewritten in place (same length, so every
	// offset stays right and the CMS stays parseable).
	if i := bytes.Index(data, []byte("/ByteRange [")); i >= 0 {
		g.signature(s, i+len("/ByteRange ["))
	}
}

// atoi reads a decimal with leading zeros (fmt.Sscan would take them for octal).
func atoi(b []byte) (int, error) { return strconv.Atoi(string(b)) }

// nest returns n opening tokens then n closing ones.
func nest(open, close string, n int) string {
	return string(bytes.Repeat([]byte(open), n)) + string(bytes.Repeat([]byte(close), n))
}

// prevCycleAppended appends n update sections whose /Prev chain loops among themselves.
func prevCycleAppended(data []byte, n int) []byte {
	root, size := rootAndSize(data)
	d := &doc{offs: map[int]int{}}
	d.b.Write(data)
	d.raw("\n")
	// Every section is "xref\n0 0\ntrailer << … /Prev P >>" with P padded to 10 digits, so
	// the offsets are known before writing.
	section := func(prev int) string {
		return fmt.Sprintf("xref\n0 0\ntrailer\n<< /Size %d /Root %s /Prev %010d >>\n", size, root, prev)
	}
	first := d.len()
	l := len(section(0))
	for k := 0; k < n; k++ {
		next := first + ((k+1)%n)*l
		d.raw(section(next))
	}
	return d.startxref(first).bytes()
}

// signature adds the cases of a signed file: br is the offset just inside "/ByteRange [".
func (g *gen) signature(s Source, br int) {
	data := s.Data
	at := "@" + s.Name
	end := bytes.IndexByte(data[br:], ']')
	if end < 0 {
		return
	}
	L := len(data)
	for _, v := range []struct {
		name, value string
	}{
		{"negative-start", "-1 10 20 30"},
		{"negative-length", "0 -5 10 10"},
		{"negative-tail", "0 10 20 -30"},
		{"sum-overflows-int64", "0 10 20 9223372036854775800"},
		{"gap-overflows-int64", "0 9223372036854775807 1 1"},
		{"beyond-int64", "0 99999999999999999999 1 1"},
		{"beyond-file", fmt.Sprintf("0 10 %d 10", L+10)},
		{"tail-past-eof", fmt.Sprintf("0 10 20 %d", L)},
		{"gap-reversed", "0 200 100 10"},
		{"zeros", "0 0 0 0"},
		{"two-numbers", "0 10"},
		{"six-numbers", "0 10 20 30 40 50"},
		{"floats", "0.5 10.5 20 30"},
		{"names", "/A /B /C /D"},
		{"empty", ""},
		{"whole-file-no-gap", fmt.Sprintf("0 %d %d 0", L, L)},
	} {
		out := replaceSameLen(data, br, end, v.value)
		if out == nil {
			continue
		}
		g.add("byterange", v.name+at, NotValid, fixed(out))
	}
	// /Contents: all zeros, one digit changed, non-hex, odd length.
	c := bytes.Index(data, []byte("/Contents <"))
	if c < 0 {
		return
	}
	c += len("/Contents <")
	ce := bytes.IndexByte(data[c:], '>')
	if ce < 8 {
		return
	}
	zero := bytes.Clone(data)
	copy(zero[c:c+ce], bytes.Repeat([]byte("0"), ce))
	g.add("contents", "zeros"+at, NotValid, fixed(zero))
	flip := bytes.Clone(data)
	if flip[c+40] == '0' {
		flip[c+40] = '1'
	} else {
		flip[c+40] = '0'
	}
	g.add("contents", "digit-changed"+at, NotValid, fixed(flip))
	nonhex := bytes.Clone(data)
	copy(nonhex[c+4:c+12], "ZZZZZZZZ")
	g.add("contents", "non-hex"+at, NotValid, fixed(nonhex))
	odd := bytes.Clone(data)
	odd[c+ce-1] = ' '
	g.add("contents", "odd-length"+at, NotValid, fixed(odd))

	// The signature dictionary redefined by an appended update.
	num, ok := objectAround(data, br)
	if !ok {
		return
	}
	sig := func(contents string) []byte {
		return appendUpdate(data, []o{plain(num, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents "+contents+" >>")}, "")
	}
	g.addBig("contents", "100MB-hex"+at, NotValid, func() []byte {
		return sig("<3082" + string(bytes.Repeat([]byte("00"), 50<<20)) + ">")
	})
	g.addBig("contents", "12MB-hex"+at, NotValid, func() []byte {
		return sig("<3083ffffff" + string(bytes.Repeat([]byte("ab"), 6<<20)) + ">")
	})
	g.add("contents", "ber-nesting-bomb"+at, NotValid, func() []byte {
		return sig("<" + string(bytes.Repeat([]byte("3080"), 20000)) + ">")
	})
	g.add("contents", "self-reference"+at, NotValid, func() []byte {
		return sig(fmt.Sprintf("%d 0 R", num))
	})
	g.add("byterange", "self-reference"+at, NotValid, func() []byte {
		return appendUpdate(data, []o{plain(num, fmt.Sprintf("<< /Type /Sig /ByteRange %d 0 R /Contents <3000> >>", num))}, "")
	})
	// Thousands of revisions after the signature: the change analysis must stay linear
	// enough.
	g.add("revisions", "3000-after-signature"+at, NotValid, func() []byte { return manyRevisions(data, 3000) })
}

// manyRevisions appends n updates, each redefining the catalog with one more entry (a
// change after any signature, which the change analysis must report every time).
func manyRevisions(data []byte, n int) []byte {
	root, size := rootAndSize(data)
	var rootNum int
	fmt.Sscan(root, &rootNum)
	body, ok := objectBody(data, rootNum)
	if !ok {
		return nil
	}
	prev, _, _, _ := lastStartxref(data)
	d := &doc{offs: map[int]int{}}
	d.b.Grow(len(data) + n*(len(body)+160))
	d.b.Write(data)
	d.raw("\n")
	for i := 0; i < n; i++ {
		d.obj(rootNum, strings.Replace(body, "<<", fmt.Sprintf("<< /VeilsignTestRev %d", i), 1))
		at := d.table(fmt.Sprintf("/Size %d /Root %s /Prev %d", size, root, prev), rootNum)
		d.startxref(at)
		prev = at
	}
	return d.bytes()
}

// objectBody returns the text between "num 0 obj" and "endobj" of the last uncompressed
// definition of num.
func objectBody(data []byte, num int) (string, bool) {
	re := regexp.MustCompile(fmt.Sprintf(`(?:^|[\r\n ])%d 0 obj`, num))
	all := re.FindAllIndex(data, -1)
	if len(all) == 0 {
		return "", false
	}
	from := all[len(all)-1][1]
	end := bytes.Index(data[from:], []byte("endobj"))
	if end < 0 {
		return "", false
	}
	return strings.TrimSpace(string(data[from : from+end])), true
}
