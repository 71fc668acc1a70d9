package cms

import (
	"crypto"
	"os"
	"runtime"
	"testing"
	"time"
)

func FuzzTmp(f *testing.F) {
	_, person := dev(f)
	_, d := content(f, crypto.SHA256)
	rsaSig, _ := Sign(d, crypto.SHA256, person.Chain, person.Key)
	f.Add(rsaSig)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		Parse(data)
		if el := time.Since(start); el > 500*time.Millisecond {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			os.WriteFile("/tmp/stack.txt", append([]byte(el.String()+"\n"), buf[:n]...), 0o644)
			os.WriteFile("/tmp/stack-input.bin", data, 0o644)
		}
	})
}
