package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/keyhaven/keyhaven/api/nova"
	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/server"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// newLogger builds the process logger from the configuration.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore creates the data directory (mode 0700: it holds secrets) and
// opens the database in it.
func openStore(ctx context.Context, cfg Config) (*sqlite.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Database), 0o700); err != nil {
		return nil, fmt.Errorf("database dir: %w", err)
	}
	// Create the file ourselves so that it is private from its first byte;
	// SQLite would create it world-readable under the usual umask, and its
	// -wal and -shm files copy the database file's mode.
	f, err := os.OpenFile(cfg.Database, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	f.Close()
	return sqlite.Open(ctx, cfg.Database, sqlite.Options{})
}

func migrate(ctx context.Context, cfg Config, stderr io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "keyhaven: database", cfg.Database, "is up to date")
	return st.Close()
}

// ensureTokens makes the default tokens file on first start: one token for
// an administrator, printed once so the operator can use it.
func ensureTokens(path string, log *slog.Logger, stderr io.Writer) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tok, proj := make([]byte, 24), make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	if _, err := rand.Read(proj); err != nil {
		return err
	}
	token := hex.EncodeToString(tok)
	body := fmt.Sprintf("# keyhaven static tokens: token user-id project-id [comma-separated roles]\n%s admin %s admin\n",
		token, hex.EncodeToString(proj))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("tokens file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	log.Info("created tokens file with an admin token", "path", path)
	fmt.Fprintf(stderr, "keyhaven: admin token (also in %s): %s\n", path, token)
	return nil
}

// serve runs the service until ctx is done. ready, when not nil, receives
// the listening address once requests can be served.
func serve(ctx context.Context, cfg Config, stderr io.Writer, ready chan<- string) error {
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := ensureTokens(cfg.TokensFile, log, stderr); err != nil {
		return err
	}
	auth, err := statictoken.Load(cfg.TokensFile)
	if err != nil {
		return err
	}
	svc := keypair.NewService(st, cfg.QuotaKeyPairs, nil)
	srv := server.New(server.Config{
		Nova: nova.New(nova.Config{
			Service: svc, Auth: auth, Log: log,
			PublicURL: cfg.PublicURL, AuthURI: cfg.AuthURI,
		}),
		Health:          func(ctx context.Context) error { _, err := st.CountKeyPairs(ctx, ""); return err },
		Log:             log,
		ShutdownTimeout: cfg.ShutdownTimeout,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("keyhaven serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "database", cfg.Database, "tokens", auth.Len())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	err = srv.Serve(ctx, ln)
	log.Info("keyhaven stopped")
	return err
}
