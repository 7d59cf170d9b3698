package keystone

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:5000/v3/", Username: "kh", Password: "hunter2-pass", Project: "service"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" for no error
	}{
		{"valid", func(*Config) {}, ""},
		{"no URL", func(c *Config) { c.URL = "" }, "URL is required"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://h/v3" }, "must start with http:// or https://"},
		{"no host", func(c *Config) { c.URL = "http:///v3" }, "has no host"},
		{"not v3", func(c *Config) { c.URL = "http://h:5000" }, "must be the v3 endpoint, ending in /v3 (e.g. http://h:5000/v3)"},
		{"query", func(c *Config) { c.URL = "http://h/v3?x=1" }, "must not have a query"},
		{"userinfo", func(c *Config) { c.URL = "http://u:secretpw@h/v3" }, "must not hold credentials"},
		{"no username", func(c *Config) { c.Username = "" }, "Username is required"},
		{"no password", func(c *Config) { c.Password = "" }, "Password is required"},
		{"no project", func(c *Config) { c.Project = "" }, "Project is required"},
		{"negative TTL", func(c *Config) { c.CacheTTL = -time.Second }, "CacheTTL must not be negative"},
		{"negative max", func(c *Config) { c.MaxCacheEntries = -1 }, "MaxCacheEntries must not be negative"},
		{"several", func(c *Config) { c.Username, c.Project = "", "" }, "Username is required (keyhaven's service account); Project is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			c, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				got := c.cfg
				if got.URL != "http://127.0.0.1:5000/v3" || got.Domain != DefaultDomain || got.CacheTTL != DefaultCacheTTL ||
					got.MaxCacheEntries != DefaultMaxCacheEntries || got.HTTPClient == nil || got.Now == nil {
					t.Errorf("defaults not applied: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: error %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "keystone: invalid config: ") {
				t.Errorf("error %q lacks the keystone: invalid config: prefix", err)
			}
			if strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "hunter2-pass") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}
