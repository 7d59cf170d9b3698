package keystone

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	// DefaultDomain is the domain of the service account and its project.
	DefaultDomain = "Default"
	// DefaultCacheTTL is how long a validated token or an EC2 credential is
	// trusted without asking Keystone again. It is short because it is how
	// long a token revoked, or a user disabled, in Keystone keeps working
	// here (keystonemiddleware's 300 s is far longer than an escrow
	// service should allow).
	DefaultCacheTTL = 10 * time.Second
	// DefaultMaxCacheEntries bounds each of the client's caches.
	DefaultMaxCacheEntries = 10000
	// DefaultTimeout is the timeout of the default HTTP client.
	DefaultTimeout = 10 * time.Second
	// NegativeCacheTTL is how long a token or access key that Keystone
	// refused is refused again without asking, to blunt floods of bad
	// credentials.
	NegativeCacheTTL = 10 * time.Second
)

// Config says where Keystone is and how keyhaven authenticates to it.
type Config struct {
	// URL is Keystone's v3 endpoint, e.g. http://keystone:5000/v3.
	URL string
	// Username and Password are keyhaven's service account. It needs a
	// role that may validate tokens, read credentials and list role
	// assignments (admin under Keystone's default policy).
	Username, Password string
	// Project is the name of the project the service token is scoped to.
	Project string
	// Domain is the name of the domain of both the service user and its
	// project; DefaultDomain when empty.
	Domain string
	// CacheTTL bounds how long a validation is reused; DefaultCacheTTL
	// when zero. A cached token is never used past its expires_at, and a
	// revoked token stops working within CacheTTL.
	CacheTTL time.Duration
	// MaxCacheEntries bounds each cache; DefaultMaxCacheEntries when zero.
	MaxCacheEntries int
	// HTTPClient sends the requests to Keystone; when nil, a client with
	// DefaultTimeout.
	HTTPClient *http.Client
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// check validates cfg and returns it with defaults filled in and the URL
// normalised (no trailing slash).
func (cfg Config) check() (Config, error) {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	cfg.URL = strings.TrimRight(strings.TrimSpace(cfg.URL), "/")
	if cfg.URL == "" {
		bad("URL is required (Keystone's v3 endpoint, e.g. http://keystone:5000/v3)")
	} else if u, err := url.Parse(cfg.URL); err != nil {
		bad("URL %q does not parse: %v", cfg.URL, err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			bad("URL %q must start with http:// or https://", cfg.URL)
		case u.Host == "":
			bad("URL %q has no host", cfg.URL)
		case u.User != nil:
			bad("URL must not hold credentials; use Username and Password")
		case u.RawQuery != "" || u.Fragment != "":
			bad("URL %q must not have a query or fragment", cfg.URL)
		case !strings.HasSuffix(u.Path, "/v3"):
			bad("URL %q must be the v3 endpoint, ending in /v3 (e.g. %s://%s/v3)", cfg.URL, u.Scheme, u.Host)
		}
	}
	if cfg.Username == "" {
		bad("Username is required (keyhaven's service account)")
	}
	if cfg.Password == "" {
		bad("Password is required (of the service account)")
	}
	if cfg.Project == "" {
		bad("Project is required (the project the service account's token is scoped to)")
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	switch {
	case cfg.CacheTTL < 0:
		bad("CacheTTL must not be negative, got %v", cfg.CacheTTL)
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = DefaultCacheTTL
	}
	switch {
	case cfg.MaxCacheEntries < 0:
		bad("MaxCacheEntries must not be negative, got %d", cfg.MaxCacheEntries)
	case cfg.MaxCacheEntries == 0:
		cfg.MaxCacheEntries = DefaultMaxCacheEntries
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(errs) > 0 {
		return cfg, errors.New("keystone: invalid config: " + strings.Join(errs, "; "))
	}
	return cfg, nil
}
