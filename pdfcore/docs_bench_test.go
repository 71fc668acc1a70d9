package pdfcore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/pdfcore/internal/pdfgen"
)

// TestBenchDocuments writes the generated documents the benchmark harness (bench/) uses:
// pdfgen is internal to pdfcore, so bench/ asks this test for them. It runs only when
// VEILSIGN_BENCH_DOCS names a directory; VEILSIGN_BENCH_SIZES lists the sizes in MB
// (default 1,10,50,100). A file already of the right size is kept.
func TestBenchDocuments(t *testing.T) {
	dir := os.Getenv("VEILSIGN_BENCH_DOCS")
	if dir == "" {
		t.Skip("VEILSIGN_BENCH_DOCS is not set")
	}
	sizes := os.Getenv("VEILSIGN_BENCH_SIZES")
	if sizes == "" {
		sizes = "1,10,50,100"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range strings.Split(sizes, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || mb <= 0 {
			t.Fatalf("bad size %q", s)
		}
		data := pdfgen.Document(mb << 20)
		path := filepath.Join(dir, fmt.Sprintf("doc-%dMB.pdf", mb))
		if st, err := os.Stat(path); err == nil && st.Size() == int64(len(data)) {
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
