//go:build !cgo

package pkcs11signer

import (
	"errors"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
)

func TestNoCgo(t *testing.T) {
	_, err := New(Config{Method: MethodEID, Module: "/usr/lib/softhsm/libsofthsm2.so"})
	if !errors.Is(err, ErrNoCgo) {
		t.Fatalf("New without cgo: %v, want ErrNoCgo", err)
	}
	// Go turns cgo off when it finds no C compiler; the SoftHSM tests would then vanish.
	if testtool.InCI() {
		t.Fatal("the PKCS#11 tests need cgo, which is off: CI must install gcc (and must not set CGO_ENABLED=0 for go test)")
	}
	t.Skip("SKIPPED: built without cgo, so the SoftHSM tests did not run")
}
