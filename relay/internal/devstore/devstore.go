// Package devstore keeps the development PKI (test QTSP CA, seal, TSA) under the user's
// config directory, so that every dev signature of a machine chains to the same root and
// a verifier can be told to trust it with --trust dev.
package devstore

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// Dir is where the dev PKI lives: $VEILSIGN_DEV_DIR, else <user config dir>/veilsign/dev.
func Dir() (string, error) {
	if d := os.Getenv("VEILSIGN_DEV_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory for the dev PKI (set VEILSIGN_DEV_DIR): %w", err)
	}
	return filepath.Join(base, "veilsign", "dev"), nil
}

// Load returns the dev PKI, creating it on first use.
func Load() (*devpki.PKI, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "pki.pem")
	data, err := os.ReadFile(path)
	if err == nil {
		return devpki.Unmarshal(data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	pki, err := devpki.New()
	if err != nil {
		return nil, err
	}
	out, err := pki.Marshal()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Write to a temporary name and rename, so two first runs at once cannot leave half
	// a file; the loser's PKI is simply not kept.
	tmp, err := os.CreateTemp(dir, "pki-*.pem")
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), pki.RootPEM(), 0o644); err != nil {
		return nil, err
	}
	return devpki.Unmarshal(out)
}

// Person turns a display name into the subject of a dev qualified certificate, with a
// national number derived from the name so the same name always gets the same number.
func Person(name string) devpki.Person {
	fields := strings.Fields(name)
	p := devpki.Person{Country: "BE", Locality: "Brussel"}
	switch len(fields) {
	case 0:
		p.Surname = "Unknown"
	case 1:
		p.Surname = fields[0]
	default:
		p.GivenName = fields[0]
		p.Surname = strings.Join(fields[1:], " ")
	}
	h := sha256.Sum256([]byte(name))
	v := binary.BigEndian.Uint32(h[:4])
	birth := time.Date(1950+int(v%50), time.Month(1+v/50%12), 1+int(v/600%28), 0, 0, 0, 0, time.UTC)
	p.SerialNumber = devpki.NationalNumber(birth, 1+int(v/16800%997), v%2 == 0)
	return p
}

// Identity returns a dev qualified identity for name, cached on disk by name so repeated
// dev signatures by the same person use the same certificate.
func Identity(pki *devpki.PKI, name string) (*devpki.Identity, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(name))
	path := filepath.Join(dir, "people", fmt.Sprintf("%x.pem", sum[:8]))
	if data, err := os.ReadFile(path); err == nil {
		if id, err := devpki.UnmarshalIdentity(data); err == nil {
			return id, nil
		}
	}
	id, err := pki.IssueQualified(Person(name))
	if err != nil {
		return nil, err
	}
	data, err := id.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		_ = os.WriteFile(path, data, 0o600) // a cache: failing to keep it only costs time
	}
	return id, nil
}
