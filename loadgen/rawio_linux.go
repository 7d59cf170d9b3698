package loadgen

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawSocket reads and writes a TCP connection's socket with raw system
// calls, still waiting for it in the runtime's network poller. The
// socket is non-blocking, so a call never lasts; what it saves is the
// runtime's bookkeeping around an ordinary system call, which wakes the
// runtime's monitor thread whenever the process was idle: a load
// generator is idle between every answer and the next, and those
// wake-ups cost it nearly a fifth of its CPU.
type rawSocket struct {
	rc syscall.RawConn
	// p, n and errno carry one call's arguments and results through the
	// callbacks, which are method values made once so that a call
	// allocates nothing.
	p       []byte
	n       int
	errno   syscall.Errno
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool
}

// newSocketIO returns what a conn reads and writes nc through: nc itself
// unless it is a plain TCP connection.
func newSocketIO(nc net.Conn) io.ReadWriter {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	s := &rawSocket{rc: rc}
	s.readFn, s.writeFn = s.read, s.write
	return s
}

func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.n, s.errno = p, 0, 0
	err := s.rc.Read(s.readFn)
	s.p = nil
	switch {
	case err != nil:
		return 0, err // a deadline, or the connection closed
	case s.errno != 0:
		return 0, s.errno
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// read is one read(2); false asks the poller to wait for data.
func (s *rawSocket) read(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.p[0])), uintptr(len(s.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			s.n = int(r)
		default:
			s.errno = e
		}
		return true
	}
}

func (s *rawSocket) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.n, s.errno = p, 0, 0
	err := s.rc.Write(s.writeFn)
	n := s.n
	s.p = nil
	switch {
	case err != nil:
		return n, err
	case s.errno != 0:
		return n, s.errno
	}
	return n, nil
}

// write writes until all of s.p is written; false asks the poller to
// wait for room.
func (s *rawSocket) write(fd uintptr) bool {
	for s.n < len(s.p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&s.p[s.n])), uintptr(len(s.p)-s.n))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			s.n += int(r)
		default:
			s.errno = e
			return true
		}
	}
	return true
}
