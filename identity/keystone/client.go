package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/identity"
)

const (
	// maxBody bounds what is read of one Keystone response.
	maxBody = 1 << 20
	// callTimeout bounds one lookup (its requests together), whatever the
	// HTTP client's own timeout.
	callTimeout = 30 * time.Second
	// renewMargin is how long before its expiry the service token is
	// renewed (at most a quarter of its lifetime).
	renewMargin = 5 * time.Minute
	// freshService is the age under which the service token is taken to be
	// good: a 401 then blames the subject token rather than the service's.
	freshService = 30 * time.Second
	// serviceRetry is how long a refusal of the service account (Keystone
	// answered, but not with a token) is returned without asking again, so
	// that a wrong password does not send Keystone one password
	// authentication per request (and lock the account out).
	serviceRetry = 5 * time.Second
)

// ErrUnavailable matches (with errors.Is) every failure to get an answer
// from Keystone: unreachable, 5xx, an unexpected status or body, the service
// account refused. Such errors never match identity.ErrUnauthenticated;
// servers answer them with 503, not 401.
var ErrUnavailable = errors.New("keystone: unavailable")

// Error is a failed call to Keystone. It never holds a token, password or
// secret.
type Error struct {
	// Op is what was being done, e.g. "validate token".
	Op string
	// Status is Keystone's HTTP status, or 0 when there was no answer.
	Status int
	// Message is Keystone's error message, if any (shortened).
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error describes the failure.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("keystone: " + e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every Error match ErrUnavailable.
func (e *Error) Is(target error) bool { return target == ErrUnavailable }

// Client validates Keystone tokens (identity.Authenticator) and finds the
// secrets of Keystone's EC2 credentials (identity.SecretSource), caching
// both. It is safe for concurrent use.
type Client struct {
	cfg Config

	svcMu       sync.Mutex
	svc         serviceToken
	svcErr      error     // the last refusal of the service account
	svcErrUntil time.Time // until when svcErr is returned without asking

	tokens    *ttlCache[tokenResult]
	badTokens *ttlCache[struct{}]
	tokenCall flight[tokenResult]

	secrets    *ttlCache[secretResult]
	badKeys    *ttlCache[struct{}]
	secretCall flight[secretResult]
}

var (
	_ identity.Authenticator = (*Client)(nil)
	_ identity.SecretSource  = (*Client)(nil)
)

// New returns a client for the Keystone that cfg describes. It checks cfg
// but does not contact Keystone: the first request does.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	negMax := min(cfg.MaxCacheEntries, 10000)
	return &Client{
		cfg:       cfg,
		tokens:    newTTLCache[tokenResult](cfg.MaxCacheEntries),
		badTokens: newTTLCache[struct{}](negMax),
		secrets:   newTTLCache[secretResult](cfg.MaxCacheEntries),
		badKeys:   newTTLCache[struct{}](negMax),
	}, nil
}

// negativeTTL is how long a refusal is remembered.
func (c *Client) negativeTTL() time.Duration { return min(NegativeCacheTTL, c.cfg.CacheTTL) }

type serviceToken struct {
	value    string
	obtained time.Time
	renewAt  time.Time
	expires  time.Time
}

// serviceToken returns keyhaven's own token, obtaining a new one when there
// is none or it is due for renewal. A failed renewal falls back on the
// current token while it is still valid.
func (c *Client) serviceToken(ctx context.Context) (serviceToken, error) {
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	now := c.cfg.Now()
	if c.svc.value != "" && now.Before(c.svc.renewAt) {
		return c.svc, nil
	}
	err := c.svcErr
	if err == nil || !now.Before(c.svcErrUntil) {
		var t serviceToken
		if t, err = c.issueServiceToken(ctx); err == nil {
			c.svc, c.svcErr = t, nil
			return t, nil
		}
		if e := new(Error); errors.As(err, &e) && e.Status != 0 {
			c.svcErr, c.svcErrUntil = err, now.Add(serviceRetry)
		}
	}
	if c.svc.value != "" && now.Before(c.svc.expires.Add(-10*time.Second)) {
		return c.svc, nil
	}
	return serviceToken{}, err
}

// dropServiceToken forgets value if it is still the current service token,
// so the next call obtains a new one.
func (c *Client) dropServiceToken(value string) {
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	if c.svc.value == value {
		c.svc = serviceToken{}
	}
}

func (c *Client) issueServiceToken(ctx context.Context) (serviceToken, error) {
	const op = "obtain service token"
	type named struct {
		Name string `json:"name"`
	}
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Domain   named  `json:"domain"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string `json:"name"`
					Domain named  `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	req.Auth.Identity.Methods = []string{"password"}
	u := &req.Auth.Identity.Password.User
	u.Name, u.Domain.Name, u.Password = c.cfg.Username, c.cfg.Domain, c.cfg.Password
	req.Auth.Scope.Project.Name, req.Auth.Scope.Project.Domain.Name = c.cfg.Project, c.cfg.Domain
	body, err := json.Marshal(req)
	if err != nil {
		return serviceToken{}, &Error{Op: op, Err: err}
	}
	var out tokenBody
	resp, err := c.send(ctx, http.MethodPost, "/auth/tokens?nocatalog", nil, body, &out)
	if err != nil {
		return serviceToken{}, &Error{Op: op, Err: err}
	}
	switch {
	case resp.status == http.StatusUnauthorized:
		return serviceToken{}, &Error{Op: op, Status: resp.status,
			Message: "Keystone refused the service account (check Username, Password, Project and Domain)"}
	case resp.status != http.StatusCreated && resp.status != http.StatusOK:
		return serviceToken{}, &Error{Op: op, Status: resp.status, Message: resp.message}
	}
	value := resp.header.Get("X-Subject-Token")
	if value == "" || out.Token.ExpiresAt.IsZero() {
		return serviceToken{}, &Error{Op: op, Status: resp.status, Message: "response has no token or no expires_at"}
	}
	now := c.cfg.Now()
	life := out.Token.ExpiresAt.Sub(now)
	renewAt := out.Token.ExpiresAt.Add(-min(renewMargin, life/4))
	// However short-lived the token (or skewed the clocks), keep it a
	// little: at most one password authentication per freshService.
	renewAt = maxTime(renewAt, now.Add(freshService))
	return serviceToken{value: value, obtained: now, renewAt: renewAt, expires: out.Token.ExpiresAt}, nil
}

// response is what send keeps of an answer.
type response struct {
	status  int
	header  http.Header
	message string // Keystone's error message, for non-2xx answers
}

// send makes one request to Keystone. A 2xx body is decoded into out (when
// not nil); for other statuses, Keystone's error message is kept. err is
// set only when there is no usable answer.
func (c *Client) send(ctx context.Context, method, path string, hdr http.Header, body []byte, out any) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return r, fmt.Errorf("reading response: %w", err)
	}
	if len(data) > maxBody {
		return r, fmt.Errorf("response larger than %d bytes", maxBody)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil {
			r.message = shorten(e.Error.Message)
		}
		return r, nil
	}
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return r, fmt.Errorf("malformed response (HTTP %d): %w", res.StatusCode, err)
		}
	}
	return r, nil
}

// call sends an authenticated request: the service token goes in
// X-Auth-Token and subject, if not empty, in X-Subject-Token. When Keystone
// answers 401, the service token is obtained again and the request sent
// again, once, unless the service token is younger than freshService: then
// it is taken to be good (the 401 is about the subject) and the 401 is
// returned as it is. This also bounds the password authentications a flood
// of 401s can cause.
func (c *Client) call(ctx context.Context, method, path, subject string, out any) (response, error) {
	for attempt := 0; ; attempt++ {
		svc, err := c.serviceToken(ctx)
		if err != nil {
			return response{}, err
		}
		hdr := http.Header{"X-Auth-Token": {svc.value}}
		if subject != "" {
			hdr.Set("X-Subject-Token", subject)
		}
		resp, err := c.send(ctx, method, path, hdr, nil, out)
		if err != nil || resp.status != http.StatusUnauthorized || attempt > 0 ||
			c.cfg.Now().Sub(svc.obtained) < freshService {
			return resp, err
		}
		c.dropServiceToken(svc.value)
	}
}

// fail returns err as an *Error of op (it is one already when it comes
// from obtaining the service token).
func fail(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Err: err}
}

// shorten keeps a Keystone error message to a sane length for errors.
func shorten(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
