package pkcs11_test

import (
	"fmt"
	"strings"
	"testing"

	khpkcs11 "github.com/keyhaven/keyhaven/kms/pkcs11"
	"github.com/keyhaven/keyhaven/kms/pkcs11/softhsmtest"
)

func TestSupported(t *testing.T) {
	if !khpkcs11.Supported {
		softhsmtest.Unavailable(t, "this test binary was built without cgo")
	}
}

func TestConfigHidesPIN(t *testing.T) {
	cfg := khpkcs11.Config{Module: "/m.so", TokenLabel: "t", PIN: "s3cr3t-pin", DefaultKey: "k"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, cfg); strings.Contains(s, cfg.PIN) {
			t.Errorf("%s shows the PIN: %s", format, s)
		}
	}
}
