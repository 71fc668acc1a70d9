// Package testtool lets tests depend on programs nobody here wrote (pdfsig, qpdf, openssl,
// mutool…). Off CI a missing program skips the test with a loud message; with CI=true it
// fails, because CI installs every tool and a silent skip would hide a missing install step.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Require returns the path of the named program or stops the test.
func Require(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI but is not installed (.ci/run must install it)", name)
	}
	t.Skipf("SKIPPED: %s is not installed; this interop check did not run (install it, CI requires it)", name)
	return ""
}

// InCI reports whether the tests run under CI, where every outside tool must be present.
func InCI() bool { return os.Getenv("CI") == "true" }
