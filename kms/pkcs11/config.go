package pkcs11

import "fmt"

// DefaultName is the backend name, and first element of refs, when
// Config.Name is empty.
const DefaultName = "pkcs11"

// Config is the pkcs11 backend's configuration section.
type Config struct {
	// Name is the backend's name in refs; "pkcs11" when empty.
	Name string
	// Module is the path of the PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token by its label.
	TokenLabel string
	// PIN is the user PIN. It never appears in errors or logs.
	PIN string
	// DefaultKey is the label of the key used when no key is named.
	DefaultKey string
	// MaxSessions caps the sessions used at once, besides the one that
	// holds the login; calls beyond it wait. 8 when zero or less.
	MaxSessions int
}

// String describes c without its PIN.
func (c Config) String() string {
	return fmt.Sprintf("pkcs11{module=%s token=%q default_key=%q}", c.Module, c.TokenLabel, c.DefaultKey)
}

// GoString is String, so that %#v does not show the PIN either.
func (c Config) GoString() string { return c.String() }
