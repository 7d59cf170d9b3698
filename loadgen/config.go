package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Auth modes: how requests prove who sends them.
const (
	// AuthToken sends a fixed token in X-Auth-Token (keyhaven's static
	// tokens, Nova's noauth2 "user:project").
	AuthToken = "token"
	// AuthKeystone logs in with a password to the target's identity
	// service first and sends the token it gets.
	AuthKeystone = "keystone"
	// AuthAKSK signs every request with an access key and secret key
	// (SDK-HMAC-SHA256), as the Huawei Cloud SDK does.
	AuthAKSK = "aksk"
)

// Target is one server under load.
type Target struct {
	// Name labels the target's rows in the table, e.g. keyhaven or nova.
	Name string
	// URL is the server's base URL, e.g. http://127.0.0.1:8774.
	URL string
	// Token is the static token for AuthToken; empty means Config.Token.
	Token string
}

// Credentials are what Keystone login and AK/SK signing need.
type Credentials struct {
	// Username, Password, Project and Domain log in (AuthKeystone, and the
	// login operation).
	Username, Password, Project, Domain string
	// AccessKey and SecretKey sign requests (AuthAKSK).
	AccessKey, SecretKey string
	// ProjectID is the project of KPS paths; with AuthKeystone the token's
	// project is used when it is empty.
	ProjectID string
}

// Config is one load run.
type Config struct {
	// Targets are loaded one after the other, in order, for each operation.
	Targets []Target
	// Operations to run, in order; DefaultOperations when empty.
	Operations []string
	// Duration is how long each operation runs against each target.
	Duration time.Duration
	// Connections is how many requests of an operation are in flight at once.
	Connections int
	// Requests, when positive, ends an operation after that many requests
	// even before Duration is over (a burst, e.g. the 64 keys of a full
	// key pool).
	Requests int
	// Auth is AuthToken, AuthKeystone or AuthAKSK.
	Auth string
	// Token is the static token of targets that name none.
	Token string
	// Credentials for AuthKeystone, AuthAKSK and the login operation.
	Credentials Credentials
	// Baseline names the target the others are compared with in the ratio
	// column; the last target when empty.
	Baseline string
	// AllowRemote lets targets be on other machines.
	AllowRemote bool
	// DeleteSetup is how many key pairs the delete operation creates
	// beforehand when no import ran before it; 2000 when 0.
	DeleteSetup int
}

// DefaultOperations are the operations run when a Config names none.
var DefaultOperations = []string{OpImport, OpShow, OpList, OpDelete, OpGenerate, OpKPSCreate, OpKPSExport, OpLogin}

// AllOperations are every operation a Config may name: the defaults and
// OpHealthz, the ceiling to measure them against.
var AllOperations = append([]string{OpHealthz}, DefaultOperations...)

func (c *Config) defaults() {
	if len(c.Operations) == 0 {
		c.Operations = DefaultOperations
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Connections <= 0 {
		c.Connections = 8
	}
	if c.Auth == "" {
		c.Auth = AuthToken
	}
	if c.Credentials.Domain == "" {
		c.Credentials.Domain = "Default"
	}
	if c.DeleteSetup <= 0 {
		c.DeleteSetup = 2000
	}
	if c.Baseline == "" && len(c.Targets) > 0 {
		c.Baseline = c.Targets[len(c.Targets)-1].Name
	}
}

// validate checks the configuration before any request is sent.
func (c *Config) validate(ctx context.Context) error {
	var errs []error
	if len(c.Targets) == 0 {
		errs = append(errs, errors.New("no target: give at least one --target NAME=URL"))
	}
	names := map[string]bool{}
	for _, t := range c.Targets {
		if names[t.Name] {
			errs = append(errs, fmt.Errorf("target %q given twice", t.Name))
		}
		names[t.Name] = true
		if err := checkTarget(ctx, t.URL, c.AllowRemote); err != nil {
			errs = append(errs, fmt.Errorf("target %s: %w", t.Name, err))
		}
		if c.Auth == AuthToken && t.Token == "" && c.Token == "" {
			errs = append(errs, fmt.Errorf("target %s: no token (--token, or --token %s=TOKEN)", t.Name, t.Name))
		}
	}
	if len(c.Targets) > 0 && !names[c.Baseline] {
		errs = append(errs, fmt.Errorf("baseline %q is not a target", c.Baseline))
	}
	for _, op := range c.Operations {
		if !slices.Contains(AllOperations, op) {
			errs = append(errs, fmt.Errorf("unknown operation %q; want some of %s", op, strings.Join(AllOperations, ",")))
		}
	}
	cr := c.Credentials
	switch c.Auth {
	case AuthToken:
	case AuthKeystone:
		if cr.Username == "" || cr.Password == "" || cr.Project == "" {
			errs = append(errs, errors.New("auth keystone: give --username, --password and --project"))
		}
	case AuthAKSK:
		if cr.AccessKey == "" || cr.SecretKey == "" {
			errs = append(errs, errors.New("auth aksk: give --ak and --sk"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth %q; want token, keystone or aksk", c.Auth))
	}
	return errors.Join(errs...)
}

// checkTarget refuses a URL that is not http(s) or, unless remote is
// allowed, whose host is not a loopback address: a load run is a flood,
// and one aimed at the wrong machine by a typo is an attack.
func checkTarget(ctx context.Context, raw string, remote bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if remote {
		return nil
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", host, err)
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address (pass --allow-remote to load another machine)", host)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("%s has no address", host)
	}
	return nil
}
