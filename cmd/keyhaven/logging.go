package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/keyhaven/keyhaven/internal/logbuf"
	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/sshkey"
)

// newLogger builds the process logger from the configuration.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	return slog.New(logHandler(cfg, w))
}

func logHandler(cfg Config, w io.Writer) slog.Handler {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// bufferedLogger is the server's logger: with a flush interval, lines are
// gathered in memory and written out every interval (and warnings and
// errors at once), so the access log does not make requests queue behind
// a write(2) each. stop writes out what is left.
func bufferedLogger(cfg Config, w io.Writer) (log *slog.Logger, stop func()) {
	if cfg.LogFlushInterval <= 0 {
		return newLogger(cfg, w), func() {}
	}
	lw := logbuf.New(w, 64<<10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lw.Run(ctx, cfg.LogFlushInterval); close(done) }()
	return slog.New(logbuf.FlushAbove(logHandler(cfg, lw), slog.LevelWarn, lw)), func() { cancel(); <-done }
}

// startPool starts the key pool's refill under the generation limit;
// stop ends it, zeroing the keys it still holds.
func startPool(cfg Config, limit *keypair.GenerateLimit, log *slog.Logger) (pool *sshkey.Pool, stop func()) {
	pool = sshkey.NewPool(sshkey.PoolConfig{Size: cfg.KeygenPool, Bits: keypair.GeneratedKeyBits,
		Comment: sshkey.NovaComment, Slots: limit})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := pool.Run(ctx); err != nil {
			log.Error("key pool stopped", "error", err)
		}
	}()
	return pool, func() { cancel(); <-done }
}
