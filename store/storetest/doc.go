// Package storetest is the contract suite for keypair.Store: every storage
// engine (store/sqlite now, store/postgres later) runs Run from its own
// tests against a fresh, empty store and must pass all of it. The suite
// speaks only the keypair.Store interface and checks outcomes with
// keypair.ErrorCode, so it knows nothing about any engine. It is test
// support: production code must not import it.
package storetest
