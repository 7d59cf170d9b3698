package sshkey

import (
	"runtime"
	"syscall"
)

// poolNice is the nice value of the pool's refilling thread: below every
// request-serving thread, so the kernel gives the CPU to requests first.
const poolNice = 10

// lowerPriority pins the calling goroutine to its OS thread and lowers
// that thread's scheduling priority (Linux applies nice per thread). The
// thread is never unlocked, so it ends with the goroutine instead of
// going back, niced, to serve requests.
func lowerPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), poolNice)
}
