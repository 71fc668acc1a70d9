package pdfcore

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/veilsign/veilsign/pdfcore/cms"
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
	b, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:len(data)], data) {
		t.Fatal("the prepared file does not start with the document")
	}
	if total := src.bytes.Load(); total < int64(len(data)) || total > int64(len(data))+read {
		t.Fatalf("reading the whole document read %d bytes, want each of the %d once", total, len(data))
	}
}
