//go:build !cgo

package democard

import (
	"errors"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
)

// New reports that this build cannot load PKCS#11 modules, so the demo has no eID card.
func New(string, *devpki.PKI) (backend.Backend, error) {
	return nil, errors.New("the demo eID card needs a relay built with cgo (CGO_ENABLED=1) and SoftHSM2")
}
