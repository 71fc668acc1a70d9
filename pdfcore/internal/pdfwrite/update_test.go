package pdfwrite

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// TestUpdateRepeatsXrefKind appends an update to files whose newest section is a table, a
// stream or a hybrid, and checks that the update's section is of the same kind, chains to
// the previous one with /Prev, and reads back with the new object and the old ones.
func TestUpdateRepeatsXrefKind(t *testing.T) {
	for _, c := range []struct {
		file string
		want pdfread.SectionKind
	}{
		{"libreoffice-7.4-writer-xref-table.pdf", pdfread.Table},
		{"pdftex-1.40-objstm-xref-stream.pdf", pdfread.Stream},
		{"handmade-hybrid-xrefstm.pdf", pdfread.Table},
		{"incremental-mixed-table-then-xref-stream-libreoffice.pdf", pdfread.Stream},
		{"incremental-mixed-xref-stream-then-table-pdftex.pdf", pdfread.Table},
		{"qpdf-11-linearized-objstm.pdf", pdfread.Stream},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../../../testdata/pdf", c.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := pdfread.Open(data)
			if err != nil {
				t.Fatal(err)
			}
			_, rootNum, _ := f.Root()
			root, _, _ := f.Root()
			u := New(f)
			n := u.Alloc()
			u.SetObject(n, types.Dict{"Marker": types.StringLiteral("veilsign")})
			nr := types.Dict{}
			for k, v := range root {
				nr[k] = v
			}
			nr["VeilsignTest"] = *types.NewIndirectRef(n, 0)
			u.SetObject(rootNum, nr)
			res, err := u.Write()
			if err != nil {
				t.Fatal(err)
			}
			out := append(bytes.Clone(data), res.Bytes...)
			g, err := pdfread.Open(out)
			if err != nil {
				t.Fatalf("reopening: %v", err)
			}
			kind := g.Sections[0].Kind
			if kind == pdfread.Hybrid {
				kind = pdfread.Table
			}
			prevKind := f.Sections[0].Kind
			if prevKind == pdfread.Hybrid {
				prevKind = pdfread.Table
			}
			if kind != prevKind || kind != c.want {
				t.Fatalf("update section is %v after a %v section, want %v", g.Sections[0].Kind, f.Sections[0].Kind, c.want)
			}
			if g.Sections[0].Prev != f.Sections[0].Offset {
				t.Fatalf("/Prev %d, want %d", g.Sections[0].Prev, f.Sections[0].Offset)
			}
			o, _ := g.Object(n)
			if d, ok := o.(types.Dict); !ok || !strings.Contains(d.PDFString(), "veilsign") {
				t.Fatalf("new object reads back as %v", o)
			}
			if c, _ := g.PageCount(); c < 1 {
				t.Fatal("the page tree is lost")
			}
			if len(g.RevisionEnds()) != len(f.RevisionEnds())+1 {
				t.Fatalf("revisions %v after %v", g.RevisionEnds(), f.RevisionEnds())
			}
		})
	}
}
