package pdfcore

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/internal/malformed"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfgen"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r     io.ReaderAt
	bytes atomic.Int64
	reads atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	return n, err
}

// TestOpenReaderAtPreparesAsOpen: for every testdata PDF that can be signed, a document
// opened over an io.ReaderAt prepares the same update (byte for byte) and digest as one
// opened from the slice, and the signature embedded into it verifies.
func TestOpenReaderAtPreparesAsOpen(t *testing.T) {
	_, id := testPKI()
	files, _ := filepath.Glob("../testdata/pdf/*.pdf")
	prepared := 0
	for _, fn := range files {
		name := filepath.Base(fn)
		if strings.HasPrefix(name, "fail-") {
			continue
		}
		data := readTestdata(t, name)
		doc, err := Open(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lazy, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s read lazily: %v", name, err)
		}
		if lazy.Pages != doc.Pages || lazy.Version != doc.Version || len(lazy.Fields) != len(doc.Fields) || lazy.MDP != doc.MDP {
			t.Fatalf("%s: read lazily it has %d pages, version %s, %d fields, MDP %d; from the slice %d, %s, %d, %d",
				name, lazy.Pages, lazy.Version, len(lazy.Fields), lazy.MDP, doc.Pages, doc.Version, len(doc.Fields), doc.MDP)
		}
		want, werr := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime})
		got, gerr := Prepare(lazy, onePlan(), "A", id.Chain, Options{Time: signTime})
		if CodeOf(werr) != CodeOf(gerr) {
			t.Fatalf("%s: prepare gave %v from the slice, %v read lazily", name, werr, gerr)
		}
		if werr != nil {
			continue
		}
		if !bytes.Equal(got.Update, want.Update) || got.ByteRange != want.ByteRange || !bytes.Equal(got.Digest, want.Digest) {
			t.Fatalf("%s: the update or digest prepared from the lazily read document differs", name)
		}
		der, err := cms.Sign(got.Digest, got.Hash, id.Chain, id.Key)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := Embed(got, der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rep, err := Verify(signed, VerifyOptions{})
		if err != nil || len(rep.Signatures) == 0 || rep.Signatures[len(rep.Signatures)-1].Integrity != "valid" {
			t.Fatalf("%s: the signed file does not verify: %v %+v", name, err, rep)
		}
		prepared++
	}
	if prepared < 20 {
		t.Fatalf("only %d files were prepared both ways", prepared)
	}
}

// TestPrepareReadsLittle: opening a 30 MB document over an io.ReaderAt and preparing a
// signature without the digest reads a small part of it — the browser's open and prepare
// then cost the same for 1 MB and 200 MB — and the digest reads it whole, once.
func TestPrepareReadsLittle(t *testing.T) {
	_, id := testPKI()
	data := pdfgen.Document(30 << 20)
	src := &countingReader{r: bytes.NewReader(data)}
	doc, err := OpenReaderAt(src, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	opened := src.bytes.Load()
	p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime, SkipDigest: true})
	if err != nil {
		t.Fatal(err)
	}
	read, reads := src.bytes.Load(), src.reads.Load()
	t.Logf("%d MB document: open read %d bytes, open+prepare %d bytes in %d reads", len(data)>>20, opened, read, reads)
	if read > 1<<20 {
		t.Fatalf("open+prepare read %d bytes of a %d-byte document", read, len(data))
	}
	whole, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Prepare(whole, onePlan(), "A", id.Chain, Options{Time: signTime})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Update, want.Update) {
		t.Fatal("the update prepared over the io.ReaderAt differs")
	}
	// The digest reads the document once, in steps, reporting progress up to the total.
	var reports [][2]int64
	d, err := p.ComputeDigest(func(done, total int64) { reports = append(reports, [2]int64{done, total}) })
	if err != nil || !bytes.Equal(d, want.Digest) {
		t.Fatalf("ComputeDigest over the io.ReaderAt: %x, %v; want %x", d, err, want.Digest)
	}
	last := reports[len(reports)-1]
	if len(reports) < 4 || last[0] != last[1] || last[1] != p.ByteRange[1]+p.ByteRange[3] {
		t.Fatalf("progress reports %v, want several ending at the signed length %d", reports, p.ByteRange[1]+p.ByteRange[3])
	}
	if hashed := src.bytes.Load() - read; hashed != int64(len(data)) {
		t.Fatalf("hashing read %d bytes of a %d-byte document", hashed, len(data))
	}
	read = src.bytes.Load()
	b, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:len(data)], data) {
		t.Fatal("the prepared file does not start with the document")
	}
	if whole := src.bytes.Load() - read; whole != int64(len(data)) {
		t.Fatalf("reading the whole document read %d bytes, want each of the %d once", whole, len(data))
	}
}

// TestVerifyDocumentReaderAtAsBytes: a document verified over an io.ReaderAt, hashed in
// chunks read from it, gets the same report (or the same error) as the same bytes given
// whole — for signed documents (three signatures, one of each method; a document with a
// DSS) and for every malformed case that is not one of the big ones — and a read failure
// is an error, never a report.
func TestVerifyDocumentReaderAtAsBytes(t *testing.T) {
	pki, _ := testPKI()
	three := signThree(t, readTestdata(t, "pdftex-1.40-objstm-xref-stream.pdf"))
	docs := map[string][]byte{
		"three signatures": three,
		"one signature":    signA(t, readTestdata(t, "libreoffice-7.4-writer-xref-table.pdf")),
	}
	var srcs []malformed.Source
	for _, name := range malformed.SourceFiles {
		srcs = append(srcs, malformed.Source{Name: name, Data: readTestdata(t, name)})
	}
	for _, c := range malformed.Cases(srcs) {
		if !c.Big {
			docs[c.Name] = c.Bytes()
		}
	}
	opts := VerifyOptions{Roots: pki.Roots()}
	describe := func(rep *Report, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		b, _ := json.Marshal(rep)
		return string(b)
	}
	valid := 0
	for name, data := range docs {
		want := describe(Verify(data, opts))
		var got string
		if doc, err := OpenReaderAt(bytes.NewReader(data), int64(len(data))); err != nil {
			got = describe(nil, err)
		} else {
			got = describe(VerifyDocument(doc, opts))
		}
		if got != want {
			t.Fatalf("%s: verified over an io.ReaderAt the report differs:\n bytes:    %.400s\n readerAt: %.400s", name, want, got)
		}
		if strings.Contains(want, `"valid":true`) {
			valid++
		}
	}
	if valid < 2 {
		t.Fatalf("only %d of the documents verified valid: the comparison covered too little", valid)
	}
	// The source fails after the document is open: an error with the read code, no report.
	src := &failingSource{r: bytes.NewReader(three)}
	doc, err := OpenReaderAt(src, int64(len(three)))
	if err != nil {
		t.Fatal(err)
	}
	src.failing.Store(true)
	if rep, err := VerifyDocument(doc, opts); CodeOf(err) != CodeRead || rep != nil {
		t.Fatalf("verifying over an unreadable source: %v, %v; want a read-failed error", rep, err)
	}
}

// failingSource fails every read once failing is set.
type failingSource struct {
	r       io.ReaderAt
	failing atomic.Bool
}

func (f *failingSource) ReadAt(p []byte, off int64) (int, error) {
	if f.failing.Load() {
		return 0, io.ErrUnexpectedEOF
	}
	return f.r.ReadAt(p, off)
}

// TestPrepareReadFailure: a source that fails after the document is open makes Prepare and
// Preflight answer with the read error, not with a layout or update built on bytes that
// were never read.
func TestPrepareReadFailure(t *testing.T) {
	_, id := testPKI()
	data := pdfgen.Document(4 << 20)
	src := &failingSource{r: bytes.NewReader(data)}
	doc, err := OpenReaderAt(src, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	src.failing.Store(true)
	if p, err := Prepare(doc, onePlan(), "A", id.Chain, Options{Time: signTime, SkipDigest: true}); CodeOf(err) != CodeRead || p != nil {
		t.Fatalf("prepare over a failing source: %v, %v; want read-failed", p, err)
	}
	if _, err := Preflight(doc, onePlan(), "A"); CodeOf(err) != CodeRead {
		t.Fatalf("preflight after a failed read: %v; want read-failed", err)
	}
}
