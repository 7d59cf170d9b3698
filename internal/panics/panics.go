// Package panics turns a recovered panic value into text that is safe to
// log: a handler that panics may hold a request's secrets (a password, a
// private key) in the value it panicked with, and the log must never get
// them.
package panics

import (
	"fmt"
	"runtime"
)

// Describe names a recovered panic value for the log: the message of a
// runtime error (nil dereference, index out of range: the program's own
// text) and only the type of anything else.
func Describe(v any) string {
	if e, ok := v.(runtime.Error); ok {
		return e.Error()
	}
	return fmt.Sprintf("a value of type %T (not shown: it may hold request data)", v)
}
