package malformed

import (
	"bytes"
	"fmt"
	"strings"
)

// synthetic adds the cases built from scratch around small valid documents.
func (g *gen) synthetic() {
	g.controls()
	g.notPDF()
	g.startxrefs()
	g.xrefTables()
	g.prevChains()
	g.xrefStreams()
	g.objectStreams()
	g.lengths()
	g.nesting()
	g.pageTrees()
	g.forms()
	g.bombs()
	g.signatures()
	g.misc()
}

// controls are valid documents: the harness must open and sign them, which shows that the
// refusals below come from what each case breaks.
func (g *gen) controls() {
	g.add("control", "classic", Accept, fixed(classic(base(), "")))
	g.add("control", "xref-stream", Accept, fixed(xrefDoc(base(), "")))
	g.add("control", "object-stream", Accept, fixed(objStmDoc(nil, "", "")))
	g.add("control", "4000-revisions", Accept, func() []byte { return tinyRevisions(4000) })
}

func (g *gen) notPDF() {
	r := rng(1)
	g.add("not-pdf", "empty", Refuse, fixed([]byte{}))
	g.add("not-pdf", "one-byte-percent", Refuse, fixed([]byte("%")))
	g.add("not-pdf", "one-byte-nul", Refuse, fixed([]byte{0}))
	g.add("not-pdf", "png", Refuse, fixed(append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"), garbage(r, 200)...)))
	g.add("not-pdf", "zip", Refuse, fixed(append(append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), garbage(r, 300)...), "PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)))
	g.add("not-pdf", "jpeg", Refuse, fixed(append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), garbage(r, 500)...)))
	g.add("not-pdf", "text", Refuse, fixed([]byte("Dear customer,\nplease sign the attached contract.\nstartxref\n12\n%%EOF\n")))
	g.add("not-pdf", "html", Refuse, fixed([]byte("<!DOCTYPE html><html><body>%PDF is not here</body></html>")))
	g.add("not-pdf", "postscript", Refuse, fixed([]byte("%!PS-Adobe-3.0\n%%Pages: 1\nshowpage\n%%EOF\n")))
	g.add("not-pdf", "header-after-1KB", Refuse, fixed(append(bytes.Repeat([]byte(" "), 1100), classic(base(), "")...)))
	g.add("header", "header-only", Refuse, fixed([]byte("%PDF-1.7\n")))
	g.add("header", "header-and-eof", Refuse, fixed([]byte("%PDF-1.7\n%%EOF\n")))
	g.add("header", "then-64KB-garbage", Refuse, fixed(append([]byte("%PDF-1.7\n"), garbage(r, 64<<10)...)))
	g.add("header", "then-garbage-and-startxref", Refuse, fixed(append(append([]byte("%PDF-1.7\n"), garbage(r, 4096)...), "\nstartxref\n100\n%%EOF\n"...)))
	g.add("header", "then-1MB-nul", Refuse, fixed(append([]byte("%PDF-1.7\n"), make([]byte, 1<<20)...)))
	g.add("header", "version-garbage", Any, fixed(bytes.Replace(classic(base(), ""), []byte("%PDF-1.7"), []byte("%PDF-\xff\xfe"), 1)))
}

// startxrefs: the pointer to the newest cross-reference section lies.
func (g *gen) startxrefs() {
	good := classic(base(), "")
	x, _, _, _ := lastStartxref(good)
	for _, v := range []struct{ name, value string }{
		{"zero", "0"}, {"into-object", "30"}, {"past-eof", "100000"}, {"exact-eof", fmt.Sprint(len(good))},
		{"negative", "-5"}, {"overflow", "18446744073709551616"}, {"missing", ""},
		{"off-by-one", fmt.Sprint(x + 1)}, {"into-content-stream", fmt.Sprint(bytes.Index(good, []byte("BT 72")))},
	} {
		g.add("startxref", v.name+"@classic", Refuse, fixed(setStartxref(good, v.value)))
	}
	g.add("startxref", "two-keywords-last-wrong@classic", Refuse, fixed(append(bytes.Clone(good), "startxref\n5\n%%EOF\n"...)))
	g.add("startxref", "beyond-64KB-junk@classic", Refuse, fixed(append(bytes.Clone(good), bytes.Repeat([]byte("junk "), 14000)...)))
	// A fake cross-reference table inside a content stream, which startxref names.
	fake := "xref\n0 2\n0000000000 65535 f \n0000000015 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
	d := newDoc("1.7")
	nums := d.write(with(base(), strm(5, "", fake)))
	in := bytes.Index(d.b.Bytes(), []byte("xref\n0 2"))
	d.table("/Size 6 /Root 1 0 R", append([]int{0}, nums...)...)
	g.add("startxref", "into-fake-table-in-stream@classic", Any, fixed(d.startxref(in).bytes()))
}

func (g *gen) xrefTables() {
	good := classic(base(), "")
	x, _, _, _ := lastStartxref(good)
	table := string(good[x:])
	sub := func(name string, e Expect, old, new string) {
		g.add("xref-table", name, e, fixed([]byte(string(good[:x])+strings.Replace(table, old, new, 1))))
	}
	sub("count-too-large", Refuse, "0 5\n", "0 9999\n")
	sub("count-huge", Refuse, "0 5\n", "0 99999999999\n")
	sub("first-huge", Refuse, "0 5\n", "16777217 5\n")
	sub("first-overflows", Refuse, "0 5\n", "9223372036854775807 5\n")
	sub("entry-type-x", Refuse, "00000 n \n", "00000 x \n")
	sub("entry-nul-bytes", Refuse, "00000 n \n", "\x00\x00\x00\x00\x00 n \n")
	sub("offset-zero", Refuse, fmt.Sprintf("%010d", 9+len("%\xe2\xe3\xcf\xd3\n")), "0000000000")
	sub("no-trailer", Refuse, "trailer\n", "")
	sub("trailer-not-dict", Refuse, "trailer\n<<", "trailer\n[ 1 2 3 ] <<")
	sub("trailer-no-root", Refuse, "/Root 1 0 R", "")
	sub("root-direct-dict", Refuse, "/Root 1 0 R", "/Root << /Type /Catalog /Pages 2 0 R >>")
	sub("root-free-object", Refuse, "/Root 1 0 R", "/Root 0 0 R")
	sub("root-missing-object", Refuse, "/Root 1 0 R", "/Root 77 0 R")
	sub("root-huge-number", Refuse, "/Root 1 0 R", "/Root 2147483653 0 R")
	sub("root-is-page-tree", Refuse, "/Root 1 0 R", "/Root 2 0 R")
	sub("root-is-stream", Refuse, "/Root 1 0 R", "/Root 4 0 R")
	sub("size-huge", Any, "/Size 5", "/Size 4611686018427387904")
	sub("size-max-int64", Any, "/Size 5", "/Size 9223372036854775807")
	sub("size-negative", Any, "/Size 5", "/Size -5")
	sub("size-not-number", Any, "/Size 5", "/Size (five)")
	sub("xrefstm-garbage", Refuse, "/Root 1 0 R", "/Root 1 0 R /XRefStm 30")
	sub("xrefstm-self", Refuse, "/Root 1 0 R", fmt.Sprintf("/Root 1 0 R /XRefStm %d", x))
	sub("xrefstm-past-eof", Refuse, "/Root 1 0 R", "/XRefStm 99999999 /Root 1 0 R")

	// Duplicate object numbers: listed twice, defined twice, or an entry naming another
	// object's header.
	d := newDoc("1.7")
	nums := d.write(base())
	first3 := d.offs[3]
	d.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] >>")
	d.raw("xref\n0 5\n0000000000 65535 f \n")
	for _, n := range nums {
		fmt.Fprintf(&d.b, "%010d 00000 n \n", d.offs[n])
	}
	fmt.Fprintf(&d.b, "3 1\n%010d 00000 n \ntrailer\n<< /Size 5 /Root 1 0 R >>\n", first3)
	xr := bytes.LastIndex(d.b.Bytes(), []byte("xref\n"))
	g.add("duplicates", "listed-twice", Any, fixed(d.startxref(xr).bytes()))
	d2 := newDoc("1.7")
	d2.write(base())
	d2.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
	g.add("duplicates", "defined-twice", Any, fixed(d2.startxref(d2.table("/Size 5 /Root 1 0 R", 0, 1, 2, 3, 4)).bytes()))
	d3 := newDoc("1.7")
	d3.write(base())
	d3.offs[2] = d3.offs[3]
	g.add("duplicates", "entry-names-other-object", Refuse, fixed(d3.startxref(d3.table("/Size 5 /Root 1 0 R", 0, 1, 2, 3, 4)).bytes()))
	d4 := newDoc("1.7")
	d4.write(base())
	for i := 0; i < 20000; i++ {
		d4.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	}
	g.add("duplicates", "defined-20000-times", Any, fixed(d4.startxref(d4.table("/Size 5 /Root 1 0 R", 0, 1, 2, 3, 4)).bytes()))
	// One million free entries in one table (18 MB): legal, but a memory test.
	g.addBig("xref-table", "one-million-entries", Any, func() []byte {
		d := newDoc("1.7")
		nums := d.write(base())
		at := d.len()
		d.raw("xref\n0 1000000\n0000000000 65535 f \n")
		for _, n := range nums {
			fmt.Fprintf(&d.b, "%010d 00000 n \n", d.offs[n])
		}
		line := []byte("0000000000 00000 f \n")
		for i := 5; i < 1000000; i++ {
			d.b.Write(line)
		}
		d.raw("trailer\n<< /Size 1000000 /Root 1 0 R >>\n")
		return d.startxref(at).bytes()
	})
}

// prevChains: /Prev cycles and chains of sections.
func (g *gen) prevChains() {
	for _, n := range []int{1, 2, 3} {
		g.add("prev", fmt.Sprintf("cycle-%d@classic", n), Refuse, func() []byte { return prevCycleAppended(classic(base(), ""), n) })
		g.add("prev", fmt.Sprintf("cycle-%d@xref-stream", n), Refuse, func() []byte { return xrefStreamCycle(n) })
	}
	g.add("revisions", "10000-sections", Any, func() []byte { return tinyRevisions(10000) })
	g.add("prev", "into-garbage@classic", Refuse, func() []byte {
		return appendUpdate(classic(base(), ""), []o{plain(1, "<< /Type /Catalog /Pages 2 0 R >>")}, "/Prev 40")
	})
	g.add("prev", "to-xref-stream-from-table", Any, func() []byte {
		good := xrefDoc(base(), "")
		return appendUpdate(good, []o{plain(1, "<< /Type /Catalog /Pages 2 0 R /Lang (en) >>")}, "")
	})
}

// tinyRevisions is the base document followed by n update sections that define nothing.
func tinyRevisions(n int) []byte {
	d := newDoc("1.7")
	nums := d.write(base())
	prev := d.table("/Size 5 /Root 1 0 R", append([]int{0}, nums...)...)
	d.startxref(prev)
	for i := 0; i < n; i++ {
		at := d.len()
		fmt.Fprintf(&d.b, "xref\n0 0\ntrailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\n", prev)
		d.startxref(at)
		prev = at
	}
	return d.bytes()
}

// xrefStreamCycle is n xref streams whose /Prev entries form a cycle.
func xrefStreamCycle(n int) []byte {
	d := newDoc("1.7")
	nums := d.write(base())
	// Each stream's /Prev is padded to ten digits; the streams have the same length, so
	// their offsets are known in advance.
	start := d.len()
	probe := &doc{offs: map[int]int{}}
	for k, v := range d.offs {
		probe.offs[k] = v
	}
	probe.xrefStream(5, "/Root 1 0 R /Prev 0000000000", probe.inFile(nums...))
	l := probe.len()
	var at int
	for k := 0; k < n; k++ {
		at = d.xrefStream(5, fmt.Sprintf("/Root 1 0 R /Prev %010d", start+((k+1)%n)*l), d.inFile(nums...))
	}
	_ = at
	return d.startxref(start).bytes()
}

// xrefStreams: absurd /W, /Index, /Size and filters on a cross-reference stream.
func (g *gen) xrefStreams() {
	for _, v := range []struct{ name, extra string }{
		{"w-zero", "/W [0 0 0]"}, {"w-wide", "/W [8 8 8]"}, {"w-huge", "/W [100 100 100]"},
		{"w-negative", "/W [-1 4 2]"}, {"w-two", "/W [1 4]"}, {"w-max-int", "/W [1 2147483647 1]"},
		{"w-names", "/W [/A /B /C]"}, {"w-missing-direct", "/W 9 0 R"},
		{"index-huge-count", "/Index [0 2147483647]"}, {"index-huge-first", "/Index [4611686018427387904 6]"},
		{"index-max-int64", "/Index [9223372036854775807 6]"}, {"index-negative", "/Index [-5 6]"},
		{"index-odd", "/Index [0 6 7]"}, {"index-first-2^31", "/Index [2147483640 6]"},
		{"index-many-subsections", "/Index [" + strings.Repeat("0 0 ", 200000) + "0 6]"},
		{"size-missing", "/Size 6 /Size 6"}, {"size-huge", "/Size 4611686018427387904"},
		{"length-indirect", "/Length 1 0 R"}, {"length-huge", "/Length 4611686018427387904"},
		{"length-negative", "/Length -1"}, {"filter-unknown", "/Filter /VeilsignNoSuchFilter"},
		{"filter-crypt", "/Filter /Crypt"}, {"filter-dct", "/Filter /DCTDecode"},
		{"filter-not-name", "/Filter 42"}, {"decodeparms-garbage", "/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns -7 >>"},
		{"prev-self", "/Prev 0"},
	} {
		g.add("xref-stream", v.name, Any, fixed(xrefDoc(base(), v.extra)))
	}
	// A typed entry pointing outside the file, an unknown entry type, a compressed entry
	// naming a stream that does not exist.
	d := newDoc("1.7")
	nums := d.write(base())
	rows := d.inFile(nums...)
	rows[2].f2 = 1 << 30
	g.add("xref-stream", "entry-past-eof", Refuse, fixed(d.startxref(d.xrefStream(5, "/Root 1 0 R", rows)).bytes()))
	d = newDoc("1.7")
	nums = d.write(base())
	rows = d.inFile(nums...)
	rows[2] = xe{3, 2, 99, 0}
	g.add("xref-stream", "compressed-in-missing-stream", Any, fixed(d.startxref(d.xrefStream(5, "/Root 1 0 R", rows)).bytes()))
	d = newDoc("1.7")
	nums = d.write(base())
	rows = d.inFile(nums...)
	rows[1].typ = 7
	g.add("xref-stream", "unknown-entry-type", Any, fixed(d.startxref(d.xrefStream(5, "/Root 1 0 R", rows)).bytes()))
	// The stream is the wrong kind of object.
	good := xrefDoc(base(), "")
	g.add("xref-stream", "type-not-xref", Refuse, fixed(bytes.Replace(good, []byte("/Type /XRef"), []byte("/Type /XRfe"), 1)))
	i := bytes.LastIndex(good, []byte(">>\nstream\n"))
	g.add("xref-stream", "not-a-stream", Refuse, fixed(append(append(bytes.Clone(good[:i]), ">>\nstraem\n"...), good[i+len(">>\nstream\n"):]...)))
	// An older revision whose xref stream puts an object at a negative offset (8-byte
	// field), redefined by a newer one: Open checks only the newest entries, the change
	// analysis after the (garbage) signature reads the old version.
	g.add("xref-stream", "negative-offset-in-older-revision", NotValid, func() []byte {
		build := func(end int) []byte {
			d := newDoc("1.7")
			nums := d.write(with(base(),
				plain(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>"),
				plain(5, "<< /FT /Sig /T (S) /V 6 0 R /Rect [0 0 0 0] >>"),
				plain(6, fmt.Sprintf("<< /Type /Sig /ByteRange [0 0000000010 0000000020 %010d] /Contents <3000> >>", end-20))))
			rows := d.inFile(nums...)
			for i := range rows {
				if rows[i].num == 3 {
					rows[i].f2 = -1
				}
			}
			return d.startxref(d.xrefStream(7, "/Root 1 0 R /W [1 8 2]", rows)).bytes()
		}
		first := build(len(build(0)))
		return appendUpdate(first, []o{plain(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>")}, "")
	})
	// A predictor row as wide as the decode limit allows.
	g.add("xref-stream", "predictor-huge-columns", Any, fixed(xrefDoc(base(), "/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 200000000 >>")))
	g.add("xref-stream", "predictor-overflow", Any, fixed(xrefDoc(base(), "/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors 2147483647 /BitsPerComponent 16 /Columns 2147483647 >>")))
}

// objStmDoc is the base document with the catalog, page tree and page inside object stream
// 6, described by an xref stream 7. streamDict adds entries to the object stream's
// dictionary and xrefExtra to the xref stream's; rows, when given, replace the xref rows.
func objStmDoc(rows func(d *doc) []xe, streamDict, xrefExtra string) []byte {
	objs := map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R >>",
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
	}
	data, first := objStmData(objs, []int{1, 2, 3})
	d := newDoc("1.7")
	d.stream(4, "", []byte("BT 72 720 Td (object stream) Tj ET"))
	dict := fmt.Sprintf("/Type /ObjStm /N 3 /First %d", first)
	if streamDict != "" {
		dict = streamDict
		dict = strings.ReplaceAll(dict, "FIRST", fmt.Sprint(first))
	}
	d.stream(6, dict, data)
	var r []xe
	if rows != nil {
		r = rows(d)
	} else {
		r = append([]xe{{1, 2, 6, 0}, {2, 2, 6, 1}, {3, 2, 6, 2}}, d.inFile(4, 6)...)
	}
	return d.startxref(d.xrefStream(7, "/Root 1 0 R "+xrefExtra, r)).bytes()
}

func (g *gen) objectStreams() {
	rowsWith := func(change func(r []xe) []xe) func(d *doc) []xe {
		return func(d *doc) []xe {
			return change(append([]xe{{1, 2, 6, 0}, {2, 2, 6, 1}, {3, 2, 6, 2}}, d.inFile(4, 6)...))
		}
	}
	g.add("object-stream", "contains-itself", Refuse, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[4] = xe{6, 2, 6, 3}; return r }), "", "")))
	g.add("object-stream", "index-past-n", Any, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[2].f3 = 9; return r }), "", "")))
	g.add("object-stream", "index-negative-wrap", Any, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[2].f3 = 0xffff; return r }), "", "")))
	g.add("object-stream", "wrong-object-at-index", Refuse, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[1].f3 = 2; return r }), "", "")))
	g.add("object-stream", "stream-is-not-objstm", Refuse, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[0].f2 = 4; return r }), "", "")))
	g.add("object-stream", "stream-number-huge", Refuse, fixed(objStmDoc(rowsWith(func(r []xe) []xe { r[0].f2 = 0x7fffffff; return r }), "", "")))
	// Two object streams each listed as compressed inside the other.
	g.add("object-stream", "two-contain-each-other", Refuse, func() []byte {
		objs := map[int]string{1: "<< /Type /Catalog /Pages 2 0 R >>", 2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"}
		a, fa := objStmData(objs, []int{1})
		b, fb := objStmData(objs, []int{2})
		d := newDoc("1.7")
		d.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
		d.stream(5, fmt.Sprintf("/Type /ObjStm /N 1 /First %d", fa), a)
		d.stream(6, fmt.Sprintf("/Type /ObjStm /N 1 /First %d", fb), b)
		rows := []xe{{1, 2, 5, 0}, {2, 2, 6, 0}, {5, 2, 6, 1}, {6, 2, 5, 1}}
		rows = append(rows, d.inFile(3)...)
		return d.startxref(d.xrefStream(7, "/Root 1 0 R", rows)).bytes()
	})
	for _, v := range []struct{ name, dict string }{
		{"n-larger", "/Type /ObjStm /N 1000 /First FIRST"},
		{"n-huge", "/Type /ObjStm /N 2147483647 /First FIRST"},
		{"n-negative", "/Type /ObjStm /N -1 /First FIRST"},
		{"n-missing", "/Type /ObjStm /First FIRST"},
		{"n-zero", "/Type /ObjStm /N 0 /First FIRST"},
		{"first-past-data", "/Type /ObjStm /N 3 /First 100000"},
		{"first-zero", "/Type /ObjStm /N 3 /First 0"},
		{"first-negative", "/Type /ObjStm /N 3 /First -4"},
		{"first-mid-number", "/Type /ObjStm /N 3 /First 3"},
		{"extends-itself", "/Type /ObjStm /N 3 /First FIRST /Extends 6 0 R"},
		{"type-missing", "/N 3 /First FIRST"},
		{"length-self", "/Type /ObjStm /N 3 /First FIRST /Length 6 0 R"},
	} {
		g.add("object-stream", v.name, Any, fixed(objStmDoc(nil, v.dict, "")))
	}
	// Header offsets that decrease, overflow or point past the data.
	for _, v := range []struct{ name, head string }{
		{"offsets-decreasing", "1 40 2 0 3 20 "}, {"offset-huge", "1 0 2 9999999999999 3 20 "},
		{"offset-past-data", "1 0 2 5000 3 6000 "}, {"header-garbage", "x y z w u v "},
	} {
		g.add("object-stream", v.name, Any, func() []byte {
			body := "<< /Type /Catalog /Pages 2 0 R >>\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\n<< /Type /Page /Parent 2 0 R >>\n"
			d := newDoc("1.7")
			d.stream(6, fmt.Sprintf("/Type /ObjStm /N 3 /First %d", len(v.head)), []byte(v.head+body))
			return d.startxref(d.xrefStream(7, "/Root 1 0 R", append([]xe{{1, 2, 6, 0}, {2, 2, 6, 1}, {3, 2, 6, 2}}, d.inFile(6)...))).bytes()
		})
	}
	// A stream object inside an object stream (not allowed), and an object stream whose
	// header lists an object many times.
	g.add("object-stream", "holds-a-stream", Any, func() []byte {
		objs := map[int]string{1: "<< /Type /Catalog /Pages 2 0 R >>", 2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: "<< /Length 5 >>\nstream\nhello\nendstream"}
		data, first := objStmData(objs, []int{1, 2, 3})
		d := newDoc("1.7")
		d.stream(6, fmt.Sprintf("/Type /ObjStm /N 3 /First %d", first), data)
		return d.startxref(d.xrefStream(7, "/Root 1 0 R", append([]xe{{1, 2, 6, 0}, {2, 2, 6, 1}, {3, 2, 6, 2}}, d.inFile(6)...))).bytes()
	})
	g.add("object-stream", "n-200000-tiny-header", Any, func() []byte {
		// An honest object stream of 200,000 objects: the catalog and 199,999 integers.
		catalog := "<< /Type /Catalog /Pages 2 0 R >> "
		var head, body bytes.Buffer
		head.WriteString("1 0 ")
		body.WriteString(catalog)
		for i := 1; i < 200000; i++ {
			fmt.Fprintf(&head, "%d %d ", 1000+i, body.Len())
			body.WriteString("0 ")
		}
		d := newDoc("1.7")
		d.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>").obj(3, "<< /Type /Page /Parent 2 0 R >>")
		d.stream(6, fmt.Sprintf("/Type /ObjStm /N 200000 /First %d /Filter /FlateDecode", head.Len()), zlibOf(append(head.Bytes(), body.Bytes()...)))
		return d.startxref(d.xrefStream(7, "/Root 1 0 R", append([]xe{{1, 2, 6, 0}}, d.inFile(2, 3, 6)...))).bytes()
	})
}

// lengths: stream /Length lies, on the page's content stream (read when a marker is drawn)
// and on the cross-reference stream.
func (g *gen) lengths() {
	content := "BT 72 720 Td (veilsign malformed-input test) Tj ET"
	n := len(content)
	for _, v := range []struct{ name, dict string }{
		{"huge", "/Length 4611686018427387904"}, {"max-int64", "/Length 9223372036854775807"},
		{"2^31", "/Length 2147483648"}, {"one-too-many", fmt.Sprintf("/Length %d", n+1)}, {"one-too-few", fmt.Sprintf("/Length %d", n-1)},
		{"negative", "/Length -1"}, {"zero", "/Length 0"}, {"float", fmt.Sprintf("/Length %d.5", n)},
		{"string", fmt.Sprintf("/Length (%d)", n)}, {"self", "/Length 4 0 R"}, {"free-object", "/Length 0 0 R"},
		{"missing-object", "/Length 99 0 R"}, {"to-stream", "/Length 5 0 R"},
		{"ref-loop", "/Length 6 0 R"}, {"to-page", "/Length 3 0 R"}, {"absent", fmt.Sprintf("/Lenght %d", n)},
	} {
		objs := with(base(), o{n: 4, body: v.dict, data: []byte(content), isStream: true},
			strm(5, "/Length 4 0 R", "abc"), plain(6, "7 0 R"), plain(7, "6 0 R"))
		g.add("length", v.name+"@content-stream", Any, fixed(classic(objs, "")))
	}
	// A stream whose /Length runs to the end and then some, and one whose data has no
	// endstream at all.
	d := newDoc("1.7")
	d.write(base()[:3])
	d.offs[4] = d.len()
	d.raw("4 0 obj\n<< /Length 99999 >>\nstream\nBT ET\n")
	g.add("length", "no-endstream", Any, fixed(d.startxref(d.table("/Size 5 /Root 1 0 R", 0, 1, 2, 3, 4)).bytes()))
}

// nesting: arrays and dictionaries 10,000 deep, unbalanced, and long reference chains.
func (g *gen) nesting() {
	deep := []struct{ name, value string }{
		{"array-10000", nest("[", "]", 10000)},
		{"dict-10000", strings.Repeat("<< /A ", 10000) + strings.Repeat(">> ", 10000)},
		{"mixed-10000", strings.Repeat("[ << /A ", 5000) + strings.Repeat(">> ] ", 5000)},
		{"array-unbalanced", strings.Repeat("[", 10000)},
		{"dict-unbalanced", strings.Repeat("<< /A ", 10000)},
		{"string-parens-10000", "(" + nest("(", ")", 10000) + ")"},
		{"array-1000000-flat", "[" + strings.Repeat("0 ", 1000000) + "]"},
		{"string-10MB", "(" + strings.Repeat("a", 10<<20) + ")"},
	}
	for _, v := range deep {
		g.add("nesting", v.name+"@catalog", Any, fixed(classic(with(base(), plain(1, "<< /Type /Catalog /Pages 2 0 R /Deep "+v.value+" >>")), "")))
	}
	// Objects as large as the reader's text window allows (16 MB): millions of elements.
	for _, v := range []struct {
		name, elem string
		n          int
	}{{"array-7000000-zeros", "0 ", 7000000}, {"array-2500000-refs", "3 0 R ", 2500000}} {
		g.addBig("nesting", v.name+"@catalog", Any, func() []byte {
			return classic(with(base(), plain(1, "<< /Type /Catalog /Pages 2 0 R /Deep ["+strings.Repeat(v.elem, v.n)+"] >>")), "")
		})
	}
	for _, v := range deep[:3] {
		g.add("nesting", v.name+"@page", Any, fixed(classic(with(base(), plain(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots "+v.value+" >>")), "")))
		g.add("nesting", v.name+"@trailer", Any, fixed(classic(base(), "/Deep "+v.value)))
		g.add("nesting", v.name+"@xref-stream-dict", Any, fixed(xrefDoc(base(), "/Deep "+v.value)))
		g.add("nesting", v.name+"@object-stream", Any, fixed(objStmDoc(nil, "/Type /ObjStm /N 3 /First FIRST /Deep "+v.value, "")))
	}
	// /Pages reached through a chain of 100 references; two objects that are each other.
	chain := base()
	chain[0] = plain(1, "<< /Type /Catalog /Pages 10 0 R >>")
	for i := 10; i < 110; i++ {
		chain = append(chain, plain(i, fmt.Sprintf("%d 0 R", i+1)))
	}
	chain = append(chain, plain(110, "2 0 R"))
	g.add("nesting", "reference-chain-100", Any, fixed(classic(chain, "")))
	g.add("nesting", "reference-loop", Any, fixed(classic(with(base(), plain(1, "<< /Type /Catalog /Pages 5 0 R >>"), plain(5, "6 0 R"), plain(6, "5 0 R")), "")))
	g.add("nesting", "catalog-is-reference-to-itself", Refuse, fixed(classic(with(base(), plain(1, "1 0 R")), "")))
}

// pageTrees: counts that lie, loops, kids that are not pages.
func (g *gen) pageTrees() {
	pages := func(name string, e Expect, body string, extra ...o) {
		g.add("page-tree", name, e, fixed(classic(with(base(), append([]o{plain(2, body)}, extra...)...), "")))
	}
	pages("count-2^31", Any, "<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>")
	pages("count-max-int64", Any, "<< /Type /Pages /Kids [3 0 R] /Count 9223372036854775807 >>")
	pages("count-negative", Refuse, "<< /Type /Pages /Kids [3 0 R] /Count -1 >>")
	pages("count-float-1e9", Any, "<< /Type /Pages /Kids [3 0 R] /Count 1000000000.0 >>")
	pages("count-zero", Refuse, "<< /Type /Pages /Kids [3 0 R] /Count 0 >>")
	pages("count-missing", Refuse, "<< /Type /Pages /Kids [3 0 R] >>")
	pages("count-self-reference", Refuse, "<< /Type /Pages /Kids [3 0 R] /Count 2 0 R >>")
	pages("kids-self", Any, "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>")
	pages("kids-catalog", Any, "<< /Type /Pages /Kids [1 0 R 3 0 R] /Count 2 >>")
	pages("kids-not-array", Any, "<< /Type /Pages /Kids 3 0 R /Count 1 >>")
	pages("kids-missing", Any, "<< /Type /Pages /Count 1 >>")
	pages("kids-empty", Any, "<< /Type /Pages /Kids [] /Count 1 >>")
	pages("kids-integers", Any, "<< /Type /Pages /Kids [1 2 3] /Count 3 >>")
	pages("kids-free-object", Any, "<< /Type /Pages /Kids [0 0 R 3 0 R] /Count 1 >>")
	pages("two-node-loop", Any, "<< /Type /Pages /Kids [5 0 R] /Count 3 >>", plain(5, "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 3 /Parent 2 0 R >>"))
	pages("loop-with-lying-counts", Any, "<< /Type /Pages /Kids [5 0 R 3 0 R] /Count 3 >>", plain(5, "<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>"))
	pages("pages-is-array", Refuse, "[3 0 R]")
	pages("pages-is-integer", Refuse, "42")
	// 100 levels of intermediate nodes (the reader descends at most 64).
	deep := base()
	deep[0] = plain(1, "<< /Type /Catalog /Pages 10 0 R >>")
	for i := 10; i < 110; i++ {
		deep = append(deep, plain(i, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", i+1)))
	}
	deep = append(deep, plain(110, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"))
	g.add("page-tree", "100-levels", Any, fixed(classic(deep, "")))
	// Flat trees: 100,000 kids that are all the same page, and 20,000 distinct pages with
	// a signature field on the last, which makes a reader map page objects to numbers.
	g.add("page-tree", "100000-kids-same-page", Any, func() []byte {
		kids := strings.Repeat("3 0 R ", 100000)
		return classic(with(base(), plain(2, "<< /Type /Pages /Kids ["+kids+"] /Count 100000 >>")), "")
	})
	g.add("page-tree", "20000-pages-field-on-last", Any, func() []byte { return flatPages(20000) })
	for _, v := range []struct{ name, entries string }{
		{"mediabox-huge", "/MediaBox [0 0 1e30 1e30]"}, {"mediabox-zero", "/MediaBox [0 0 0 0]"},
		{"mediabox-negative", "/MediaBox [0 0 -595 -842]"}, {"mediabox-two-numbers", "/MediaBox [595 842]"},
		{"mediabox-names", "/MediaBox [/a /b /c /d]"}, {"mediabox-self", "/MediaBox 3 0 R"},
		{"cropbox-huge", "/MediaBox [0 0 595 842] /CropBox [-1e300 -1e300 1e300 1e300]"},
		{"rotate-45", "/MediaBox [0 0 595 842] /Rotate 45"}, {"rotate-huge", "/MediaBox [0 0 595 842] /Rotate 9223372036854775807"},
		{"rotate-negative", "/MediaBox [0 0 595 842] /Rotate -90"}, {"resources-loop", "/MediaBox [0 0 595 842] /Resources 3 0 R"},
		{"contents-array-loop", "/MediaBox [0 0 595 842] /Contents 5 0 R"}, {"annots-self", "/MediaBox [0 0 595 842] /Annots 3 0 R"},
		{"annots-huge-array", "/MediaBox [0 0 595 842] /Annots [" + strings.Repeat("3 0 R ", 100000) + "]"},
	} {
		g.add("page", v.name, Any, fixed(classic(with(base(), plain(3, "<< /Type /Page /Parent 2 0 R "+v.entries+" /Contents 4 0 R >>"), plain(5, "[5 0 R 4 0 R]")), "")))
	}
}

// flatPages is a document of n pages under one node, with an empty signature field on the
// last page.
func flatPages(n int) []byte {
	var kids bytes.Buffer
	objs := []o{plain(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >>"),
		plain(3, fmt.Sprintf("<< /FT /Sig /T (Sig1) /Type /Annot /Subtype /Widget /Rect [100 100 300 150] /P %d 0 R >>", 10+n-1)),
		strm(4, "", "BT 72 720 Td (page) Tj ET")}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&kids, "%d 0 R ", 10+i)
		annots := ""
		if i == n-1 {
			annots = " /Annots [3 0 R]"
		}
		objs = append(objs, plain(10+i, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"+annots+" >>"))
	}
	objs = append(objs, plain(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), n)))
	return classic(objs, "")
}

// forms: AcroForm and signature field structures that loop or lie.
func (g *gen) forms() {
	form := func(name string, e Expect, catalogExtra string, extra ...o) {
		objs := with(base(), append([]o{plain(1, "<< /Type /Catalog /Pages 2 0 R "+catalogExtra+" >>")}, extra...)...)
		g.add("form", name, e, fixed(classic(objs, "")))
	}
	field := "<< /FT /Sig /T (Sig1) /Type /Annot /Subtype /Widget /Rect [100 100 300 150] /P 3 0 R >>"
	form("fields-self", Any, "/AcroForm << /Fields 5 0 R >>", plain(5, "[5 0 R]"))
	form("field-kids-loop", Any, "/AcroForm << /Fields [5 0 R] >>", plain(5, "<< /T (a) /FT /Sig /Kids [6 0 R] >>"), plain(6, "<< /T (b) /Parent 5 0 R /Kids [5 0 R] >>"))
	form("field-tree-40-deep", Any, "/AcroForm << /Fields [10 0 R] >>", deepFields(40)...)
	form("field-v-self", Any, "/AcroForm << /Fields [5 0 R] >>", plain(5, "<< /FT /Sig /T (S) /V 5 0 R /Rect [0 0 100 50] /P 3 0 R >>"))
	form("field-v-catalog", NotValid, "/AcroForm << /Fields [5 0 R] >>", plain(5, "<< /FT /Sig /T (S) /V 1 0 R /Rect [0 0 100 50] /P 3 0 R >>"))
	form("field-p-catalog", Any, "/AcroForm << /Fields [5 0 R] >>", plain(5, strings.Replace(field, "/P 3 0 R", "/P 1 0 R", 1)))
	form("field-rect-garbage", Any, "/AcroForm << /Fields [5 0 R] >>", plain(5, strings.Replace(field, "[100 100 300 150]", "[/a (b) 1e308 -1e308]", 1)))
	form("acroform-not-dict", Any, "/AcroForm 42")
	form("fields-100000", Any, "/AcroForm << /Fields ["+strings.Repeat("5 0 R ", 100000)+"] >>", plain(5, field))
	form("slot-garbage", Any, "/AcroForm << /Fields [5 0 R] >>", plain(5, strings.Replace(field, ">>", "/VeilsignSlot << /Ref ("+strings.Repeat("Z", 10000)+") /Method /nuke /Place /SignaturePage >> >>", 1)))
	form("perms-docmdp-loop", Any, "/Perms << /DocMDP 5 0 R >>", plain(5, "<< /Type /Sig /Reference [5 0 R 6 0 R] >>"), plain(6, "<< /TransformMethod /DocMDP /TransformParams 6 0 R >>"))
	form("perms-docmdp-p-huge", Any, "/Perms << /DocMDP << /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 9223372036854775807 >> >>] >> >>")
	// Thousands of fields named as veilsign names its own ("Signature A", "Signature A
	// (A)", …): choosing a free name must not be quadratic.
	g.add("form", "20000-fields-named-like-ours", Any, func() []byte {
		var refs bytes.Buffer
		objs := base()
		for i := 0; i < 20000; i++ {
			name := "Signature A"
			if i > 0 {
				name = "Signature A (" + label(i-1) + ")"
			}
			objs = append(objs, plain(10+i, "<< /FT /Sig /T ("+name+") /Rect [0 0 0 0] >>"))
			fmt.Fprintf(&refs, "%d 0 R ", 10+i)
		}
		objs = with(objs, plain(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["+refs.String()+"] >> >>"))
		return classic(objs, "")
	})
	form("perms-docmdp-p1", Any, "/Perms << /DocMDP << /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 1 >> >>] >> >>")
}

func deepFields(n int) []o {
	var out []o
	for i := 0; i < n; i++ {
		out = append(out, plain(10+i, fmt.Sprintf("<< /T (f%d) /FT /Sig /Kids [%d 0 R] >>", i, 11+i)))
	}
	return append(out, plain(10+n, "<< /T (leaf) /FT /Sig /Rect [0 0 100 50] /P 3 0 R >>"))
}

// bombs: tiny streams that inflate to gigabytes, where the reader must decode them (the
// cross-reference stream and object streams).
func (g *gen) bombs() {
	inner := zlibZeros(1024) // 1 GiB of zeros in about 1 MB
	outer := zlibOf(inner)   // the same, in a few KB
	g.add("flate-bomb", "xref-stream-1GiB-double-flate", Any, func() []byte {
		return bombXref(outer, "/Filter [/FlateDecode /FlateDecode]")
	})
	g.add("flate-bomb", "xref-stream-1GiB", Any, func() []byte { return bombXref(inner, "/Filter /FlateDecode") })
	g.add("flate-bomb", "xref-stream-hex-flate", Any, func() []byte {
		return bombXref([]byte(fmt.Sprintf("%x>", outer)), "/Filter [/ASCIIHexDecode /FlateDecode /FlateDecode]")
	})
	g.add("flate-bomb", "object-stream-1GiB", Any, func() []byte {
		return objStmBomb(outer, "/Type /ObjStm /N 3 /First 10 /Filter [/FlateDecode /FlateDecode]")
	})
	g.add("flate-bomb", "object-stream-1GiB-n-huge", Any, func() []byte {
		return objStmBomb(outer, "/Type /ObjStm /N 100000000 /First 200000000 /Filter [/FlateDecode /FlateDecode]")
	})
	g.add("flate-bomb", "object-stream-header-255MiB", Any, func() []byte {
		// 255 MiB of "0 0 " (under the reader's decode limit) in about 300 KB: a header
		// that really lists 67 million entries, as /N says.
		const mib = 255
		return objStmBomb(zlibRepeat([]byte("0 0 "), mib), fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", mib<<18, mib<<20))
	})
	g.add("flate-bomb", "content-stream-1GiB", Any, func() []byte {
		return classic(with(base(), o{n: 4, body: "/Filter [/FlateDecode /FlateDecode]", data: outer, isStream: true}), "")
	})
	g.add("flate-bomb", "truncated-flate-xref", Any, func() []byte { return bombXref(outer[:len(outer)/2], "/Filter /FlateDecode") })
	g.add("flate-bomb", "lzw-garbage-xref", Any, func() []byte { return bombXref(garbage(rng(9), 4096), "/Filter /LZWDecode") })
	g.add("flate-bomb", "runlength-xref", Any, func() []byte {
		// RunLength: 2 bytes for 128 copies; 64 KB decodes to 4 MB.
		return bombXref(append(bytes.Repeat([]byte{0x81, 0x00}, 32768), 0x80), "/Filter /RunLengthDecode")
	})
}

// bombXref is the base document whose xref stream data is data with the given filter
// entries (the rows are not what the data decodes to: the decoder must stop first).
func bombXref(data []byte, filter string) []byte {
	d := newDoc("1.7")
	nums := d.write(base())
	at := d.len()
	d.stream(5, fmt.Sprintf("/Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R %s", filter), data)
	_ = nums
	return d.startxref(at).bytes()
}

func objStmBomb(data []byte, dict string) []byte {
	d := newDoc("1.7")
	d.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>").obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	d.stream(6, dict, data)
	return d.startxref(d.xrefStream(7, "/Root 1 0 R", append([]xe{{1, 2, 6, 0}}, d.inFile(2, 3, 6)...))).bytes()
}

// signatures: signed fields whose signature dictionary lies, in a synthetic document (the
// CMS is garbage, so these exercise everything before the CMS parser).
func (g *gen) signatures() {
	sig := func(name string, sigDict string) {
		objs := with(base(),
			plain(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> >>"),
			plain(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [5 0 R] >>"),
			plain(5, "<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget /Rect [100 100 300 150] /P 3 0 R /V 6 0 R >>"),
			plain(6, sigDict))
		g.add("signature", name, NotValid, fixed(classic(objs, "")))
	}
	c := "/Contents <" + strings.Repeat("0", 64) + ">"
	sig("byterange-negative", "<< /Type /Sig /ByteRange [-100 -5 -1 -9223372036854775808] "+c+" >>")
	sig("byterange-overflow", "<< /Type /Sig /ByteRange [0 9223372036854775807 9223372036854775807 9223372036854775807] "+c+" >>")
	sig("byterange-beyond", "<< /Type /Sig /ByteRange [0 100 200 99999999] "+c+" >>")
	sig("byterange-1000-numbers", "<< /Type /Sig /ByteRange ["+strings.Repeat("0 1 ", 500)+"] "+c+" >>")
	sig("byterange-not-array", "<< /Type /Sig /ByteRange 42 "+c+" >>")
	sig("contents-missing", "<< /Type /Sig /ByteRange [0 10 20 30] >>")
	sig("contents-number", "<< /Type /Sig /ByteRange [0 10 20 30] /Contents 5 >>")
	sig("contents-literal-garbage", "<< /Type /Sig /ByteRange [0 10 20 30] /Contents (\\060\\200\\200\\200) >>")
	sig("contents-der-length-huge", "<< /Type /Sig /ByteRange [0 10 20 30] /Contents <3088ffffffffffffffff0201> >>")
	sig("contents-deep-ber", "<< /Type /Sig /ByteRange [0 10 20 30] /Contents <"+strings.Repeat("3080", 5000)+"> >>")
	sig("doc-timestamp-garbage", "<< /Type /DocTimeStamp /ByteRange [0 10 20 30] "+c+" >>")
	sig("reference-loop", "<< /Type /Sig /ByteRange [0 10 20 30] "+c+" /Reference [6 0 R] /TransformMethod /DocMDP /TransformParams 6 0 R >>")
	sig("sig-is-integer", "42")
	sig("m-garbage", "<< /Type /Sig /M (D:99999999999999999999Z) /ByteRange [0 10 20 30] "+c+" >>")
	g.add("signature", "1000-signatures-1000-revisions", NotValid, func() []byte { return manySignatures(1000, 1000) })
}

// label is veilsign's reference label: A, B, … Z, AA, AB, ….
func label(i int) string {
	s := ""
	for i >= 0 {
		s = string(rune('A'+i%26)) + s
		i = i/26 - 1
	}
	return s
}

// manySignatures is a document with n signed fields whose (garbage) signatures all cover
// the first revision exactly, followed by revs revisions that each change the catalog:
// every signature must be compared with every later revision, which must not cost
// n × revs analyses.
func manySignatures(n, revs int) []byte {
	build := func(end int) []byte {
		var refs bytes.Buffer
		objs := base()
		for i := 0; i < n; i++ {
			f, v := 10+2*i, 11+2*i
			objs = append(objs,
				plain(f, fmt.Sprintf("<< /FT /Sig /T (S%d) /V %d 0 R /Rect [0 0 0 0] >>", i, v)),
				plain(v, fmt.Sprintf("<< /Type /Sig /ByteRange [0 0000000010 0000000020 %010d] /Contents <3000> >>", end-20)))
			fmt.Fprintf(&refs, "%d 0 R ", f)
		}
		objs = with(objs, plain(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>"),
			plain(5, "<< /Fields ["+refs.String()+"] /SigFlags 3 >>"))
		return classic(objs, "")
	}
	// The numbers are ten digits wide, so the first revision's length does not depend on
	// the value written.
	return manyRevisions(build(len(build(0))), revs)
}

// misc: odd line endings, object numbers at the edges, junk after %%EOF.
func (g *gen) misc() {
	good := classic(base(), "")
	g.add("misc", "cr-only-line-ends", Any, fixed(bytes.ReplaceAll(good, []byte("\n"), []byte("\r"))))
	g.add("misc", "no-final-eol", Any, fixed(bytes.TrimRight(good, "\n")))
	g.add("misc", "eof-missing", Any, fixed(bytes.TrimSuffix(good, []byte("%%EOF\n"))))
	g.add("misc", "junk-after-eof-1MB", Any, fixed(append(bytes.Clone(good), garbage(rng(3), 1<<20)...)))
	g.add("misc", "10MB-whitespace-before-eof", Any, func() []byte {
		x, at, n, _ := lastStartxref(good)
		_ = x
		return append(append(bytes.Clone(good[:at+n]), bytes.Repeat([]byte(" "), 10<<20)...), "\n%%EOF\n"...)
	})
	g.add("misc", "generation-huge", Any, fixed(bytes.Replace(good, []byte("3 0 obj"), []byte("3 99999999999999999999 obj"), 1)))
	g.add("misc", "object-zero-in-use", Any, fixed(classic(with(base(), plain(1, "<< /Type /Catalog /Pages 2 0 R /Zero 0 0 R >>")), "")))
	g.add("misc", "version-99", Any, fixed(classic(with(base(), plain(1, "<< /Type /Catalog /Pages 2 0 R /Version /99.9 >>")), "")))
	g.add("misc", "ref-number-huge", Any, fixed(classic(with(base(), plain(1, "<< /Type /Catalog /Pages 2 0 R /Outlines 9223372036854775807 0 R >>")), "")))
	// A first-page section closed by "startxref 0", as some linearized files have.
	d := newDoc("1.7")
	d.raw("xref\n0 0\ntrailer\n<< /Size 5 >>\nstartxref\n0\n%%EOF\n")
	nums := d.write(base())
	g.add("misc", "first-page-section-startxref-0", Any, fixed(d.startxref(d.table("/Size 5 /Root 1 0 R", append([]int{0}, nums...)...)).bytes()))
}
