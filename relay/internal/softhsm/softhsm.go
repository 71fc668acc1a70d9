// Package softhsm provisions SoftHSM2 tokens as a card issuer or an HSM operator would:
// an initialised token, key pairs generated on it that never leave it, and certificates
// stored beside them. The demo's eID card and the PKCS#11 tests use it; the relay itself
// only ever signs through pkcs11signer, which knows nothing of how a token was made.
package softhsm

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// modules are where Debian (and a source build) put SoftHSM's PKCS#11 library.
var modules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// ErrMissing says SoftHSM2 is not installed; its message tells a person how to fix it.
var ErrMissing = errors.New("SoftHSM2 is not installed (apt-get install softhsm2)")

// Find returns the softhsm2-util command and the PKCS#11 module, or an error wrapping
// ErrMissing that names what is missing.
func Find() (util, module string, err error) {
	util, err = exec.LookPath("softhsm2-util")
	if err != nil {
		return "", "", fmt.Errorf("%w: softhsm2-util is not on PATH", ErrMissing)
	}
	for _, m := range modules {
		if _, err := os.Stat(m); err == nil {
			return util, m, nil
		}
	}
	return "", "", fmt.Errorf("%w: libsofthsm2.so is in none of %v", ErrMissing, modules)
}

// Init makes a SoftHSM2 configuration whose tokens live in dir (which must exist and be
// empty of tokens) and initialises one token there with the given label and PINs. It
// returns the configuration file: SOFTHSM2_CONF must name it in the process that loads
// the module afterwards (the library reads it once, at C_Initialize).
func Init(util, dir, label, userPIN, soPIN string) (conf string, err error) {
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return "", err
	}
	conf = filepath.Join(dir, "softhsm2.conf")
	// slots.removable=false: the token stays in its slot for the module's whole life.
	text := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", userPIN, "--so-pin", soPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("softhsm2-util --init-token: %v: %s", err, out)
	}
	return conf, nil
}

// PublicOnly lets a CA certify a key that stays on the token: the CA signs, so the
// subject key only has to tell its public half.
type PublicOnly struct{ Key crypto.PublicKey }

func (p PublicOnly) Public() crypto.PublicKey { return p.Key }

func (PublicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("softhsm: the private key is on the token")
}
