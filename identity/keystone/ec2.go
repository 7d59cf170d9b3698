package keystone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/keyhaven/keyhaven/identity"
)

// maxAccessKeyLen bounds the access keys looked up in Keystone.
const maxAccessKeyLen = 255

// secretResult is an EC2 credential: its secret and whom it authenticates.
type secretResult struct {
	secret string
	p      identity.Principal
}

// LookupSecret implements identity.SecretSource with Keystone's EC2
// credentials. Keystone stores an EC2 credential under the id
// hex(SHA-256(access key)), so one GET /v3/credentials/{id} finds it, as
// Keystone's own ec2tokens does. The principal is the credential's user and
// project, with the user's effective roles on that project; a disabled user
// or project, a user with no role on the project, or a credential bound to a
// trust, application credential or OAuth token is refused. An access key
// Keystone does not hold yields identity.ErrUnknownAccessKey; failing to ask
// Keystone yields an error matching ErrUnavailable.
func (c *Client) LookupSecret(ctx context.Context, accessKey string) (string, identity.Principal, error) {
	if accessKey == "" || len(accessKey) > maxAccessKeyLen {
		return "", identity.Principal{}, identity.ErrUnknownAccessKey
	}
	key := sha256.Sum256([]byte(accessKey))
	now := c.cfg.Now()
	if res, ok := c.secrets.get(key, now); ok {
		return res.secret, clonePrincipal(res.p), nil
	}
	if _, ok := c.badKeys.get(key, now); ok {
		return "", identity.Principal{}, identity.ErrUnknownAccessKey
	}
	res, err := c.secretCall.do(ctx, key, func(ctx context.Context) (secretResult, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		res, err := c.fetchSecret(ctx, accessKey, hex.EncodeToString(key[:]))
		now := c.cfg.Now()
		switch {
		case err == nil:
			c.secrets.put(key, res, now.Add(c.cfg.CacheTTL), now)
		case errors.Is(err, identity.ErrUnauthenticated):
			c.badKeys.put(key, struct{}{}, now.Add(c.negativeTTL()), now)
		}
		return res, err
	})
	if err != nil {
		if !errors.Is(err, identity.ErrUnauthenticated) {
			err = fail("look up EC2 credential", err) // e.g. ctx ended while waiting
		}
		return "", identity.Principal{}, err
	}
	return res.secret, clonePrincipal(res.p), nil
}

// fetchSecret reads the credential with id credID and the facts its
// principal needs.
func (c *Client) fetchSecret(ctx context.Context, accessKey, credID string) (secretResult, error) {
	const op = "look up EC2 credential"
	var cred struct {
		Credential struct {
			UserID    string `json:"user_id"`
			ProjectID string `json:"project_id"`
			Type      string `json:"type"`
			Blob      string `json:"blob"`
		} `json:"credential"`
	}
	if err := c.get(ctx, op, "/credentials/"+credID, &cred); err != nil {
		return secretResult{}, err
	}
	cr := &cred.Credential
	var blob struct {
		Access        string  `json:"access"`
		Secret        string  `json:"secret"`
		TrustID       *string `json:"trust_id"`
		AppCredID     *string `json:"app_cred_id"`
		AccessTokenID *string `json:"access_token_id"`
	}
	if cr.Type != "ec2" || json.Unmarshal([]byte(cr.Blob), &blob) != nil || blob.Access != accessKey || blob.Secret == "" {
		// Not an EC2 credential of this access key (or not a usable one).
		return secretResult{}, identity.ErrUnknownAccessKey
	}
	if isSet(blob.TrustID) || isSet(blob.AppCredID) || isSet(blob.AccessTokenID) {
		return secretResult{}, identity.Unauthenticated("EC2 credential is delegated (trust, application credential or OAuth), which is not supported")
	}
	if cr.UserID == "" || cr.ProjectID == "" {
		return secretResult{}, identity.Unauthenticated("EC2 credential has no project")
	}

	var user struct {
		User struct {
			DomainID string `json:"domain_id"`
			Enabled  *bool  `json:"enabled"`
		} `json:"user"`
	}
	if err := c.get(ctx, "look up user of EC2 credential", "/users/"+url.PathEscape(cr.UserID), &user); err != nil {
		return secretResult{}, err
	}
	if user.User.Enabled != nil && !*user.User.Enabled {
		return secretResult{}, identity.Unauthenticated("user is disabled")
	}
	var project struct {
		Project struct {
			Enabled *bool `json:"enabled"`
		} `json:"project"`
	}
	if err := c.get(ctx, "look up project of EC2 credential", "/projects/"+url.PathEscape(cr.ProjectID), &project); err != nil {
		return secretResult{}, err
	}
	if project.Project.Enabled != nil && !*project.Project.Enabled {
		return secretResult{}, identity.Unauthenticated("project is disabled")
	}

	var ra struct {
		RoleAssignments []struct {
			Role struct {
				Name string `json:"name"`
			} `json:"role"`
		} `json:"role_assignments"`
	}
	q := url.Values{"user.id": {cr.UserID}, "scope.project.id": {cr.ProjectID}}
	path := "/role_assignments?" + q.Encode() + "&effective&include_names"
	if err := c.get(ctx, "list role assignments", path, &ra); err != nil {
		return secretResult{}, err
	}
	p := identity.Principal{UserID: cr.UserID, ProjectID: cr.ProjectID, DomainID: user.User.DomainID}
	for _, a := range ra.RoleAssignments {
		if n := a.Role.Name; n != "" && !slices.Contains(p.Roles, n) {
			p.Roles = append(p.Roles, n)
		}
	}
	if len(p.Roles) == 0 {
		// Keystone itself would not scope a token to this project.
		return secretResult{}, identity.Unauthenticated("user has no role on the credential's project")
	}
	slices.Sort(p.Roles)
	return secretResult{secret: blob.Secret, p: p}, nil
}

// get reads path into out with the service token. 404 means the thing (and
// so the access key) is unknown; other non-200 answers are failures.
func (c *Client) get(ctx context.Context, op, path string, out any) error {
	resp, err := c.call(ctx, http.MethodGet, path, "", out)
	if err != nil {
		return fail(op, err)
	}
	switch resp.status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return identity.ErrUnknownAccessKey
	case http.StatusUnauthorized, http.StatusForbidden:
		return &Error{Op: op, Status: resp.status, Message: "Keystone refused the service account: " + resp.message}
	default:
		return &Error{Op: op, Status: resp.status, Message: resp.message}
	}
}

func isSet(s *string) bool { return s != nil && *s != "" }
