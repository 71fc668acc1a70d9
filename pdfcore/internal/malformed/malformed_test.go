package malformed

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"
)

// TestDeterministic: the same sources give the same cases, in the same order, with unique
// names, and there are enough of them.
func TestDeterministic(t *testing.T) {
	src := []Source{{Name: "classic.pdf", Data: classic(base(), "")}, {Name: "stream.pdf", Data: xrefDoc(base(), "")}}
	a, b := Cases(src), Cases(src)
	if len(a) != len(b) || len(a) < 120 {
		t.Fatalf("%d and %d cases; want the same number, at least 120", len(a), len(b))
	}
	names := map[string]bool{}
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Fatalf("case %d is %q then %q", i, a[i].Name, b[i].Name)
		}
		if names[a[i].Name] {
			t.Fatalf("two cases are named %q", a[i].Name)
		}
		names[a[i].Name] = true
		if a[i].Big {
			continue
		}
		if !bytes.Equal(a[i].Bytes(), b[i].Bytes()) {
			t.Fatalf("case %q differs between two runs", a[i].Name)
		}
	}
}

// TestZlibRepeat: the bomb builder makes a well-formed zlib stream of exactly what it says.
func TestZlibRepeat(t *testing.T) {
	z := zlibRepeat([]byte("0 0 "), 3)
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("the stream does not decode cleanly: %v", err)
	}
	if want := bytes.Repeat([]byte("0 0 "), 3<<18); !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes, want %d of the pattern", len(got), len(want))
	}
	if len(z) > 8<<10 {
		t.Fatalf("3 MiB take %d bytes compressed; the segments are not being reused", len(z))
	}
}
