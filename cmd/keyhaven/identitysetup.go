package main

// The built-in identity service's start: its secret files (static tokens,
// the EC2 credential key), bootstrap, and its periodic reloads.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/token"
)

// writeSecretFile creates path (mode 0600) holding body, failing with an
// error matching fs.ErrExist if it exists, so a secret is never silently
// replaced. The body is written to a temporary file first and published
// by a hard link: a crash leaves the complete file or none (never an empty
// one that would stop every later start), and of instances creating it at
// once exactly one succeeds.
func writeSecretFile(path, body string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(body) // CreateTemp made it 0600
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// ensureTokens makes the default tokens file of static authentication on
// first start: one token for an administrator, printed once.
func ensureTokens(path string, log *slog.Logger, stderr io.Writer) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tok, proj := make([]byte, 24), make([]byte, 16)
	_, _ = rand.Read(tok)
	_, _ = rand.Read(proj)
	token := hex.EncodeToString(tok)
	body := fmt.Sprintf("# keyhaven static tokens: token user-id project-id [comma-separated roles]\n%s admin %s admin\n",
		token, hex.EncodeToString(proj))
	if err := writeSecretFile(path, body); errors.Is(err, fs.ErrExist) {
		return nil // another instance starting on this data directory made it
	} else if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	log.Info("created tokens file with an admin token", "path", path)
	fmt.Fprintf(stderr, "keyhaven: admin token (also in %s): %s\n", path, token)
	return nil
}

// loadCredentialKey reads the key that seals EC2 secrets, making it on
// first start.
func loadCredentialKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		err = writeSecretFile(path, base64.StdEncoding.EncodeToString(key)+"\n")
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("credential key: %w", err)
		}
		// Another instance on this data directory made it first: use its.
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("credential key: %s is empty (an older keyhaven was killed while creating it, before it sealed anything): remove it and start again", path)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("credential key: %s is not a base64 32-byte key", path)
	}
	return key, nil
}

// openBuiltin starts the built-in identity service over st, bootstrapping
// it on first start.
func openBuiltin(ctx context.Context, cfg Config, st identity.Store, log *slog.Logger, stderr io.Writer) (*builtin.Service, *token.Keyring, error) {
	ring, err := token.OpenKeyring(filepath.Join(cfg.DataDir, "token-keys"), 3)
	if err != nil {
		return nil, nil, err
	}
	// Instances sharing the key directory reload it every 10 seconds (see
	// maintain), so a new key waits longer than that before it seals.
	ring.Staging = 30 * time.Second
	credKey, err := loadCredentialKey(filepath.Join(cfg.DataDir, "credential.key"))
	if err != nil {
		return nil, nil, err
	}
	svc, err := builtin.New(builtin.Config{
		Store: st, Tokens: token.NewIssuer(ring), Hasher: password.NewHasher(password.Default, cfg.LoginConcurrency),
		CredentialKey: credKey, TokenLifetime: cfg.TokenLifetime,
		Guard: loginguard.New(loginguard.Config{
			SourceFailuresPerMinute: cfg.LoginFailuresPerMinute, UserFailuresPerMinute: cfg.LoginUserFailuresPerMinute,
			Concurrency: cfg.LoginConcurrency, Queue: cfg.LoginQueue,
		}),
	})
	if err != nil {
		return nil, nil, err
	}
	pw, err := svc.Bootstrap(ctx, cfg.BootstrapPassword)
	if err != nil {
		return nil, nil, err
	}
	if pw != "" {
		log.Info("bootstrapped the built-in identity: user admin, project admin, domain Default")
		if cfg.BootstrapPassword == "" {
			fmt.Fprintf(stderr, "keyhaven: admin password (shown once): %s\n", pw)
		}
	}
	if err := svc.Reload(ctx); err != nil {
		return nil, nil, err
	}
	return svc, ring, nil
}

// accessReload is how often an instance reloads revocations and withdrawn
// access (disabled or deleted users, projects, domains, removed roles,
// new passwords) from the store: the bound within which a change made
// on another instance takes effect here.
const accessReload = 2 * time.Second

// keyReload is how often an instance reloads the token key directory.
const keyReload = 10 * time.Second

// maintain runs the built-in identity's periodic work until ctx is done:
// picking up revocations, withdrawn access and token keys other instances
// made, and rotating token keys.
func maintain(ctx context.Context, svc *builtin.Service, ring *token.Keyring, rotation time.Duration, log *slog.Logger) {
	access := time.NewTicker(accessReload)
	defer access.Stop()
	keys := time.NewTicker(keyReload)
	defer keys.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-access.C:
			if err := svc.Reload(ctx); err != nil && ctx.Err() == nil {
				log.Error("reloading token revocations and withdrawn access", "error", err)
			}
		case <-keys.C:
			if err := svc.Prune(ctx); err != nil && ctx.Err() == nil {
				log.Error("pruning token revocations and access events", "error", err)
			}
			if err := ring.Reload(); err != nil {
				log.Error("reloading token keys", "error", err)
			}
			if err := ring.RotateIfOlder(rotation, time.Now()); err != nil {
				log.Error("rotating token keys", "error", err)
			}
		}
	}
}
