//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/miekg/pkcs11"
)

// defaultMaxSessions is Config.MaxSessions when it is not set.
const defaultMaxSessions = 8

var errClosed = errors.New("pkcs11: backend is closed")

// conn is a logged-in connection to the token in one module generation.
type conn struct {
	gen   uint64
	slot  uint
	login pkcs11.SessionHandle   // kept open: it holds the login
	idle  []pkcs11.SessionHandle // guarded by Backend.mu
}

// outcome says what a failed attempt means.
type outcome int

const (
	done   outcome = iota // success, or an error of the request itself
	faulty                // the token did not answer: reset and retry
	down                  // the module could not be initialized, or login refused
)

// op is one piece of work on a session.
type op func(p *pkcs11.Ctx, s pkcs11.SessionHandle) error

// do runs fn on a session of the token. When the token fails it reconnects
// and retries once; an error that is still the token's is reported as
// kms.ErrUnavailable.
func (b *Backend) do(ctx context.Context, fn op) error {
	// Bound the sessions in use: HSMs limit them, and running out would
	// look like a failing token.
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.sem }()
	var err error
	for range 2 {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		var how outcome
		var gen uint64
		gen, how, err = b.try(fn)
		switch how {
		case done:
			return err
		case down:
			return b.unavailable(err)
		}
		b.mod.reset(gen)
	}
	return b.unavailable(err)
}

// unavailable wraps err as kms.ErrUnavailable, unless it is already.
func (b *Backend) unavailable(err error) error {
	if errors.Is(err, kms.ErrUnavailable) || errors.Is(err, errClosed) {
		return err
	}
	cause := err
	if errors.Is(err, kms.ErrKeyNotFound) {
		cause = nil // a key is not missing when the whole token is
	}
	return kms.UnavailableError(cause, "pkcs11: token %q is unavailable: %v", b.cfg.TokenLabel, err)
}

// try runs fn once. For a faulty outcome it returns the module generation
// to reset.
func (b *Backend) try(fn op) (uint64, outcome, error) {
	if b.closed.Load() {
		return 0, done, errClosed
	}
	gen, err := b.mod.rlock()
	if err != nil {
		return 0, down, err
	}
	defer b.mod.runlock()
	c, s, how, err := b.session(gen)
	if err != nil {
		return gen, how, err
	}
	err = fn(b.mod.p, s)
	if err == nil || b.healthy(c, s) {
		b.put(c, s)
		return gen, done, err
	}
	b.drop(c)
	return gen, faulty, err
}

// healthy probes the token after a failed call: does it still answer, and
// is the session still logged in? If so, the failure was the request's.
func (b *Backend) healthy(c *conn, s pkcs11.SessionHandle) bool {
	p := b.mod.p
	if _, err := p.GetTokenInfo(c.slot); err != nil {
		return false
	}
	info, err := p.GetSessionInfo(s)
	if err != nil {
		return false
	}
	return info.State == pkcs11.CKS_RW_USER_FUNCTIONS || info.State == pkcs11.CKS_RO_USER_FUNCTIONS
}

// session returns an idle or new session of the connection for module
// generation gen, connecting first if needed. The caller holds the module
// read lock.
func (b *Backend) session(gen uint64) (*conn, pkcs11.SessionHandle, outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, 0, done, errClosed
	}
	if b.conn != nil && b.conn.gen != gen {
		b.conn = nil // its sessions ended with the old generation
	}
	if b.conn == nil {
		c, how, err := b.connect(gen)
		if err != nil {
			return nil, 0, how, err
		}
		b.conn = c
	}
	c := b.conn
	if n := len(c.idle); n > 0 {
		s := c.idle[n-1]
		c.idle = c.idle[:n-1]
		return c, s, done, nil
	}
	s, err := b.mod.p.OpenSession(c.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		b.conn = nil
		return nil, 0, faulty, fmt.Errorf("pkcs11: opening a session: %w", err)
	}
	return c, s, done, nil
}

// put returns s to the pool of c, or closes it when the pool is full. A
// session of a dropped connection is left alone: the module reset that
// follows a drop ends it, and its handle may be reused by then.
func (b *Backend) put(c *conn, s pkcs11.SessionHandle) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != c {
		return
	}
	if len(c.idle) < cap(b.sem) {
		c.idle = append(c.idle, s)
		return
	}
	_ = b.mod.p.CloseSession(s)
}

// drop forgets c; the caller resets the module next.
func (b *Backend) drop(c *conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == c {
		b.conn = nil
	}
}

// connect finds the token, opens the login session and logs in. The PIN is
// never part of an error. After the token rejected the PIN, connect does
// not try again: HSMs lock a PIN after a few failures, and the PIN comes
// from configuration, so only a restart with another one can help.
func (b *Backend) connect(gen uint64) (*conn, outcome, error) {
	if b.pinRejected {
		return nil, down, b.pinError
	}
	p := b.mod.p
	slots, err := p.GetSlotList(true)
	if err != nil {
		return nil, faulty, fmt.Errorf("pkcs11: listing slots: %w", err)
	}
	for _, slot := range slots {
		ti, err := p.GetTokenInfo(slot)
		if err != nil || strings.TrimRight(ti.Label, " \x00") != b.cfg.TokenLabel {
			continue
		}
		s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			return nil, faulty, fmt.Errorf("pkcs11: opening a session: %w", err)
		}
		err = p.Login(s, pkcs11.CKU_USER, b.cfg.PIN)
		if err == nil || isCode(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			return &conn{gen: gen, slot: slot, login: s}, done, nil
		}
		_ = p.CloseSession(s)
		switch {
		case isCode(err, pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE):
			b.pinRejected = true
			b.pinError = kms.UnavailableError(nil, "pkcs11: login to token %q failed: wrong PIN?", b.cfg.TokenLabel)
			return nil, down, b.pinError
		case isCode(err, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED):
			b.pinRejected = true
			b.pinError = kms.UnavailableError(nil, "pkcs11: login to token %q failed: the PIN is locked or expired", b.cfg.TokenLabel)
			return nil, down, b.pinError
		}
		return nil, faulty, fmt.Errorf("pkcs11: login to token %q failed: %w", b.cfg.TokenLabel, err)
	}
	return nil, faulty, fmt.Errorf("pkcs11: no token labelled %q in module %s", b.cfg.TokenLabel, b.cfg.Module)
}

// isCode reports whether err is one of the PKCS#11 return values codes.
func isCode(err error, codes ...uint) bool {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if uint(e) == c {
			return true
		}
	}
	return false
}

// closeConn closes the sessions of the current connection, logging out
// first when no other Backend shares the module (a logout would end their
// login too). The caller holds the module write lock.
func (b *Backend) closeConn(logout bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.conn
	b.conn = nil
	if c == nil || !b.mod.ready || c.gen != b.mod.gen {
		return
	}
	p := b.mod.p
	for _, s := range c.idle {
		_ = p.CloseSession(s)
	}
	if logout {
		_ = p.Logout(c.login)
	}
	_ = p.CloseSession(c.login)
}
