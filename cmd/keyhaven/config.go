package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keyhaven/keyhaven/api/nova"
	"github.com/keyhaven/keyhaven/identity/keystone"
	"github.com/keyhaven/keyhaven/identity/loginguard"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/server"
	"github.com/keyhaven/keyhaven/sshkey"
	"github.com/keyhaven/keyhaven/task"
)

// Config is every setting of `keyhaven serve`. Each field is loaded from,
// in rising precedence: its default, the YAML file named by --config (or
// KEYHAVEN_CONFIG), the environment variable KEYHAVEN_<NAME>, and the flag
// --<name>, where NAME and name come from the yaml tag.
type Config struct {
	Listen            string        `yaml:"listen" help:"address to listen on"`
	DataDir           string        `yaml:"data_dir" help:"directory for the database and generated secrets"`
	Database          string        `yaml:"database" help:"the database: a SQLite file path (sqlite://PATH also works; default DATA_DIR/keyhaven.db) or a postgres:// URL"`
	Auth              string        `yaml:"auth" help:"who authenticates requests: builtin (keyhaven's own Keystone-compatible identity), keystone (a remote Keystone) or static (the tokens file only)"`
	TokensFile        string        `yaml:"tokens_file" help:"static tokens file: token user-id project-id [roles] per line; with auth=builtin optional, with auth=static default DATA_DIR/tokens (created with an admin token if missing)"`
	BootstrapPassword string        `yaml:"bootstrap_password" help:"password of the admin user the built-in identity creates on first start (default: generated and printed once)"`
	TokenLifetime     time.Duration `yaml:"token_lifetime" help:"how long built-in identity tokens live"`
	TokenKeyRotation  time.Duration `yaml:"token_key_rotation" help:"how often the built-in identity makes a new token key"`
	Region            string        `yaml:"region" help:"region name in the service catalog"`
	ComputeAPI        string        `yaml:"compute_api" help:"whose rules /v2.1/{project_id}/os-keypairs follows: nova (OpenStack Nova, exactly) or huawei (Huawei ECS's edition: user_id in the create body at every microversion, names of at most 64 letters, digits, _ and -, errors in KPS's format)"`
	KeystoneURL       string        `yaml:"keystone_url" help:"with auth=keystone: the Keystone v3 endpoint that validates tokens, e.g. http://keystone:5000/v3"`
	KeystoneUsername  string        `yaml:"keystone_username" help:"with auth=keystone: keyhaven's service user"`
	KeystonePassword  string        `yaml:"keystone_password" help:"with auth=keystone: the service user's password (prefer KEYHAVEN_KEYSTONE_PASSWORD)"`
	KeystoneProject   string        `yaml:"keystone_project" help:"with auth=keystone: the service user's project"`
	KeystoneDomain    string        `yaml:"keystone_domain" help:"with auth=keystone: the domain of the service user and project"`
	KeystoneCacheTTL  time.Duration `yaml:"keystone_cache_ttl" help:"with auth=keystone: how long a token validation is reused (never past the token's expiry)"`
	KMSDefault        string        `yaml:"kms_default" help:"KMS backend that seals escrowed private keys with encryption type default: local or pkcs11"`
	PKCS11Module      string        `yaml:"pkcs11_module" help:"PKCS#11 module (.so) of the HSM; enables the pkcs11 KMS backend"`
	PKCS11Token       string        `yaml:"pkcs11_token" help:"label of the HSM token holding keyhaven's keys"`
	PKCS11PIN         string        `yaml:"pkcs11_pin" help:"user PIN of the HSM token (prefer KEYHAVEN_PKCS11_PIN)"`
	PKCS11Key         string        `yaml:"pkcs11_key" help:"label of the HSM key used when a request names none"`
	QuotaKeyPairs     int           `yaml:"quota_key_pairs" help:"key pairs a user may own; -1 for no limit"`
	KeygenConcurrency int           `yaml:"keygen_concurrency" help:"key pairs generated at once (RSA generation takes a CPU); more wait up to keygen_wait, then get 503 with Retry-After (default: CPUs minus one, at least 1)"`
	KeygenWait        time.Duration `yaml:"keygen_wait" help:"how long a key generation waits for a free slot before its request gets 503"`
	KeygenPool        int           `yaml:"keygen_pool" help:"RSA-2048 keys generated ahead of demand and kept in memory (never stored), refilled in the background under keygen_concurrency while no request waits to generate; 0 disables the pool"`
	PublicURL         string        `yaml:"public_url" help:"base URL of links, the catalog and WWW-Authenticate, when behind a proxy (default: the address the connection was accepted on, never the Host header)"`
	AuthURI           string        `yaml:"auth_uri" help:"identity endpoint advertised in 401 responses (default: PUBLIC_URL/identity)"`
	LogFormat         string        `yaml:"log_format" help:"log format: text or json"`
	LogLevel          string        `yaml:"log_level" help:"log level: debug, info, warn or error"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout" help:"how long in-flight requests may run after SIGTERM"`

	LoginFailuresPerMinute     int `yaml:"login_failures_per_minute" help:"failed password logins one client address (an IPv6 /64) may make a minute, also the burst; -1 for no limit"`
	LoginUserFailuresPerMinute int `yaml:"login_user_failures_per_minute" help:"failed password logins one user name may take a minute from all addresses but those it logged in from before, also the burst; -1 for no limit"`
	LoginConcurrency           int `yaml:"login_concurrency" help:"password checks (argon2id, 64 MiB each) run at once"`
	LoginQueue                 int `yaml:"login_queue" help:"password logins that may wait for a check; beyond it logins are answered 429"`

	MaxConnections int           `yaml:"max_connections" help:"client connections served at once; a few more are accepted to answer /healthz and refuse the rest with 503"`
	ReadTimeout    time.Duration `yaml:"read_timeout" help:"how long a client may take to send one request, headers and body"`
	HealthListen   string        `yaml:"health_listen" help:"optional second address answering /healthz only, with no connection cap, for an orchestrator (e.g. on an internal interface)"`

	LogFlushInterval  time.Duration `yaml:"log_flush_interval" help:"how often the buffered log is written out (warnings and errors are written at once); 0 writes every line at once"`
	Pprof             bool          `yaml:"pprof" help:"serve Go's profiler at /debug/pprof/, to administrators only (admin token or AK/SK)"`
	Console           bool          `yaml:"console" help:"serve the web console at /console/ (static files; it uses keyhaven's own API with the user's token)"`
	SSHWorkers        int           `yaml:"ssh_workers" help:"key pair association tasks (SSH logins to servers) this instance runs at once; more wait READY"`
	SSHQueue          int           `yaml:"ssh_queue" help:"association tasks this instance holds waiting to run (READY, their credentials in memory); beyond it associate and disassociate are answered 503"`
	SSHProjectQueue   int           `yaml:"ssh_project_queue" help:"association tasks of one project this instance holds waiting to run (more than ssh_queue counts as ssh_queue), so one project's flood leaves room for the others; beyond it that project is answered 503"`
	SSHConnectTimeout time.Duration `yaml:"ssh_connect_timeout" help:"how long an association task may take to connect to a server and finish the SSH handshake"`
	SSHTaskTimeout    time.Duration `yaml:"ssh_task_timeout" help:"how long one association task may take in all, login included"`
	ExpiryInterval    time.Duration `yaml:"expiry_interval" help:"how often each instance deletes the key pairs whose expiry passed (keyhaven's own API); at most 1m, so that none outlives its expiry by more than a minute"`
	RotationGrace     time.Duration `yaml:"rotation_grace" help:"how long a rotated key pair keeps showing its previous public key and fingerprints"`
}

func defaultConfig() Config {
	return Config{
		Listen:           "127.0.0.1:8774",
		Console:          true,
		Auth:             "builtin",
		TokenLifetime:    time.Hour,
		TokenKeyRotation: 24 * time.Hour,
		Region:           "RegionOne",
		ComputeAPI:       "nova",
		KeystoneDomain:   "Default",
		KeystoneCacheTTL: keystone.DefaultCacheTTL,
		KMSDefault:       "local",
		DataDir:          "./keyhaven-data",
		QuotaKeyPairs:    keypair.DefaultQuota,
		// GOMAXPROCS is the number of CPUs the process may use (Go reads
		// the container's CPU limit); one is left for everything else.
		KeygenConcurrency: max(runtime.GOMAXPROCS(0)-1, 1),
		KeygenWait:        keypair.DefaultGenerateWait,
		KeygenPool:        sshkey.DefaultPoolSize,
		LogFormat:         "text",
		LogLevel:          "info",
		ShutdownTimeout:   30 * time.Second,

		LoginFailuresPerMinute:     loginguard.DefaultSourceFailuresPerMinute,
		LoginUserFailuresPerMinute: loginguard.DefaultUserFailuresPerMinute,
		LoginConcurrency:           loginguard.DefaultConcurrency,
		LoginQueue:                 loginguard.DefaultQueue,
		MaxConnections:             server.DefaultMaxConnections,
		ReadTimeout:                server.DefaultReadTimeout,
		LogFlushInterval:           100 * time.Millisecond,
		SSHWorkers:                 task.DefaultWorkers,
		SSHQueue:                   task.DefaultQueue,
		SSHProjectQueue:            task.DefaultProjectQueue,
		SSHConnectTimeout:          task.DefaultConnectTimeout,
		SSHTaskTimeout:             task.DefaultTaskTimeout,
		ExpiryInterval:             15 * time.Second,
		RotationGrace:              keypair.DefaultRotationGrace,
	}
}

// envPrefix prefixes the environment variable of every setting.
const envPrefix = "KEYHAVEN_"

// loadConfig builds the configuration from args and the environment.
func loadConfig(name string, args []string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	configFile := fs.String("config", getenv(envPrefix+"CONFIG"), "optional YAML configuration file")
	fields := configFields(&cfg)
	flagVals := map[string]*string{}
	for _, f := range fields {
		help := f.help
		if d := f.get(); d != "" {
			help += " (default " + d + ")"
		}
		if f.isBool {
			v := new(string)
			fs.Var(boolFlag{v}, f.flag, help)
			flagVals[f.flag] = v
			continue
		}
		flagVals[f.flag] = fs.String(f.flag, "", help)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configFile != "" {
		data, err := os.ReadFile(*configFile)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		// An empty file decodes to io.EOF: nothing to override.
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config file %s: %w", *configFile, err)
		}
	}
	for _, f := range fields {
		if v := getenv(f.env); v != "" {
			if err := f.set(v); err != nil {
				return cfg, fmt.Errorf("%s: %w", f.env, err)
			}
		}
	}
	var ferr error
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range fields {
			if f.flag == fl.Name && ferr == nil {
				if err := f.set(*flagVals[f.flag]); err != nil {
					ferr = fmt.Errorf("--%s: %w", f.flag, err)
				}
			}
		}
	})
	if ferr != nil {
		return cfg, ferr
	}
	return cfg, cfg.validate()
}

// field is one setting, reached by reflection so that the flag, the
// environment variable and the YAML key cannot drift apart.
type field struct {
	flag, env, help string
	get             func() string
	set             func(string) error
	isBool          bool
}

// boolFlag lets a boolean setting be given as a bare --name (or
// --name=false), and keeps its value as text for field.set.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolFlag) Set(s string) error { *b.v = s; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

func configFields(cfg *Config) []field {
	var out []field
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf, fv := t.Field(i), v.Field(i)
		key := sf.Tag.Get("yaml")
		f := field{
			flag: strings.ReplaceAll(key, "_", "-"),
			env:  envPrefix + strings.ToUpper(key),
			help: sf.Tag.Get("help"),
			get:  func() string { return fmt.Sprint(fv.Interface()) },
		}
		switch fv.Interface().(type) {
		case string:
			f.set = func(s string) error { fv.SetString(s); return nil }
		case int:
			f.set = func(s string) error {
				n, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("%q is not a whole number", s)
				}
				fv.SetInt(int64(n))
				return nil
			}
		case bool:
			f.isBool = true
			f.set = func(s string) error {
				b, err := strconv.ParseBool(s)
				if err != nil {
					return fmt.Errorf("%q is not true or false", s)
				}
				fv.SetBool(b)
				return nil
			}
		case time.Duration:
			f.set = func(s string) error {
				d, err := time.ParseDuration(s)
				if err != nil {
					return fmt.Errorf("%q is not a duration such as 30s", s)
				}
				fv.SetInt(int64(d))
				return nil
			}
		}
		out = append(out, f)
	}
	return out
}

// validate checks the configuration once, at start-up, with messages that
// say which setting is wrong and what would be right.
func (c *Config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %q is not host:port", c.Listen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if c.QuotaKeyPairs < keypair.Unlimited {
		errs = append(errs, fmt.Errorf("quota_key_pairs: %d; want -1 (no limit) or a number from 0 up", c.QuotaKeyPairs))
	}
	if c.KeygenConcurrency < 1 {
		errs = append(errs, fmt.Errorf("keygen_concurrency: %d; want 1 or more", c.KeygenConcurrency))
	}
	if c.KeygenPool < 0 || c.KeygenPool > 100000 {
		errs = append(errs, fmt.Errorf("keygen_pool: %d; want 0 (no pool) up to 100000", c.KeygenPool))
	}
	if c.KeygenWait < 0 || c.KeygenWait > time.Minute {
		errs = append(errs, fmt.Errorf("keygen_wait: %s; want from 0 (refuse at once) up to 1m", c.KeygenWait))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format: %q; want text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q; want debug, info, warn or error", c.LogLevel))
	}
	switch c.Auth {
	case "builtin", "static":
	case "keystone":
		for _, k := range []struct{ name, v string }{{"keystone_url", c.KeystoneURL}, {"keystone_username", c.KeystoneUsername},
			{"keystone_password", c.KeystonePassword}, {"keystone_project", c.KeystoneProject}} {
			if k.v == "" {
				errs = append(errs, fmt.Errorf("%s: required with auth=keystone", k.name))
			}
		}
		if c.KeystoneCacheTTL <= 0 {
			errs = append(errs, errors.New("keystone_cache_ttl: must be positive"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth: %q; want builtin, static or keystone", c.Auth))
	}
	if c.TokenLifetime < time.Minute {
		errs = append(errs, fmt.Errorf("token_lifetime: %s; want at least 1m", c.TokenLifetime))
	}
	// Three keys are kept, so a token must expire before its key is
	// forgotten two rotations later.
	if c.TokenKeyRotation*2 <= c.TokenLifetime {
		errs = append(errs, fmt.Errorf("token_key_rotation: %s; want more than half of token_lifetime (%s)", c.TokenKeyRotation, c.TokenLifetime))
	}
	switch {
	case c.KMSDefault != "local" && c.KMSDefault != "pkcs11":
		errs = append(errs, fmt.Errorf("kms_default: %q; want local or pkcs11", c.KMSDefault))
	case c.KMSDefault == "pkcs11" && c.PKCS11Module == "":
		errs = append(errs, errors.New("kms_default: pkcs11 needs pkcs11_module"))
	}
	if c.PKCS11Module != "" && (c.PKCS11Token == "" || c.PKCS11PIN == "" || c.PKCS11Key == "") {
		errs = append(errs, errors.New("pkcs11_module: also set pkcs11_token, pkcs11_pin (or KEYHAVEN_PKCS11_PIN) and pkcs11_key"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("region: must not be empty"))
	}
	if c.ComputeAPI != string(nova.ModeNova) && c.ComputeAPI != string(nova.ModeHuawei) {
		errs = append(errs, fmt.Errorf("compute_api: %q; want nova or huawei", c.ComputeAPI))
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"login_failures_per_minute", c.LoginFailuresPerMinute}, {"login_user_failures_per_minute", c.LoginUserFailuresPerMinute}} {
		if l.v < 1 && l.v != -1 {
			errs = append(errs, fmt.Errorf("%s: %d; want -1 (no limit) or a number from 1 up", l.name, l.v))
		}
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"login_concurrency", c.LoginConcurrency}, {"login_queue", c.LoginQueue}, {"max_connections", c.MaxConnections}} {
		if l.v < 1 {
			errs = append(errs, fmt.Errorf("%s: %d; want a number from 1 up", l.name, l.v))
		}
	}
	if c.HealthListen != "" {
		if _, _, err := net.SplitHostPort(c.HealthListen); err != nil {
			errs = append(errs, fmt.Errorf("health_listen: %q is not host:port", c.HealthListen))
		}
	}
	if c.ReadTimeout < time.Second {
		errs = append(errs, fmt.Errorf("read_timeout: %s; want at least 1s", c.ReadTimeout))
	}
	if c.LogFlushInterval < 0 || c.LogFlushInterval > 10*time.Second {
		errs = append(errs, fmt.Errorf("log_flush_interval: %s; want from 0 (no buffering) up to 10s", c.LogFlushInterval))
	}
	if c.SSHWorkers < 1 || c.SSHWorkers > 1024 {
		errs = append(errs, fmt.Errorf("ssh_workers: %d; want a number from 1 to 1024", c.SSHWorkers))
	}
	if c.SSHQueue < 1 || c.SSHQueue > 1000000 {
		errs = append(errs, fmt.Errorf("ssh_queue: %d; want a number from 1 to 1000000", c.SSHQueue))
	}
	if c.SSHProjectQueue < 1 || c.SSHProjectQueue > 1000000 {
		errs = append(errs, fmt.Errorf("ssh_project_queue: %d; want a number from 1 to 1000000 (more than ssh_queue counts as ssh_queue)", c.SSHProjectQueue))
	}
	if c.SSHConnectTimeout < time.Second {
		errs = append(errs, fmt.Errorf("ssh_connect_timeout: %s; want at least 1s", c.SSHConnectTimeout))
	}
	if c.SSHTaskTimeout < c.SSHConnectTimeout {
		errs = append(errs, fmt.Errorf("ssh_task_timeout: %s; want at least ssh_connect_timeout (%s)", c.SSHTaskTimeout, c.SSHConnectTimeout))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout: must be positive"))
	}
	if c.ExpiryInterval < 100*time.Millisecond || c.ExpiryInterval > time.Minute {
		errs = append(errs, fmt.Errorf("expiry_interval: %s; want 100ms to 1m", c.ExpiryInterval))
	}
	if c.RotationGrace <= 0 {
		errs = append(errs, errors.New("rotation_grace: must be positive"))
	}
	for _, u := range []struct{ name, v string }{{"public_url", c.PublicURL}, {"auth_uri", c.AuthURI}, {"keystone_url", c.KeystoneURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", u.name, u.v))
		}
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "keyhaven.db")
	}
	if c.TokensFile == "" && c.Auth == "static" {
		c.TokensFile = filepath.Join(c.DataDir, "tokens")
	}
	return errors.Join(errs...)
}
