package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	identityapi "github.com/keyhaven/keyhaven/api/identity"
	"github.com/keyhaven/keyhaven/api/kps"
	"github.com/keyhaven/keyhaven/api/native"
	"github.com/keyhaven/keyhaven/api/nova"
	"github.com/keyhaven/keyhaven/escrow"
	"github.com/keyhaven/keyhaven/identity"
	"github.com/keyhaven/keyhaven/identity/aksk"
	"github.com/keyhaven/keyhaven/identity/keystone"
	"github.com/keyhaven/keyhaven/identity/statictoken"
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
