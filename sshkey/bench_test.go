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

// BenchmarkGenerate is the cost of generating one key pair of each type
// the native API offers, with its public line and fingerprints.
func BenchmarkGenerate(b *testing.B) {
	for _, typ := range KeyTypes() {
		b.Run(string(typ), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				kp, err := Generate(typ, "bench")
				if err != nil {
					b.Fatal(err)
				}
				kp.Private.Zero()
			}
		})
	}
}

// BenchmarkEncode is the cost of writing a generated Ed25519 and RSA-2048
// private key in each format.
func BenchmarkEncode(b *testing.B) {
	for _, typ := range []KeyType{Ed25519, RSA2048} {
		kp, err := Generate(typ, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range []Format{FormatOpenSSH, FormatPKCS8, FormatPPK} {
			b.Run(string(typ)+"/"+string(f), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := kp.Private.Encode(f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
