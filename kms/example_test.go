package kms_test

import (
	"context"
	"fmt"
	"os"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
)

// A registry of the configured backends; refs select the backend that
// unwraps.
func ExampleRegistry() {
	dir, _ := os.MkdirTemp("", "kms-local")
	defer os.RemoveAll(dir)
	loc, err := local.Open(dir)
	if err != nil {
		panic(err)
	}
	reg, err := kms.NewRegistry(local.Name, loc)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	dataKey := make([]byte, kms.DataKeySize)
	wrapped, ref, _ := reg.Default().Wrap(ctx, "", dataKey)
	w, _, _ := reg.ForRef(ref)
	_, err = w.Unwrap(ctx, ref, wrapped)
	fmt.Println(ref, err)
	// Output: local/master@v1 <nil>
}
