//go:build cgo

package democard

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/veilsign/veilsign/pdfcore/devpki"
	"github.com/veilsign/veilsign/relay/internal/backend"
	"github.com/veilsign/veilsign/relay/internal/devstore"
	"github.com/veilsign/veilsign/relay/internal/pkcs11signer"
	"github.com/veilsign/veilsign/relay/internal/softhsm"
)

// New makes a fresh card in dir (emptied first) with a certificate from pki, and returns
// the "eid" backend that signs with it. SOFTHSM2_CONF is set for this process: the demo
// relay loads no other SoftHSM token. It returns an error wrapping ErrNoSoftHSM when
// SoftHSM2 is missing.
func New(dir string, pki *devpki.PKI) (backend.Backend, error) {
	util, module, err := softhsm.Find()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSoftHSM, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	// Nobody administers the demo card after this: its SO PIN is random and forgotten.
	soPIN := make([]byte, 8)
	rand.Read(soPIN)
	conf, err := softhsm.Init(util, dir, TokenLabel, PIN, fmt.Sprintf("%x", soPIN))
	if err != nil {
		return nil, fmt.Errorf("democard: %w", err)
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	// The issuer's work: a key pair made on the card and its certificate; the module is
	// let go of before the backend loads it.
	card, err := softhsm.Open(module, TokenLabel, PIN)
	if err != nil {
		return nil, fmt.Errorf("democard: %w", err)
	}
	_, err = card.AddCardKey(pkcs11signer.EIDCertLabel, pki, devstore.Person(Holder))
	card.Close()
	if err != nil {
		return nil, fmt.Errorf("democard: %w", err)
	}
	s, err := pkcs11signer.New(pkcs11signer.Config{Method: pkcs11signer.MethodEID, Module: module, TokenLabel: TokenLabel, PINFunc: askPIN})
	if err != nil {
		return nil, err
	}
	return reader{s}, nil
}
