package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// instanceID names this process among the instances sharing a database:
// the tasks it accepts are its own, since only it holds their
// credentials. It is new at every start, so a restarted process never
// claims a task whose credentials died with its predecessor; those fail
// once their lease runs out.
func instanceID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "keyhaven"
	}
	return host + "-" + hex.EncodeToString(b)
}

// startTasks makes the association service over st and starts its worker
// pool; access (nil when keyhaven cannot ask its identity service) is
// asked again whether a task's user still has access when it runs. stop stops the pool (as ctx being done does)
// and returns once it has: every task it ran finished or failed, none
// left RUNNING.
func startTasks(ctx context.Context, cfg Config, st task.Store, exec task.Executor, kps *keypair.Service, access task.Access, log *slog.Logger) (svc *task.Service, stop func()) {
	svc = task.NewService(task.Config{
		Store: st, Executor: exec, KeyPairs: kps, Access: access,
		Workers: cfg.SSHWorkers, Queue: cfg.SSHQueue, ProjectQueue: cfg.SSHProjectQueue, ConnectTimeout: cfg.SSHConnectTimeout, TaskTimeout: cfg.SSHTaskTimeout,
		ShutdownGrace: cfg.ShutdownTimeout, Instance: instanceID(), Log: log.With("component", "tasks"),
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			log.Error("association task pool", "error", err)
		}
	}()
	return svc, func() { cancel(); <-done }
}
