package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/loadgen"
)

// loadUsage explains `keyhaven load`.
const loadUsage = `Usage: keyhaven load --target NAME=URL [--target NAME=URL ...] [flags]

Drives running key pair services (keyhaven, or real Nova for comparison)
for a bounded time per operation and prints one table: operation, target,
req/s, p50, p99, max, errors and, with several targets, the ratio to the
baseline target. Key pairs to show, list and delete are made before timing.
Targets must be on loopback unless --allow-remote is given.

Example (keyhaven with a static token, Nova with noauth2):
  keyhaven load --duration 10s --connections 8 \
    --target keyhaven=http://127.0.0.1:8774 --token keyhaven=$TOKEN \
    --target nova=http://127.0.0.1:18774 --token nova=admin:$PROJECT \
    --project-id $PROJECT_OF_TOKEN --ops import,show,list,delete,generate

Flags:
`

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// loadCommand is `keyhaven load`.
func loadCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keyhaven load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, loadUsage); fs.PrintDefaults() }
	var targets, tokens multiFlag
	fs.Var(&targets, "target", "a server to load, NAME=URL (or a URL, named keyhaven); repeat for several")
	fs.Var(&tokens, "token", "static token (auth token): TOKEN for every target, or NAME=TOKEN for one; repeat")
	cfg := loadgen.Config{}
	fs.StringVar(&cfg.Auth, "auth", loadgen.AuthToken, "how to authenticate: token, keystone (log in with --username/--password) or aksk (--ak/--sk)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each operation runs against each target")
	fs.IntVar(&cfg.Connections, "connections", 8, "requests in flight at once per operation")
	fs.IntVar(&cfg.Requests, "requests", 0, "end each operation after this many requests, even before --duration (0: no limit)")
	ops := fs.String("ops", strings.Join(loadgen.DefaultOperations, ","), "operations to run, in order; also healthz (GET /healthz: the ceiling of a request that does nothing)")
	fs.StringVar(&cfg.Baseline, "baseline", "", "target the ratio column compares with (default: the last target)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow targets that are not on loopback")
	fs.IntVar(&cfg.DeleteSetup, "delete-setup", 2000, "key pairs delete makes first when no import ran before it")
	cr := &cfg.Credentials
	fs.StringVar(&cr.Username, "username", "", "user for keystone auth and the login operation")
	fs.StringVar(&cr.Password, "password", getenv(envPrefix+"LOAD_PASSWORD"), "its password (prefer KEYHAVEN_LOAD_PASSWORD)")
	fs.StringVar(&cr.Project, "project", "", "project name to scope logins to")
	fs.StringVar(&cr.Domain, "domain", "Default", "domain name of the user and project")
	fs.StringVar(&cr.ProjectID, "project-id", "", "project id of KPS paths (default with keystone auth: the token's project)")
	fs.StringVar(&cr.AccessKey, "ak", "", "access key for aksk auth")
	fs.StringVar(&cr.SecretKey, "sk", getenv(envPrefix+"LOAD_SK"), "secret key for aksk auth (prefer KEYHAVEN_LOAD_SK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected argument %q", fs.Arg(0))
	}
	for _, t := range targets {
		name, u, ok := strings.Cut(t, "=")
		if !ok {
			name, u = "keyhaven", t
		}
		cfg.Targets = append(cfg.Targets, loadgen.Target{Name: name, URL: u})
	}
	for _, tok := range tokens {
		matched := false
		if name, v, ok := strings.Cut(tok, "="); ok {
			for i := range cfg.Targets {
				if cfg.Targets[i].Name == name {
					cfg.Targets[i].Token, matched = v, true
				}
			}
		}
		if !matched {
			cfg.Token = tok
		}
	}
	if *ops != "" {
		cfg.Operations = strings.Split(*ops, ",")
	}
	results, err := loadgen.Run(ctx, cfg, stderr)
	if len(results) > 0 {
		baseline := cfg.Baseline
		if baseline == "" {
			baseline = cfg.Targets[len(cfg.Targets)-1].Name
		}
		if perr := loadgen.Print(stdout, results, baseline); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}
