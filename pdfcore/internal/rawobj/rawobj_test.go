package rawobj

import (
	"bytes"
	"compress/zlib"
	"io"
	"strconv"
	"testing"
)

func TestStream(t *testing.T) {
	if got, want := string(Stream("/Type /XObject", []byte("abc"), false)), "<< /Type /XObject /Length 3 >>\nstream\nabc\nendstream"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	data := bytes.Repeat([]byte("BT /F1 12 Tf ET\n"), 50)
	body := Stream("", data, true)
	packed := Deflate(data)
	want := "<< /Filter /FlateDecode /Length " + strconv.Itoa(len(packed)) + " >>\nstream\n" + string(packed) + "\nendstream"
	if string(body) != want {
		t.Errorf("compressed stream %q", body[:40])
	}
	r, err := zlib.NewReader(bytes.NewReader(packed))
	if err != nil {
		t.Fatal(err)
	}
	if back, err := io.ReadAll(r); err != nil || !bytes.Equal(back, data) {
		t.Errorf("round trip: %v", err)
	}
	if !bytes.Equal(Deflate(data), packed) {
		t.Error("Deflate is not deterministic")
	}
}
