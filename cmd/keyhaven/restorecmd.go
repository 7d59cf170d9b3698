package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyhaven/keyhaven/backup"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/kms/pkcs11"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// restoreCommand runs `keyhaven restore`: everything is extracted and
// checked in a temporary directory beside the data directory, which is
// renamed into place only when every check passed.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	from, args := takeFlag(args, "from")
	pf, args := takeFlag(args, "passphrase-file")
	if from == "" {
		fmt.Fprint(stderr, backupUsage)
		return errors.New("restore: --from FILE is required")
	}
	pass, err := passphrase(pf, getenv)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	cfg, err := loadConfig("keyhaven restore", args, getenv)
	if err != nil {
		return err
	}
	if isPostgres(cfg.Database) {
		return errors.New("restore: PostgreSQL is not supported yet")
	}
	dir := filepath.Clean(cfg.DataDir)
	if err := checkEmptyDir(dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(tmp)
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	m, err := backup.Extract(in, pass, tmp)
	in.Close()
	if err != nil {
		return fmt.Errorf("restore: %s refused: %w (nothing was written)", from, err)
	}
	if err := checkRestored(ctx, tmp, m); err != nil {
		return fmt.Errorf("restore: %s refused: %w (nothing was written)", from, err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s (keyhaven %s, schema %d, taken %s)\n", from, dir, m.KeyhavenVersion, m.SchemaVersion, m.CreatedAt.Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(stdout, "  %d key pairs, %d escrowed private keys, %d audit entries (hash chain verified), %d users\n",
		m.Counts.KeyPairs, m.Counts.EscrowedKeys, m.Counts.AuditEntries, m.Counts.Users)
	for _, k := range m.LocalKeys {
		fmt.Fprintf(stdout, "  local key %s (check value %s)\n", k.Ref, k.KCV)
	}
	reportHSMKeys(ctx, cfg, m.HSMKeys, stdout)
	return nil
}

// checkEmptyDir accepts an absent or empty directory.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("data directory %s is not empty: restore only into an empty or absent directory", dir)
	}
	return nil
}

// checkRestored checks what was extracted into dir against the manifest:
// the schema version, the local keys' check values, the database's
// counts and KMS refs, and the audit hash chain.
func checkRestored(ctx context.Context, dir string, m *backup.Manifest) error {
	known, err := sqlite.KnownSchemaVersion()
	if err != nil {
		return err
	}
	if m.SchemaVersion > known {
		return fmt.Errorf("the backup has schema version %d, newer than this keyhaven knows (%d): restore it with a newer keyhaven", m.SchemaVersion, known)
	}
	if m.Engine != "sqlite" || !m.Database {
		return fmt.Errorf("the backup is of a %s store without a database snapshot; this keyhaven restores SQLite backups only", m.Engine)
	}
	have := map[string]bool{}
	for _, k := range m.LocalKeys {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k.File)))
		if err != nil {
			return fmt.Errorf("local key %s: its file is missing from the backup", k.Ref)
		}
		key, err := local.DecodeKeyFile(data)
		if err != nil {
			return fmt.Errorf("local key %s: %w", k.Ref, err)
		}
		kcv := backup.KCV(key)
		clear(key)
		if kcv != k.KCV {
			return fmt.Errorf("local key %s does not match its check value", k.Ref)
		}
		have[k.Ref] = true
	}
	snap := filepath.Join(dir, "keyhaven.db")
	st, err := sqlite.Open(ctx, snap, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("database snapshot: %w", err)
	}
	defer st.Close()
	inv, err := st.Inventory(ctx)
	if err != nil {
		return err
	}
	if inv.KeyPairs != m.Counts.KeyPairs || inv.EscrowedKeys != m.Counts.EscrowedKeys || inv.AuditEntries != m.Counts.AuditEntries || inv.Users != m.Counts.Users {
		return errors.New("the database snapshot's counts differ from the manifest's")
	}
	for _, r := range inv.EscrowRefs {
		if strings.HasPrefix(r, local.Name+"/") && !have[r] {
			return fmt.Errorf("the database uses local key %s, which the backup does not hold", r)
		}
	}
	if _, err := verifyAudit(ctx, st); err != nil {
		return err
	}
	return nil
}

// reportHSMKeys says which HSM keys the restored escrow needs and, when
// an HSM is configured, whether each is there.
func reportHSMKeys(ctx context.Context, cfg Config, refs []string, stdout io.Writer) {
	if len(refs) == 0 {
		return
	}
	var b *pkcs11.Backend
	var openErr error
	if cfg.PKCS11Module != "" {
		b, openErr = pkcs11.Open(ctx, pkcs11.Config{Module: cfg.PKCS11Module, TokenLabel: cfg.PKCS11Token, PIN: cfg.PKCS11PIN, DefaultKey: cfg.PKCS11Key})
		if b != nil {
			defer b.Close()
		}
	}
	for _, r := range refs {
		label := strings.TrimPrefix(r, "pkcs11/")
		switch {
		case cfg.PKCS11Module == "":
			fmt.Fprintf(stdout, "  HSM key %s must be present (not checked: no --pkcs11-module given)\n", r)
		case openErr != nil:
			fmt.Fprintf(stdout, "  HSM key %s must be present: the HSM could not be opened to check\n", r)
		default:
			if _, err := b.Resolve(ctx, label); err != nil {
				fmt.Fprintf(stdout, "  MISSING: HSM key %s is not in token %q: its escrowed private keys cannot be opened until it is\n", r, cfg.PKCS11Token)
			} else {
				fmt.Fprintf(stdout, "  HSM key %s present\n", r)
			}
		}
	}
}
