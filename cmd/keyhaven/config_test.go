package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "keyhaven.yaml")
	if err := os.WriteFile(yml, []byte("listen: 127.0.0.1:9000\nquota_key_pairs: 5\nlog_format: json\nshutdown_timeout: 5s\ndata_dir: /from/yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"KEYHAVEN_CONFIG":          yml,
		"KEYHAVEN_QUOTA_KEY_PAIRS": "7",
		"KEYHAVEN_LOG_FORMAT":      "text",
	}
	cfg, err := loadConfig("t", []string{"--quota-key-pairs", "9"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.QuotaKeyPairs != 9 || cfg.LogFormat != "text" || cfg.ShutdownTimeout != 5*time.Second || cfg.DataDir != "/from/yaml" {
		t.Fatalf("flags > env > yaml > defaults broken: %+v", cfg)
	}
	if cfg.Database != "/from/yaml/keyhaven.db" || cfg.TokensFile != "" {
		t.Fatalf("derived paths: %+v", cfg)
	}
	static, err := loadConfig("t", []string{"--auth", "static", "--data-dir", "/d"}, func(string) string { return "" })
	if err != nil || static.TokensFile != "/d/tokens" {
		t.Fatalf("static auth tokens file: %+v %v", static, err)
	}

	def, err := loadConfig("t", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if def.Listen != "127.0.0.1:8774" || def.DataDir != "./keyhaven-data" || def.QuotaKeyPairs != 100 {
		t.Fatalf("defaults: %+v", def)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("colour: blue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		env  map[string]string
		want string // substring of the error; "" means valid
	}{
		{[]string{"--config", empty}, nil, ""},
		{[]string{"--listen", "nowhere"}, nil, `listen: "nowhere" is not host:port`},
		{[]string{"--quota-key-pairs", "-5"}, nil, "quota_key_pairs: -5"},
		{[]string{"--quota-key-pairs", "many"}, nil, `--quota-key-pairs: "many" is not a whole number`},
		{nil, map[string]string{"KEYHAVEN_QUOTA_KEY_PAIRS": "x"}, `KEYHAVEN_QUOTA_KEY_PAIRS: "x" is not a whole number`},
		{[]string{"--log-format", "xml"}, nil, `log_format: "xml"; want text or json`},
		{[]string{"--log-level", "loud"}, nil, "log_level"},
		{[]string{"--shutdown-timeout", "soon"}, nil, "is not a duration"},
		{[]string{"--public-url", "ftp://x"}, nil, "public_url"},
		{[]string{"--config", bad}, nil, "field colour not found"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, nil, "config file"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{[]string{"--auth", "ldap"}, nil, `auth: "ldap"; want builtin, static or keystone`},
		{[]string{"--auth", "keystone"}, nil, "keystone_url: required with auth=keystone"},
		{[]string{"--auth", "keystone", "--keystone-url", "http://k/v3", "--keystone-username", "u", "--keystone-project", "p"}, nil, "keystone_password: required"},
		{[]string{"--auth", "keystone", "--keystone-url", "http://k/v3", "--keystone-username", "u", "--keystone-project", "p"}, map[string]string{"KEYHAVEN_KEYSTONE_PASSWORD": "pw"}, ""},
		{[]string{"--auth", "keystone", "--keystone-url", "k:5000"}, nil, "keystone_url"},
		{[]string{"--token-lifetime", "10s"}, nil, "token_lifetime"},
		{[]string{"--token-lifetime", "2h", "--token-key-rotation", "1h"}, nil, "token_key_rotation"},
		{[]string{"--nope"}, nil, "flag provided but not defined"},
		{[]string{"--login-failures-per-minute", "0"}, nil, "login_failures_per_minute: 0; want -1 (no limit) or a number from 1 up"},
		{[]string{"--login-user-failures-per-minute", "-1", "--login-failures-per-minute", "-1"}, nil, ""},
		{nil, map[string]string{"KEYHAVEN_LOGIN_USER_FAILURES_PER_MINUTE": "-3"}, "login_user_failures_per_minute: -3"},
		{[]string{"--login-queue", "0"}, nil, "login_queue: 0; want a number from 1 up"},
		{[]string{"--login-concurrency", "0"}, nil, "login_concurrency"},
		{[]string{"--max-connections", "0"}, nil, "max_connections: 0"},
		{[]string{"--read-timeout", "10ms"}, nil, "read_timeout: 10ms; want at least 1s"},
		{[]string{"--health-listen", "9000"}, nil, `health_listen: "9000" is not host:port`},
		{[]string{"--ssh-workers", "0"}, nil, "ssh_workers: 0; want a number from 1 to 1024"},
		{[]string{"--ssh-queue", "0"}, nil, "ssh_queue: 0; want a number from 1 to 1000000"},
		{[]string{"--ssh-project-queue", "0"}, nil, "ssh_project_queue: 0; want a number from 1 to 1000000 (more than ssh_queue counts as ssh_queue)"},
		{nil, map[string]string{"KEYHAVEN_SSH_WORKERS": "many"}, `KEYHAVEN_SSH_WORKERS: "many" is not a whole number`},
		{[]string{"--ssh-connect-timeout", "100ms"}, nil, "ssh_connect_timeout: 100ms; want at least 1s"},
		{[]string{"--ssh-connect-timeout", "30s", "--ssh-task-timeout", "20s"}, nil, "ssh_task_timeout: 20s; want at least ssh_connect_timeout (30s)"},
		{[]string{"--ssh-workers", "2", "--ssh-connect-timeout", "3s", "--ssh-task-timeout", "5s"}, nil, ""},
	}
	for _, tt := range tests {
		_, err := loadConfig("t", tt.args, func(k string) string { return tt.env[k] })
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v %v: got %v, want %q", tt.args, tt.env, err, tt.want)
		}
	}
}
