package softhsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The PINs of every token New makes.
const (
	PIN   = "1234"
	SOPIN = "5678"
)

// RequireEnv is the environment variable that turns a missing SoftHSM2
// into a test failure rather than a skip.
const RequireEnv = "KEYHAVEN_REQUIRE_SOFTHSM"

// modulePaths are where Debian and other distributions put the module.
var modulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// Token is a SoftHSM2 token made for one test.
type Token struct {
	// Module is the path of libsofthsm2.so.
	Module string
	// Label is the token's label; PIN and SOPIN its PINs.
	Label, PIN, SOPIN string
	// Conf is the softhsm2.conf the test's SOFTHSM2_CONF points at, and
	// Dir the token directory it names.
	Conf, Dir string
}

// Module returns the path of the SoftHSM2 PKCS#11 module and whether
// SoftHSM2 (module and softhsm2-util) is installed.
func Module() (string, bool) {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return "", false
	}
	for _, p := range modulePaths {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// New initializes a fresh token labelled label in a temporary directory
// and points SOFTHSM2_CONF at it for the rest of the test. Without
// SoftHSM2 it skips the test, or fails it when KEYHAVEN_REQUIRE_SOFTHSM=1.
func New(t testing.TB, label string) *Token {
	t.Helper()
	module, ok := Module()
	if !ok {
		Unavailable(t, "SoftHSM2 IS NOT INSTALLED: run scripts/softhsm-test-deps.sh")
	}
	root := t.TempDir()
	tok := &Token{
		Module: module, Label: label, PIN: PIN, SOPIN: SOPIN,
		Conf: filepath.Join(root, "softhsm2.conf"),
		Dir:  filepath.Join(root, "tokens"),
	}
	if err := os.Mkdir(tok.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\nslots.mechanisms = ALL\n", tok.Dir)
	if err := os.WriteFile(tok.Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SOPIN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return tok
}

// Unavailable stops a test that cannot use SoftHSM2 for the reason why: it
// skips it loudly, or fails it when KEYHAVEN_REQUIRE_SOFTHSM=1.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	msg := "the PKCS#11 tests did not run: " + why
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireEnv)
	}
	t.Skip("*** " + msg + " ***")
}

// Remove moves the token directory away, as if the HSM went away, until
// Restore. Both are for outage tests.
func (tok *Token) Remove(t testing.TB) {
	t.Helper()
	if err := os.Rename(tok.Dir, tok.Dir+".away"); err != nil {
		t.Fatal(err)
	}
}

// Restore brings back the token directory Remove moved away.
func (tok *Token) Restore(t testing.TB) {
	t.Helper()
	if err := os.Rename(tok.Dir+".away", tok.Dir); err != nil {
		t.Fatal(err)
	}
}
