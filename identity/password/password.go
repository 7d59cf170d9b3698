// Package password hashes and verifies passwords with argon2id, stored as
// PHC strings ($argon2id$v=19$m=...,t=...,p=...$salt$hash) so parameters
// can be raised later without breaking stored hashes.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism.
	Threads uint8
}

// Default is RFC 9106's second recommended setting (64 MiB, 3 passes),
// with the parallelism of a small server.
var Default = Params{Memory: 64 << 10, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("password: does not match")

// Hasher hashes and verifies passwords, at most a few at a time: each
// argon2id call takes Params.Memory, and a burst of logins must not take
// the server's memory with it.
type Hasher struct {
	params Params
	sem    chan struct{}
	// checks counts argon2id computations, for metrics and for tests that
	// show a path pays for one.
	checks atomic.Uint64
}

// NewHasher returns a Hasher with params that runs at most concurrent
// hashes at once.
func NewHasher(params Params, concurrent int) *Hasher {
	if concurrent < 1 {
		concurrent = 1
	}
	return &Hasher{params: params, sem: make(chan struct{}, concurrent)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	h.checks.Add(1)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify returns nil when pw matches hash, ErrMismatch when it does not,
// and another error when hash is not a PHC argon2id string.
func (h *Hasher) Verify(ctx context.Context, hash, pw string) error {
	p, salt, want, err := parse(hash)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.checks.Add(1)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// parse reads a PHC argon2id string, refusing costs no sane hash has (the
// hashes come from the database, but a bad row must not stall the server).
func parse(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errors.New("password: bad argon2 parameters")
	}
	if p.Memory < 8 || p.Memory > 1<<21 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return p, nil, nil, errors.New("password: argon2 parameters out of range")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errors.New("password: bad argon2 salt or hash")
	}
	return p, salt, key, nil
}
