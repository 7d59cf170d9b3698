// Package keystone authenticates keyhaven's callers against a remote
// OpenStack Keystone (identity API v3).
//
// A Client is both an identity.Authenticator, validating the X-Auth-Token of
// a request with GET /v3/auth/tokens, and an identity.SecretSource, finding
// the secret of an access key among Keystone's EC2 credentials. It talks to
// Keystone with a token of keyhaven's own service account (password auth,
// project-scoped), which it obtains on first use, renews before it expires
// and obtains again when Keystone answers 401.
//
// Validations and credential look-ups are cached, keyed by the SHA-256 of
// the token or access key (the raw token is never kept in a map or put in an
// error or log), for at most Config.CacheTTL and never past a token's
// expires_at, in bounded LRU caches; refusals are cached for
// NegativeCacheTTL. A token revoked in Keystone therefore stops working
// within CacheTTL.
//
// Errors: a credential Keystone refuses matches identity.ErrUnauthenticated
// (answered with 401); failing to get an answer from Keystone matches
// ErrUnavailable and never ErrUnauthenticated (answered with 503).
//
// The service account needs a role that may validate tokens, read
// credentials, users and projects and list role assignments: admin on its
// project under Keystone's default policy (enforce_scope off).
package keystone
