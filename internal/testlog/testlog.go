// Package testlog holds what tests use to read what the code under test
// logged: a buffer several goroutines may write while the test reads it.
// Tests only; never imported by the production binary.
package testlog

import (
	"bytes"
	"sync"
)

// Buffer is a log sink safe for concurrent writers, read after the fact.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
