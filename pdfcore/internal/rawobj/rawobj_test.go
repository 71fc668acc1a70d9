package rawobj

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
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

// Pooled writers must give every caller the bytes a fresh writer would, also when calls
// overlap (run with -race to check the pool hands a writer to one goroutine at a time).
func TestDeflateReuse(t *testing.T) {
	inputs := [][]byte{
		bytes.Repeat([]byte("0.1 g BT /VsB 17 Tf 42 786 Td <0028004F> Tj ET\n"), 40),
		[]byte("q Q"),
		{},
		bytes.Repeat([]byte{0, 1, 2, 3, 250, 251}, 5000),
	}
	fresh := make([][]byte, len(inputs))
	for i, in := range inputs {
		var b bytes.Buffer
		w, err := zlib.NewWriterLevel(&b, deflateLevel)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(in)
		w.Close()
		fresh[i] = b.Bytes()
	}
	errs := make(chan string, 8*len(inputs))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range inputs {
				// Offset per goroutine so different inputs meet the same pooled writers.
				j := (i + g) % len(inputs)
				if got := Deflate(inputs[j]); !bytes.Equal(got, fresh[j]) {
					errs <- fmt.Sprintf("input %d: %d bytes, a fresh writer gives %d", j, len(got), len(fresh[j]))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestWritersSurviveGC: a garbage collection (every open of a large document in the browser)
// does not throw the kept writers away, so the next Deflate allocates its output, not a new
// writer's half-megabyte of tables.
func TestWritersSurviveGC(t *testing.T) {
	in := bytes.Repeat([]byte("0.1 g BT /VsB 17 Tf 42 786 Td <0028004F> Tj ET\n"), 40)
	Deflate(in) // one writer made and kept
	var before, after runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&before)
	Deflate(in)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Errorf("Deflate after a GC allocated %d bytes: its writer was not kept", got)
	}
}

func BenchmarkDeflate(b *testing.B) {
	content := bytes.Repeat([]byte("0.1 g BT /VsB 17 Tf 42 786 Td <0028004F00480046> Tj ET\n"), 40)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		Deflate(content)
	}
}
