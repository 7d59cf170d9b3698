package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/backup"
	"github.com/keyhaven/keyhaven/kms/local"
	"github.com/keyhaven/keyhaven/store/postgres"
	"github.com/keyhaven/keyhaven/store/sqlite"
)

// passphraseEnv names the environment variable holding the backup
// passphrase when --passphrase-file is not given.
const passphraseEnv = "KEYHAVEN_BACKUP_PASSPHRASE"

const backupUsage = `Usage:
  keyhaven backup  --to FILE [--passphrase-file FILE] [serve flags]
  keyhaven restore --from FILE --data-dir DIR [--passphrase-file FILE] [serve flags]

The passphrase comes from --passphrase-file or KEYHAVEN_BACKUP_PASSPHRASE.
`

// takeFlag removes --name VALUE or --name=VALUE from args, so the rest
// can go to loadConfig.
func takeFlag(args []string, name string) (string, []string) {
	var val string
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		a = strings.TrimPrefix(a, "-")
		switch {
		case a == name && i+1 < len(args):
			val = args[i+1]
			i++
		case strings.HasPrefix(a, name+"="):
			val = strings.TrimPrefix(a, name+"=")
		default:
			rest = append(rest, args[i])
		}
	}
	return val, rest
}

// passphrase reads the operator's passphrase from file or the environment.
func passphrase(file string, getenv func(string) string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return nil, errors.New("passphrase file is empty")
		}
		return []byte(p), nil
	}
	if p := getenv(passphraseEnv); p != "" {
		return []byte(p), nil
	}
	return nil, fmt.Errorf("no passphrase: set %s or pass --passphrase-file", passphraseEnv)
}

// archiveArgs takes what backup and restore share from args: the archive
// file (flag fileFlag, required), the passphrase and the configuration.
func archiveArgs(cmd, fileFlag string, args []string, getenv func(string) string, stderr io.Writer) (string, []byte, Config, error) {
	file, args := takeFlag(args, fileFlag)
	pf, args := takeFlag(args, "passphrase-file")
	if file == "" {
		fmt.Fprint(stderr, backupUsage)
		return "", nil, Config{}, fmt.Errorf("%s: --%s FILE is required", cmd, fileFlag)
	}
	pass, err := passphrase(pf, getenv)
	if err != nil {
		return "", nil, Config{}, fmt.Errorf("%s: %w", cmd, err)
	}
	cfg, err := loadConfig("keyhaven "+cmd, args, getenv)
	return file, pass, cfg, err
}

// backupCommand runs `keyhaven backup`.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	to, pass, cfg, err := archiveArgs("backup", "to", args, getenv, stderr)
	if err != nil {
		return err
	}
	if isPostgres(cfg.Database) {
		return backupPostgres(ctx, cfg, to, pass, stderr)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	// The plaintext snapshot stays inside the data directory, as private
	// as the database, whatever file system --to is on.
	tmp, err := os.MkdirTemp(cfg.DataDir, ".backup-")
	if err != nil {
		st.Close()
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, "keyhaven.db")
	err = st.(*sqlite.Store).SnapshotTo(ctx, snap)
	st.Close()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m, err := inventory(ctx, snap)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m.KeyhavenVersion, m.CreatedAt, m.Engine, m.Database = version, time.Now().UTC(), "sqlite", true
	files, err := keyFiles(cfg, m)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	files = append([]member{{"keyhaven.db", snap}}, files...)
	return finishBackup(to, pass, m, files, stderr)
}

// backupPostgres writes the key files and a manifest of the database: the
// database itself is backed up with pg_dump or PITR (docs/backup.md). The
// inventory is read before the key files, which are never removed, so
// every local key the database used then is in the archive.
func backupPostgres(ctx context.Context, cfg Config, to string, pass []byte, stderr io.Writer) error {
	st, err := postgres.Open(ctx, cfg.Database, postgres.Options{})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer st.Close()
	inv, err := st.Inventory(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m := manifestOf(inv.SchemaVersion, backup.Counts{KeyPairs: inv.KeyPairs, EscrowedKeys: inv.EscrowedKeys, AuditEntries: inv.AuditEntries, Users: inv.Users, Servers: inv.Servers}, inv.EscrowRefs)
	m.KeyhavenVersion, m.CreatedAt, m.Engine = version, time.Now().UTC(), "postgres"
	files, err := keyFiles(cfg, m)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return finishBackup(to, pass, m, files, stderr)
}

// finishBackup writes the archive and reports what it holds.
func finishBackup(to string, pass []byte, m *backup.Manifest, files []member, stderr io.Writer) error {
	if err := writeArchive(to, pass, m, files, stderr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stderr, "keyhaven: backup written to %s: %d key pairs, %d escrowed keys, %d audit entries, %d users, %d servers, %d local keys\n",
		to, m.Counts.KeyPairs, m.Counts.EscrowedKeys, m.Counts.AuditEntries, m.Counts.Users, m.Counts.Servers, len(m.LocalKeys))
	for _, h := range m.HSMKeys {
		fmt.Fprintf(stderr, "keyhaven: HSM key %s is not in the backup: it must be present where this backup is restored\n", h)
	}
	return nil
}

// inventory opens a snapshot and fills a manifest from it, after checking
// its audit hash chain.
func inventory(ctx context.Context, snap string) (*backup.Manifest, error) {
	st, err := sqlite.Open(ctx, snap, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	inv, err := st.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := verifyAudit(ctx, st); err != nil {
		return nil, fmt.Errorf("%w: a restore would refuse this backup; see keyhaven audit verify", err)
	}
	return manifestOf(inv.SchemaVersion, backup.Counts{KeyPairs: inv.KeyPairs, EscrowedKeys: inv.EscrowedKeys, AuditEntries: inv.AuditEntries, Users: inv.Users, Servers: inv.Servers}, inv.EscrowRefs), nil
}

// manifestOf starts a manifest from a database's inventory.
func manifestOf(schema int, counts backup.Counts, refs []string) *backup.Manifest {
	m := &backup.Manifest{SchemaVersion: schema, Counts: counts, KMSRefs: refs}
	for _, r := range refs {
		if strings.HasPrefix(r, "pkcs11/") {
			m.HSMKeys = append(m.HSMKeys, r)
		}
	}
	return m
}

// member is one file going into an archive.
type member struct{ name, path string }

// keyFiles lists the key material of the data directory and records the
// local keys, with their check values, in m. It runs after the snapshot:
// key files are never removed, so every local key the snapshot uses is
// there.
func keyFiles(cfg Config, m *backup.Manifest) ([]member, error) {
	var out []member
	for _, sub := range []string{"kms-local", "token-keys"} {
		entries, err := os.ReadDir(filepath.Join(cfg.DataDir, sub))
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(cfg.DataDir, sub, e.Name())
			name := sub + "/" + e.Name()
			out = append(out, member{name, p})
			if sub != "kms-local" {
				continue
			}
			if ref, ok := local.KeyFileRef(e.Name()); ok {
				data, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				key, err := local.DecodeKeyFile(data)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				m.LocalKeys = append(m.LocalKeys, backup.LocalKey{Ref: ref, File: name, KCV: backup.KCV(key)})
				clear(key)
			}
		}
	}
	have := map[string]bool{}
	for _, k := range m.LocalKeys {
		have[k.Ref] = true
	}
	for _, r := range m.KMSRefs {
		if strings.HasPrefix(r, local.Name+"/") && !have[r] {
			return nil, fmt.Errorf("the database uses local key %s but %s holds no file for it", r, filepath.Join(cfg.DataDir, "kms-local"))
		}
	}
	for _, f := range []string{"credential.key", "tokens"} {
		p := filepath.Join(cfg.DataDir, f)
		if f == "tokens" && cfg.TokensFile != "" && filepath.Clean(cfg.TokensFile) != filepath.Clean(p) {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, member{f, p})
		}
	}
	return out, nil
}

// writeArchive writes the archive to a temporary file beside to and
// renames it into place once complete and synced.
func writeArchive(to string, pass []byte, m *backup.Manifest, files []member, stderr io.Writer) error {
	f, err := os.CreateTemp(filepath.Dir(to), ".keyhaven-backup-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	var out io.Writer = f
	if isTerminal(stderr) {
		p := &progress{w: f, to: stderr, last: time.Now()}
		defer p.done()
		out = p
	}
	w, err := backup.NewWriter(out, pass, backup.DefaultKDF)
	if err != nil {
		return err
	}
	for _, mb := range files {
		if err := w.AddFile(mb.name, mb.path); err != nil {
			return err
		}
	}
	if err := w.Close(m); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), to)
}

// isTerminal reports whether w is a terminal, where progress is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress counts the bytes written and reports them once a second.
type progress struct {
	w    io.Writer
	to   io.Writer
	n    int64
	last time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if time.Since(p.last) > time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.to, "\rkeyhaven: backup: %d MiB written", p.n>>20)
	}
	return n, err
}

func (p *progress) done() {
	if p.n >= 1<<20 {
		fmt.Fprintf(p.to, "\rkeyhaven: backup: %d MiB written\n", p.n>>20)
	}
}
