// Package builtin is keyhaven's own identity service, a subset of Keystone
// v3: users, projects, domains and roles in the store, password and token
// authentication with project scoping, self-contained tokens (see package
// token), and EC2-style credentials, which are keyhaven's AK/SK pairs. It
// is an identity.Authenticator for X-Auth-Token and an
// identity.SecretSource for AK/SK signatures.
package builtin
