package local_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
)

// BenchmarkWrap measures a wrap under a loaded key, and the cost of a
// name no key has, which reads the directory again each time (another
// process may have created it), with few and with many keys present.
func BenchmarkWrap(b *testing.B) {
	ctx := context.Background()
	dk := make([]byte, kms.DataKeySize)
	for _, keys := range []int{2, 200} {
		be, err := local.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		for i := 2; i < keys; i++ {
			if _, err := be.CreateKey(ctx, fmt.Sprintf("key-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("keys=%d/known", keys), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := be.Wrap(ctx, local.DefaultKPSKey, dk); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/unknown", keys), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := be.Wrap(ctx, "no-such-key", dk); err == nil {
					b.Fatal("wrapped under a missing key")
				}
			}
		})
	}
}
