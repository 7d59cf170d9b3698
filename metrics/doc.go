// Package metrics exposes keyhaven's Prometheus metrics: requests by
// dialect, operation and status with their latency, the key pool and the
// generation queue, escrow calls to the KMS, authentication failures, and
// the key pair store's calls. Everything is registered on a registry the
// caller passes in (no global default registry), and adapters wrap the
// ports they measure (identity.Authenticator, keypair.Escrow,
// keypair.Store) so that no domain package knows about Prometheus.
package metrics
