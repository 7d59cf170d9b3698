package password

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// DummyHash returns a PHC string with the Hasher's parameters that no
// password matches (its hash is random bytes). Verifying against it costs
// what verifying a real hash costs, so a login for a user that does not
// exist takes as long as a wrong password for one that does.
func (h *Hasher) DummyHash() string {
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	p := h.params
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Checks returns how many argon2id computations the Hasher has made.
func (h *Hasher) Checks() uint64 { return h.checks.Load() }
