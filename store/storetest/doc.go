// Package storetest is the contract suite for keypair.Store,
// identity.Store and task.Store: every storage engine (store/sqlite,
// store/postgres) runs Run, RunIdentity and RunTasks from its own tests
// against fresh, empty stores and must pass all of them; BenchTaskCycle
// and BenchClaimIdle measure the task store. The suites speak only the interfaces
// and check outcomes with keypair.ErrorCode and errors.Is against
// identity's sentinel errors, so they know nothing about any engine. It is
// test support: production code must not import it.
package storetest
