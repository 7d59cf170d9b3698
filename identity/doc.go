// Package identity answers "who is calling?": the Principal a request acts
// as and the Authenticator interface every identity backend implements
// (static tokens now; Keystone-compatible tokens and AK/SK signatures later).
package identity
