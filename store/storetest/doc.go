// Package storetest is the contract suite for keypair.Store and
// identity.Store: every storage engine (store/sqlite now, store/postgres
// later) runs Run and RunIdentity from its own tests against fresh, empty
// stores and must pass all of them. The suites speak only the interfaces
// and check outcomes with keypair.ErrorCode and errors.Is against
// identity's sentinel errors, so they know nothing about any engine. It is
// test support: production code must not import it.
package storetest
