// Package kmstest is the contract test suite every kms.Wrapper backend
// passes: round trips for each key, tampering, refs that do not match,
// unknown keys, data keys of the wrong length and concurrent use. Each
// backend's tests call Run with a function that opens a fresh backend.
package kmstest
