package malformed

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"hash/adler32"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// doc writes a PDF object by object and records where each object starts, so that a case
// breaks exactly what it means to break and nothing else.
type doc struct {
	b    bytes.Buffer
	offs map[int]int
}

func newDoc(version string) *doc {
	d := &doc{offs: map[int]int{}}
	d.b.WriteString("%PDF-" + version + "\n%\xe2\xe3\xcf\xd3\n")
	return d
}

// obj writes "num 0 obj body endobj".
func (d *doc) obj(num int, body string) *doc {
	d.offs[num] = d.b.Len()
	fmt.Fprintf(&d.b, "%d 0 obj\n%s\nendobj\n", num, body)
	return d
}

// stream writes a stream object; dict holds its entries without the angle brackets, and
// /Length is added unless dict names one (or a misspelling starting "/Len").
func (d *doc) stream(num int, dict string, data []byte) *doc {
	d.offs[num] = d.b.Len()
	if !strings.Contains(dict, "/Len") {
		dict += fmt.Sprintf(" /Length %d", len(data))
	}
	fmt.Fprintf(&d.b, "%d 0 obj\n<< %s >>\nstream\n", num, strings.TrimSpace(dict))
	d.b.Write(data)
	d.b.WriteString("\nendstream\nendobj\n")
	return d
}

func (d *doc) raw(s string) *doc { d.b.WriteString(s); return d }

func (d *doc) len() int { return d.b.Len() }

// table writes a classic cross-reference section for nums (0 is the free-list head) and its
// trailer; it returns the section's offset.
func (d *doc) table(trailer string, nums ...int) int {
	at := d.b.Len()
	d.b.WriteString("xref\n")
	for _, r := range runs(nums) {
		fmt.Fprintf(&d.b, "%d %d\n", r[0], r[1])
		for n := r[0]; n < r[0]+r[1]; n++ {
			if n == 0 {
				d.b.WriteString("0000000000 65535 f \n")
				continue
			}
			fmt.Fprintf(&d.b, "%010d 00000 n \n", d.offs[n])
		}
	}
	fmt.Fprintf(&d.b, "trailer\n<< %s >>\n", trailer)
	return at
}

// startxref closes the file (or revision) with startxref at and %%EOF.
func (d *doc) startxref(at int) *doc {
	fmt.Fprintf(&d.b, "startxref\n%d\n%%%%EOF\n", at)
	return d
}

func (d *doc) bytes() []byte { return bytes.Clone(d.b.Bytes()) }

// xe is one row of an xref stream.
type xe struct {
	num, typ, f2, f3 int
}

// inFile lists nums as uncompressed objects at their recorded offsets.
func (d *doc) inFile(nums ...int) []xe {
	var out []xe
	for _, n := range nums {
		out = append(out, xe{n, 1, d.offs[n], 0})
	}
	return out
}

// xrefStream writes an uncompressed cross-reference stream num with /W [1 4 2] holding rows
// and itself (added at its own offset); /Index and /Size are derived unless extra sets them.
// It returns the stream's offset.
func (d *doc) xrefStream(num int, extra string, rows []xe) int {
	at := d.b.Len()
	d.offs[num] = at
	rows = append(append([]xe(nil), rows...), xe{num, 1, at, 0})
	sort.Slice(rows, func(i, j int) bool { return rows[i].num < rows[j].num })
	var data bytes.Buffer
	nums := make([]int, 0, len(rows))
	wide := strings.Contains(extra, "/W [1 8 2]") // 8-byte offsets, which can be negative
	for _, r := range rows {
		nums = append(nums, r.num)
		data.WriteByte(byte(r.typ))
		if wide {
			data.Write([]byte{byte(r.f2 >> 56), byte(r.f2 >> 48), byte(r.f2 >> 40), byte(r.f2 >> 32)})
		}
		data.Write([]byte{byte(r.f2 >> 24), byte(r.f2 >> 16), byte(r.f2 >> 8), byte(r.f2)})
		data.Write([]byte{byte(r.f3 >> 8), byte(r.f3)})
	}
	dict := "/Type /XRef"
	if !strings.Contains(extra, "/W ") {
		dict += " /W [1 4 2]"
	}
	if !strings.Contains(extra, "/Index") {
		var idx []string
		for _, r := range runs(nums) {
			idx = append(idx, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		dict += " /Index [" + strings.Join(idx, " ") + "]"
	}
	if !strings.Contains(extra, "/Size") {
		dict += fmt.Sprintf(" /Size %d", nums[len(nums)-1]+1)
	}
	d.stream(num, dict+" "+extra, data.Bytes())
	return at
}

// runs groups object numbers into consecutive subsections (sorted, duplicates kept apart).
func runs(nums []int) [][2]int {
	s := append([]int(nil), nums...)
	sort.Ints(s)
	var out [][2]int
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		out = append(out, [2]int{s[i], j - i + 1})
		i = j + 1
	}
	return out
}

// o is an object of a synthetic document: a plain body, or a stream when isStream is set.
type o struct {
	n        int
	body     string // a plain object's body, or a stream's dictionary entries
	data     []byte
	isStream bool
}

func plain(n int, body string) o { return o{n: n, body: body} }

func strm(n int, dict string, data string) o {
	return o{n: n, body: dict, data: []byte(data), isStream: true}
}

// base is a valid one-page document: catalog 1, page tree 2, page 3, content stream 4.
func base() []o {
	return []o{
		plain(1, "<< /Type /Catalog /Pages 2 0 R >>"),
		plain(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		plain(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>"),
		strm(4, "", "BT 72 720 Td (veilsign malformed-input test) Tj ET"),
	}
}

// with replaces the objects of objs that repl names by number, appending the others.
func with(objs []o, repl ...o) []o {
	out := append([]o(nil), objs...)
	for _, r := range repl {
		found := false
		for i := range out {
			if out[i].n == r.n {
				out[i], found = r, true
			}
		}
		if !found {
			out = append(out, r)
		}
	}
	return out
}

func (d *doc) write(objs []o) []int {
	var nums []int
	for _, x := range objs {
		if x.isStream {
			d.stream(x.n, x.body, x.data)
		} else {
			d.obj(x.n, x.body)
		}
		nums = append(nums, x.n)
	}
	return nums
}

func maxNum(objs []o) int {
	m := 0
	for _, x := range objs {
		m = max(m, x.n)
	}
	return m
}

// classic writes objs with one xref table. trailer holds extra trailer entries; /Size and
// /Root are added unless it names them.
func classic(objs []o, trailer string) []byte {
	d := newDoc("1.7")
	nums := d.write(objs)
	at := d.table(trailerWith(trailer, maxNum(objs)+1), append([]int{0}, nums...)...)
	return d.startxref(at).bytes()
}

func trailerWith(extra string, size int) string {
	t := extra
	if !strings.Contains(extra, "/Root") {
		t = "/Root 1 0 R " + t
	}
	if !strings.Contains(extra, "/Size") {
		t = fmt.Sprintf("/Size %d ", size) + t
	}
	return strings.TrimSpace(t)
}

// xrefDoc writes objs with one uncompressed xref stream (object number after the others).
func xrefDoc(objs []o, extra string) []byte {
	d := newDoc("1.7")
	nums := d.write(objs)
	self := maxNum(objs) + 1
	if !strings.Contains(extra, "/Root") {
		extra = "/Root 1 0 R " + extra
	}
	at := d.xrefStream(self, extra, d.inFile(nums...))
	return d.startxref(at).bytes()
}

// objStmData lays out an object stream's content: the header of "num offset" pairs, then
// the objects; it returns the data and /First.
func objStmData(objs map[int]string, order []int) ([]byte, int) {
	var head, body bytes.Buffer
	for _, n := range order {
		fmt.Fprintf(&head, "%d %d ", n, body.Len())
		body.WriteString(objs[n])
		body.WriteString("\n")
	}
	first := head.Len()
	return append(head.Bytes(), body.Bytes()...), first
}

// zlibRepeat returns a zlib stream that inflates to mib MiB of pattern repeated (its length
// must divide 1 MiB). It is built without compressing that much: one flushed deflate
// segment for the first MiB decodes to the next MiB wherever it is repeated, since the
// window then holds the same periodic bytes. The stream ends properly (final block and
// Adler-32), so only a limit stops a decoder.
func zlibRepeat(pattern []byte, mib int) []byte {
	block := bytes.Repeat(pattern, (1<<20)/len(pattern))
	var seg bytes.Buffer
	fw, _ := flate.NewWriter(&seg, flate.BestCompression)
	fw.Write(block)
	fw.Flush()
	out := []byte{0x78, 0xda}
	sum := adler32.New()
	for i := 0; i < mib; i++ {
		out = append(out, seg.Bytes()...)
		sum.Write(block)
	}
	out = append(out, 0x03, 0x00) // a final, empty fixed-Huffman block
	return sum.Sum(out)
}

// zlibZeros returns a zlib stream that inflates to mib MiB of zero bytes.
func zlibZeros(mib int) []byte { return zlibRepeat([]byte{0}, mib) }

// zlibOf compresses data.
func zlibOf(data []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// Helpers for cases derived from real files.

var (
	reStartxref = regexp.MustCompile(`startxref\s+(\d+)`)
	reRoot      = regexp.MustCompile(`/Root\s+(\d+)\s+(\d+)\s+R`)
	reSize      = regexp.MustCompile(`/Size\s+(\d+)`)
)

// lastStartxref returns the value of the file's last startxref and where its digits are.
func lastStartxref(data []byte) (value, at, n int, ok bool) {
	all := reStartxref.FindAllSubmatchIndex(data, -1)
	if len(all) == 0 {
		return 0, 0, 0, false
	}
	m := all[len(all)-1]
	v, err := strconv.Atoi(string(data[m[2]:m[3]]))
	if err != nil {
		return 0, 0, 0, false
	}
	return v, m[2], m[3] - m[2], true
}

// setStartxref replaces the last startxref's digits with s.
func setStartxref(data []byte, s string) []byte {
	_, at, n, ok := lastStartxref(data)
	if !ok {
		return nil
	}
	out := append([]byte(nil), data[:at]...)
	out = append(out, s...)
	return append(out, data[at+n:]...)
}

// rootAndSize finds the newest /Root reference and the largest /Size of a file.
func rootAndSize(data []byte) (root string, size int) {
	if all := reRoot.FindAllSubmatch(data, -1); len(all) > 0 {
		m := all[len(all)-1]
		root = string(m[1]) + " " + string(m[2]) + " R"
	}
	for _, m := range reSize.FindAllSubmatch(data, -1) {
		if v, err := strconv.Atoi(string(m[1])); err == nil && v > size {
			size = v
		}
	}
	return root, size
}

// appendUpdate appends an incremental update with objs and a classic xref table whose
// /Prev is the file's last startxref; extra adds trailer entries (and may override /Prev).
// It returns nil when the file's trailer cannot be found.
func appendUpdate(data []byte, objs []o, extra string) []byte {
	prev, _, _, ok := lastStartxref(data)
	root, size := rootAndSize(data)
	if !ok || root == "" {
		return nil
	}
	d := &doc{offs: map[int]int{}}
	d.b.Write(data)
	if n := len(data); n > 0 && data[n-1] != '\n' && data[n-1] != '\r' {
		d.b.WriteByte('\n')
	}
	nums := d.write(objs)
	for _, n := range nums {
		size = max(size, n+1)
	}
	t := fmt.Sprintf("/Size %d /Root %s", size, root)
	if !strings.Contains(extra, "/Prev") {
		t += fmt.Sprintf(" /Prev %d", prev)
	}
	at := d.table(t+" "+extra, nums...)
	return d.startxref(at).bytes()
}

// insertAfter inserts s after the last occurrence of marker; nil when there is none.
func insertAfter(data []byte, marker, s string) []byte {
	i := bytes.LastIndex(data, []byte(marker))
	if i < 0 {
		return nil
	}
	i += len(marker)
	out := append([]byte(nil), data[:i]...)
	out = append(out, s...)
	return append(out, data[i:]...)
}

// lastTrailerDict returns the offset just after the "<<" of the newest trailer: the
// classic trailer after the last "trailer" keyword, or the dictionary of the xref stream the
// last startxref names.
func lastTrailerDict(data []byte) int {
	x, _, _, ok := lastStartxref(data)
	if !ok || x <= 0 || x >= len(data) {
		return -1
	}
	from := x
	if t := bytes.Index(data[x:], []byte("trailer")); t >= 0 && bytes.HasPrefix(data[x:], []byte("xref")) {
		from = x + t
	}
	i := bytes.Index(data[from:], []byte("<<"))
	if i < 0 {
		return -1
	}
	return from + i + 2
}

// insertAt returns data with s inserted at offset i.
func insertAt(data []byte, i int, s string) []byte {
	if i < 0 || i > len(data) {
		return nil
	}
	out := append([]byte(nil), data[:i]...)
	out = append(out, s...)
	return append(out, data[i:]...)
}

// objectAround finds the number of the object whose "N G obj" header precedes offset i.
func objectAround(data []byte, i int) (int, bool) {
	re := regexp.MustCompile(`(\d+)\s+\d+\s+obj\b`)
	j := bytes.LastIndex(data[:i], []byte(" obj"))
	if j < 0 {
		return 0, false
	}
	start := max(0, j-24)
	ms := re.FindAllSubmatch(data[start:j+4], -1)
	if len(ms) == 0 {
		return 0, false
	}
	v, err := strconv.Atoi(string(ms[len(ms)-1][1]))
	return v, err == nil
}

// replaceSameLen replaces data[at:at+n] with s padded by spaces to n bytes; nil when s is
// longer.
func replaceSameLen(data []byte, at, n int, s string) []byte {
	if len(s) > n {
		return nil
	}
	out := bytes.Clone(data)
	copy(out[at:at+n], s+strings.Repeat(" ", n-len(s)))
	return out
}
