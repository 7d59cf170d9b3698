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
	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/kms"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/kms/pkcs11"
	"github.com/keyhaven/keyhaven/store/postgres"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// restoreCommand runs `keyhaven restore`: everything is extracted and
// checked in a temporary directory beside the data directory, which is
// renamed into place only when every check passed.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	from, pass, cfg, err := archiveArgs("restore", "from", args, getenv, stderr)
	if err != nil {
		return err
	}
	dir := filepath.Clean(cfg.DataDir)
	if !isPostgres(cfg.Database) && filepath.Clean(strings.TrimPrefix(cfg.Database, "sqlite://")) != filepath.Join(dir, "keyhaven.db") {
		return fmt.Errorf("restore: a SQLite backup is restored to DATA_DIR/keyhaven.db; leave --database unset (move the file afterwards if it lives elsewhere)")
	}
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
	check := checkRestored
	if isPostgres(cfg.Database) {
		check = func(ctx context.Context, dir string, m *backup.Manifest) error {
			return checkPostgres(ctx, cfg, dir, m)
		}
	}
	if err := check(ctx, tmp, m); err != nil {
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
	fmt.Fprintf(stdout, "  %d key pairs, %d escrowed private keys, %d audit entries (hash chain verified), %d users, %d servers\n",
		m.Counts.KeyPairs, m.Counts.EscrowedKeys, m.Counts.AuditEntries, m.Counts.Users, m.Counts.Servers)
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

// checkKeyFiles checks the local key files extracted into dir against
// the manifest's check values and returns the refs they serve.
func checkKeyFiles(dir string, m *backup.Manifest) (map[string]bool, error) {
	have := map[string]bool{}
	for _, k := range m.LocalKeys {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k.File)))
		if err != nil {
			return nil, fmt.Errorf("local key %s: its file is missing from the backup", k.Ref)
		}
		key, err := local.DecodeKeyFile(data)
		if err != nil {
			return nil, fmt.Errorf("local key %s: %w", k.Ref, err)
		}
		kcv := backup.KCV(key)
		clear(key)
		if kcv != k.KCV {
			return nil, fmt.Errorf("local key %s does not match its check value", k.Ref)
		}
		have[k.Ref] = true
	}
	return have, nil
}

// checkRefs checks that every local key ref the database uses is among
// the restored key files.
func checkRefs(refs []string, have map[string]bool) error {
	for _, r := range refs {
		if strings.HasPrefix(r, local.Name+"/") && !have[r] {
			return fmt.Errorf("the database's escrowed keys use local key %s, which the backup does not hold: the database and this backup do not belong together", r)
		}
	}
	return nil
}

// checkRestored checks a SQLite backup extracted into dir against its
// manifest: the schema version, the local keys' check values, the
// snapshot's counts and KMS refs, and the audit hash chain.
func checkRestored(ctx context.Context, dir string, m *backup.Manifest) error {
	known, err := sqlite.KnownSchemaVersion()
	if err != nil {
		return err
	}
	if m.SchemaVersion > known {
		return fmt.Errorf("the backup has schema version %d, newer than this keyhaven knows (%d): restore it with a newer keyhaven", m.SchemaVersion, known)
	}
	if m.Engine != "sqlite" || !m.Database {
		return fmt.Errorf("the backup is of a %s store without a database snapshot: restore it with --database naming the restored database", m.Engine)
	}
	have, err := checkKeyFiles(dir, m)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "keyhaven.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("database snapshot: %w", err)
	}
	defer st.Close()
	inv, err := st.Inventory(ctx)
	if err != nil {
		return err
	}
	if inv.KeyPairs != m.Counts.KeyPairs || inv.EscrowedKeys != m.Counts.EscrowedKeys || inv.AuditEntries != m.Counts.AuditEntries || inv.Users != m.Counts.Users ||
		inv.Servers != m.Counts.Servers {
		return errors.New("the database snapshot's counts differ from the manifest's")
	}
	if err := checkRefs(inv.EscrowRefs, have); err != nil {
		return err
	}
	_, err = verifyAudit(ctx, st)
	return err
}

// checkPostgres checks the key files of a backup extracted into dir
// against the PostgreSQL database they are restored beside (itself
// restored with pg_dump/PITR): the database's schema is one this keyhaven
// knows, its audit chain verifies, and every local key its escrowed rows
// use is in the backup with a matching check value.
func checkPostgres(ctx context.Context, cfg Config, dir string, m *backup.Manifest) error {
	known, err := postgres.KnownSchemaVersion()
	if err != nil {
		return err
	}
	if m.Engine != "postgres" && m.Engine != "sqlite" {
		return fmt.Errorf("the backup is of an unknown engine %q", m.Engine)
	}
	have, err := checkKeyFiles(dir, m)
	if err != nil {
		return err
	}
	st, err := postgres.Open(ctx, cfg.Database, postgres.Options{})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer st.Close()
	// A data-only pg_restore into a migrated schema counts the rows again
	// on top of the restored counters: set them from the rows.
	if _, err := st.RecountKeyPairs(ctx); err != nil {
		return err
	}
	inv, err := st.Inventory(ctx)
	if err != nil {
		return err
	}
	if inv.SchemaVersion > known {
		return fmt.Errorf("the database has schema version %d, newer than this keyhaven knows (%d)", inv.SchemaVersion, known)
	}
	if err := checkRefs(inv.EscrowRefs, have); err != nil {
		return err
	}
	if err := trialOpen(ctx, dir, inv.Samples, inv.SampleUIDs); err != nil {
		return err
	}
	_, err = verifyAudit(ctx, st)
	return err
}

// trialOpen opens one escrowed private key per local key ref with the
// restored key files: a key file of the same name from another install
// has another key, which the check value alone cannot tell apart from
// the database's.
func trialOpen(ctx context.Context, dir string, samples map[string]keypair.Escrowed, uids map[string]string) error {
	if len(samples) == 0 {
		return nil
	}
	lb, err := local.Open(filepath.Join(dir, "kms-local"))
	if err != nil {
		return err
	}
	reg, err := kms.NewRegistry(local.Name, lb)
	if err != nil {
		return err
	}
	es := escrow.New(reg)
	for ref, sealed := range samples {
		if !strings.HasPrefix(ref, local.Name+"/") {
			continue
		}
		pk, err := es.Open(ctx, uids[ref], &sealed)
		if err != nil {
			return fmt.Errorf("local key %s in the backup does not open the database's escrowed keys: the database and this backup do not belong together", ref)
		}
		clear(pk)
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
