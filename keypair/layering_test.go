package keypair_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsNoAdapter keeps dependencies pointing inward: the domain
// may use sshkey (pure functions) and policy (pure rules) and nothing else
// of keyhaven's.
func TestDomainImportsNoAdapter(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/keyhaven/keyhaven/keypair").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/keyhaven/keyhaven/keypair": true,
		"github.com/keyhaven/keyhaven/sshkey":  true,
		"github.com/keyhaven/keyhaven/policy":  true,
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/keyhaven/keyhaven/") && !allowed[pkg] {
			t.Errorf("keypair depends on %s", pkg)
		}
	}
}
