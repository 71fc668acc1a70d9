//go:build !js

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCoreLeavesOutHeavyPackages keeps out of the WebAssembly core the packages it was
// rid of because of what they cost in the browser (each MB of module is held in memory,
// as bytes and as compiled code, for as long as the core runs, so through every document's
// hashing peak): pdfcpu's model package (configuration, fonts, image decoders; 0.6 MB and
// 1.3 MB of memory after start-up, for one parse function) and encoding/json (1.4 MB,
// replaced by package plain).
func TestCoreLeavesOutHeavyPackages(t *testing.T) {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goCmd, "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed only %d packages", len(deps))
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model", "github.com/pdfcpu/pdfcpu/pkg/font", "encoding/json"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("the WebAssembly core links %s again", dep)
			}
		}
	}
}
