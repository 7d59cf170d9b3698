package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/kms/pkcs11"
)

// kmsBackends is the one table of KMS backends: each is opened when its
// configuration asks for it, and each reads only its own settings.
var kmsBackends = []struct {
	name    string
	enabled func(Config) bool
	open    func(context.Context, Config) (kms.Wrapper, error)
}{
	{local.Name, func(Config) bool { return true }, func(_ context.Context, cfg Config) (kms.Wrapper, error) {
		return local.Open(filepath.Join(cfg.DataDir, "kms-local"))
	}},
	{"pkcs11", func(cfg Config) bool { return cfg.PKCS11Module != "" }, func(ctx context.Context, cfg Config) (kms.Wrapper, error) {
		return pkcs11.Open(ctx, pkcs11.Config{Module: cfg.PKCS11Module, TokenLabel: cfg.PKCS11Token, PIN: cfg.PKCS11PIN, DefaultKey: cfg.PKCS11Key})
	}},
}

// openKMS opens the configured KMS backends.
func openKMS(ctx context.Context, cfg Config) (*kms.Registry, error) {
	var opened []kms.Wrapper
	for _, b := range kmsBackends {
		if !b.enabled(cfg) {
			continue
		}
		w, err := b.open(ctx, cfg)
		if err != nil {
			for _, o := range opened {
				closeWrapper(o)
			}
			return nil, fmt.Errorf("kms %s: %w", b.name, err)
		}
		opened = append(opened, w)
	}
	return kms.NewRegistry(cfg.KMSDefault, opened...)
}

func closeWrapper(w kms.Wrapper) {
	if c, ok := w.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}
