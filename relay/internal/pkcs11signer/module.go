//go:build cgo

package pkcs11signer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/veilsign/veilsign/relay/internal/backend"
)

// module is one loaded PKCS#11 library. A library can be initialised once per process, so
// Signers that name the same file share it; the last one to let go finalises and unloads
// it.
type module struct {
	key   string // the resolved path
	ctx   *pkcs11.Ctx
	refs  int
	owner bool // this package called C_Initialize and so calls C_Finalize
	// busy is held by the call that uses the module: a login is shared by every session
	// of the process on a token, so one caller's logout must not hit another's signature.
	busy chan struct{}
	dead bool // finalised; guarded by busy
}

var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

// acquireModule loads and initialises the library at path, or shares the one loaded.
func acquireModule(path string) (*module, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, unavailable(err, "the PKCS#11 module %s cannot be found", path)
	}
	key, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, unavailable(err, "the PKCS#11 module %s cannot be resolved", path)
	}
	modules.Lock()
	defer modules.Unlock()
	if m := modules.m[key]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(key)
	if ctx == nil {
		return nil, unavailable(nil, "the PKCS#11 module %s cannot be loaded (not a PKCS#11 library, wrong architecture or a missing dependency)", path)
	}
	owner := true
	if err := ctx.Initialize(); err != nil {
		if !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, unavailable(err, "the PKCS#11 module %s failed to initialise", path)
		}
		owner = false // someone else in the process initialised it; they finalise it
	}
	m := &module{key: key, ctx: ctx, refs: 1, owner: owner, busy: make(chan struct{}, 1)}
	modules.m[key] = m
	return m, nil
}

// release drops one reference; the last finalises and unloads the library. It waits for
// the call using the module, if any.
func (m *module) release() error {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.m, m.key)
	m.busy <- struct{}{} // no call is running past this point
	var err error
	if m.owner {
		if e := m.ctx.Finalize(); e != nil {
			err = fmt.Errorf("pkcs11signer: C_Finalize of %s: %w", m.key, e)
		}
	}
	m.ctx.Destroy()
	m.dead = true
	m.unlock()
	return err
}

// lock waits for the module, or for ctx.
func (m *module) lock(ctx context.Context) error {
	select {
	case m.busy <- struct{}{}:
		if m.dead {
			m.unlock()
			return errors.New("pkcs11signer: the signer was closed")
		}
		return nil
	case <-ctx.Done():
		return &Error{Msg: "gave up waiting for the token, which another signature is using", Kind: backend.ErrTimeout, Err: ctx.Err()}
	}
}

func (m *module) unlock() { <-m.busy }

// isRV reports whether err is the PKCS#11 return value rv.
func isRV(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}
