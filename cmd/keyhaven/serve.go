package main

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
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	identityapi "github.com/keyhaven/keyhaven/api/identity"
	"github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/api/native"
	"github.com/keyhaven/keyhaven/api/nova"
	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
	"github.com/keyhaven/keyhaven/identity/builtin"
	"github.com/keyhaven/keyhaven/identity/keystone"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/identity/password"
	"github.com/keyhaven/keyhaven/identity/statictoken"
	"github.com/keyhaven/keyhaven/identity/token"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/metrics"
	"github.com/keyhaven/keyhaven/server"
	"github.com/keyhaven/keyhaven/sshpush"
	"github.com/keyhaven/keyhaven/store/postgres"
	"github.com/keyhaven/keyhaven/store/sqlite"
	"github.com/keyhaven/keyhaven/task"
	"github.com/keyhaven/keyhaven/web"
)

// dataStore is what every store engine provides: key pairs and the audit
// log, the built-in identity's objects, the AK/SK signatures seen, and the
// server inventory with the association tasks.
type dataStore interface {
	keypair.Store
	identity.Store
	identity.SignatureLedger
	task.Store
}

// instanceName names this process in the audit entries of its expiry
// reaper: host and process id.
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("expiry@%s:%d", host, os.Getpid())
}

// isPostgres reports whether a database setting names PostgreSQL.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the configured database: PostgreSQL for a postgres://
// URL, otherwise a SQLite file. It also creates the data directory (mode
// 0700: it holds secrets).
func openStore(ctx context.Context, cfg Config) (dataStore, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if isPostgres(cfg.Database) {
		return postgres.Open(ctx, cfg.Database, postgres.Options{})
	}
	path := strings.TrimPrefix(cfg.Database, "sqlite://")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("database dir: %w", err)
	}
	// Create the file ourselves so that it is private from its first byte;
	// SQLite would create it world-readable under the usual umask, and its
	// -wal and -shm files copy the database file's mode.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	f.Close()
	return sqlite.Open(ctx, path, sqlite.Options{})
}

func migrate(ctx context.Context, cfg Config, stderr io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "keyhaven: the database is up to date")
	return st.Close()
}

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

// serve runs the service until ctx is done. ready, when not nil, receives
// the listening address once requests can be served.
func serve(ctx context.Context, cfg Config, stderr io.Writer, ready chan<- string) error {
	log, stopLog := bufferedLogger(cfg, stderr)
	defer stopLog()
	promReg := prometheus.NewRegistry()
	m := metrics.New(promReg)
	if err := tightenDataDir(cfg.DataDir, log, stderr); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// A store that commits writes in groups reports each group's size.
	if b, ok := st.(interface{ SetBatchObserver(func(int)) }); ok {
		b.SetBatchObserver(m.ObserveBatch)
	}

	health := func(ctx context.Context) error { _, err := st.CountKeyPairs(ctx, ""); return err }
	var tokenAuth identity.Chain
	var auth identity.Authenticator = tokenAuth
	if cfg.Auth == "static" {
		if err := ensureTokens(cfg.TokensFile, log, stderr); err != nil {
			return err
		}
	}
	if cfg.TokensFile != "" {
		static, err := statictoken.Load(cfg.TokensFile)
		if err != nil {
			return err
		}
		warnTokensFile(cfg.TokensFile, log, stderr)
		tokenAuth = append(tokenAuth, static)
	}
	auth = m.Authenticator("token", tokenAuth)
	var identityHandler http.Handler
	// access answers, for the built-in identity, whether a task's user
	// still may act when the task comes to run.
	var access task.Access
	if cfg.Auth == "builtin" {
		idsvc, ring, err := openBuiltin(ctx, cfg, st, log, stderr)
		if err != nil {
			return err
		}
		access = idsvc
		tokenAuth = append(tokenAuth, idsvc)
		// AK/SK-signed requests (the Huawei Cloud SDK's scheme) are
		// verified against the built-in identity's EC2 credentials.
		auth = identity.Select{When: aksk.Applies, Then: m.Authenticator("aksk", aksk.New(aksk.Config{Secrets: idsvc, Ledger: st})),
			Else: m.Authenticator("token", tokenAuth)}
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		go maintain(mctx, idsvc, ring, cfg.TokenKeyRotation, log)
		identityHandler = identityapi.New(identityapi.Config{
			Identity: idsvc, Region: cfg.Region, PublicURL: cfg.PublicURL, Log: log, Health: health,
			Catalog: []identityapi.Service{
				{Type: "identity", Name: "keystone", Path: "/identity"},
				{Type: "compute", Name: "nova", Path: "/v2.1"},
				{Type: "kps", Name: "kps", Path: "/v3"},
			},
		})
	}

	authURI := cfg.AuthURI
	if cfg.Auth == "keystone" {
		ks, err := keystone.New(keystone.Config{
			URL: cfg.KeystoneURL, Username: cfg.KeystoneUsername, Password: cfg.KeystonePassword,
			Project: cfg.KeystoneProject, Domain: cfg.KeystoneDomain, CacheTTL: cfg.KeystoneCacheTTL,
		})
		if err != nil {
			return err
		}
		tokenAuth = append(tokenAuth, ks)
		// AK/SK secrets come from Keystone's EC2 credentials.
		auth = identity.Select{When: aksk.Applies, Then: m.Authenticator("aksk", aksk.New(aksk.Config{Secrets: ks, Ledger: st})),
			Else: m.Authenticator("token", tokenAuth)}
		if authURI == "" {
			authURI = strings.TrimSuffix(strings.TrimRight(cfg.KeystoneURL, "/"), "/v3")
		}
	}

	reg, err := openKMS(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer reg.Close()
	genLimit := keypair.NewGenerateLimit(cfg.KeygenConcurrency, cfg.KeygenWait)
	pool, stopPool := startPool(cfg, genLimit, log)
	defer stopPool()
	m.KeyPool(pool.Len, pool.Cap)
	m.GenerateQueue(genLimit.Running, genLimit.Waiting, genLimit.Capacity)
	svc := keypair.NewService(keypair.Config{Store: m.Store(st), Quota: cfg.QuotaKeyPairs, Escrow: m.Escrow(escrow.New(reg)),
		GenerateLimit: genLimit, Pool: pool, RotationGrace: cfg.RotationGrace})
	var debug http.Handler
	if cfg.Pprof {
		debug = server.AdminOnly(auth, server.Pprof())
		log.Warn("profiling is served at /debug/pprof/ to administrators (--pprof)")
	}
	exec := sshpush.New(sshpush.Config{Logger: log.With("component", "sshpush")})
	tasks, stopTasks := startTasks(ctx, cfg, st, exec, svc, access, log)
	defer stopTasks() // before the store closes: the pool writes its tasks' outcomes
	// The reaper stops, and is waited for, before the store closes.
	rctx, stopReaper := context.WithCancel(ctx)
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		svc.RunReaper(rctx, cfg.ExpiryInterval, instanceName(), func(err error) {
			log.Error("deleting expired key pairs", "error", err)
		})
	}()
	defer func() { stopReaper(); <-reaped }()
	var console http.Handler
	if cfg.Console {
		console = web.New()
	}
	srv := server.New(server.Config{
		Nova: nova.New(nova.Config{
			Service: svc, Auth: auth, Log: log,
			PublicURL: cfg.PublicURL, AuthURI: authURI, Health: health,
			Mode: nova.Mode(cfg.ComputeAPI),
		}),
		Identity:        identityHandler,
		KPS:             kps.New(kps.Config{Service: svc, Auth: auth, Log: log, Health: health, Tasks: tasks}),
		Native:          native.New(native.Config{Service: svc, Auth: auth, Log: log, Health: health}),
		Console:         console,
		Health:          health,
		Log:             log,
		ShutdownTimeout: cfg.ShutdownTimeout,
		MaxConnections:  cfg.MaxConnections,
		ReadTimeout:     cfg.ReadTimeout,
		Observer:        m,
		Metrics:         m.Handler(),
		Debug:           debug,
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	if cfg.HealthListen != "" {
		hln, err := net.Listen("tcp", cfg.HealthListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("health_listen: %w", err)
		}
		log.Info("health checks served apart", "addr", hln.Addr().String())
		go func() {
			if err := srv.ServeHealth(ctx, hln); err != nil {
				log.Error("health listener", "error", err)
			}
		}()
	}
	dbName := cfg.Database
	if isPostgres(dbName) {
		dbName = "postgres" // the URL may hold a password
	}
	log.Info("keyhaven serving", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "database", dbName, "auth", cfg.Auth)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && cfg.PublicURL == "" && tcp.IP.IsUnspecified() {
		log.Warn("listening on every address without --public-url: links and the catalog name the address each client connected to; set --public-url if clients come through a proxy or NAT")
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	err = srv.Serve(ctx, ln)
	log.Info("keyhaven stopped")
	return err
}
