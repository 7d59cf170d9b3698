package main

import (
	"context"
	"fmt"
	"log/slog"
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

// openKMS opens the configured KMS backends. The default backend must
// open; another one that cannot (an HSM that is down, a wrong PIN) is kept
// as unavailable, logged, so that only requests for its keys fail while
// everything else is served.
func openKMS(ctx context.Context, cfg Config, log *slog.Logger) (*kms.Registry, error) {
	var opened []kms.Wrapper
	for _, b := range kmsBackends {
		if !b.enabled(cfg) {
			continue
		}
		w, err := b.open(ctx, cfg)
		if err != nil && b.name != cfg.KMSDefault {
			log.Error("KMS backend unavailable: requests for its keys will fail until keyhaven restarts with it reachable", "backend", b.name, "error", err)
			w, err = unavailable{name: b.name, cause: err}, nil
		}
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

// unavailable stands for a backend that could not be opened.
type unavailable struct {
	name  string
	cause error
}

func (u unavailable) Name() string { return u.name }

func (u unavailable) Wrap(context.Context, string, []byte) ([]byte, string, error) {
	return nil, "", kms.UnavailableError(u.cause, "kms %s could not be opened at start-up", u.name)
}

func (u unavailable) Unwrap(context.Context, string, []byte) ([]byte, error) {
	return nil, kms.UnavailableError(u.cause, "kms %s could not be opened at start-up", u.name)
}

func closeWrapper(w kms.Wrapper) {
	if c, ok := w.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}
