//go:build !linux

package loadgen

import (
	"io"
	"net"
)

// newSocketIO returns what a conn reads and writes nc through: on this
// system, nc itself.
func newSocketIO(nc net.Conn) io.ReadWriter { return nc }
