package sshkey

import "testing"

func BenchmarkParseAuthorizedKey(b *testing.B) {
	for _, bm := range []struct{ name, line string }{
		{"ed25519", novaEd},
		{"rsa", novaRSA},
		{"rsa4096", novaRSA4096},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, err := ParseAuthorizedKey(bm.line)
				if err != nil {
					b.Fatal(err)
				}
				_ = k.FingerprintMD5()
			}
		})
	}
}

func BenchmarkX509Fingerprint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := X509Fingerprint(novaCert); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateRSA2048 is the cost of one Nova-style generated key
// pair, which dominates POST /os-keypairs without a public_key.
func BenchmarkGenerateRSA2048(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateRSA(2048, NovaComment); err != nil {
			b.Fatal(err)
		}
	}
}
