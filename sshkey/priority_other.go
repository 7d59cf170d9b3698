//go:build !linux

package sshkey

// lowerPriority does nothing where threads cannot be niced one by one; the
// pool still yields to requests through its Slots.
func lowerPriority() {}
