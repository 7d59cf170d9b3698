//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"
)

// module is one loaded PKCS#11 library. Its state (initialization, logins,
// sessions) is per process, so every Backend of one path shares it.
//
// Calls into the library hold rw for reading; C_Initialize and C_Finalize
// hold it for writing, so that no call is in flight while the library is
// finalized.
type module struct {
	path string
	p    *pkcs11.Ctx
	rw   sync.RWMutex
	// Guarded by rw.
	ready bool   // C_Initialize succeeded and C_Finalize has not run since
	gen   uint64 // incremented by every C_Initialize
	gone  bool   // unloaded: the last Backend closed
	// Guarded by modules.mu.
	users int
}

// modules holds the loaded libraries by path: PKCS#11 state is process
// global, and loading one library twice would share it anyway.
var modules = struct {
	mu sync.Mutex
	m  map[string]*module
}{m: make(map[string]*module)}

// loadModule returns the shared module for path, loading it on first use.
func loadModule(path string) (*module, error) {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	if m, ok := modules.m[path]; ok {
		m.users++
		return m, nil
	}
	p := pkcs11.New(path)
	if p == nil {
		return nil, fmt.Errorf("pkcs11: cannot load module %s (missing, or not a PKCS#11 library?)", path)
	}
	m := &module{path: path, p: p, users: 1}
	modules.m[path] = m
	return m, nil
}

// release drops one user of m; the last one finalizes and unloads it.
func (m *module) release() {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	m.users--
	if m.users > 0 {
		return
	}
	delete(modules.m, m.path)
	m.rw.Lock()
	defer m.rw.Unlock()
	if m.ready {
		_ = m.p.Finalize()
		m.ready = false
	}
	m.p.Destroy()
	m.gone = true
}

// rlock locks m for a call, initializing the library first if it is not
// ready, and returns the generation the caller's sessions must belong to.
func (m *module) rlock() (uint64, error) {
	for {
		m.rw.RLock()
		if m.ready {
			return m.gen, nil
		}
		m.rw.RUnlock()
		if err := m.initialize(); err != nil {
			return 0, err
		}
	}
}

func (m *module) runlock() { m.rw.RUnlock() }

func (m *module) initialize() error {
	m.rw.Lock()
	defer m.rw.Unlock()
	if m.gone {
		return errClosed
	}
	if m.ready {
		return nil
	}
	err := m.p.Initialize()
	var e pkcs11.Error
	if errors.As(err, &e) && e == pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
		err = nil // initialized by other code of this process
	}
	if err != nil {
		return fmt.Errorf("initializing module %s: %w", m.path, err)
	}
	m.ready = true
	m.gen++
	return nil
}

// reset finalizes the library if it is still in generation gen, so that the
// next call initializes it again: that is how a token that went away and
// came back is found again (SoftHSM2, like many modules, scans its tokens
// only in C_Initialize). Every session of the old generation is gone.
func (m *module) reset(gen uint64) {
	m.rw.Lock()
	defer m.rw.Unlock()
	if m.ready && m.gen == gen {
		_ = m.p.Finalize()
		m.ready = false
	}
}
