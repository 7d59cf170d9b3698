// Package keypair is keyhaven's domain: the KeyPair type, the rules that
// govern creating, reading and deleting key pairs (ownership, policy, quota,
// uniqueness), the typed errors every API dialect translates, and the ports
// (Store, KeyTool) that adapters implement. It imports no adapter.
package keypair
