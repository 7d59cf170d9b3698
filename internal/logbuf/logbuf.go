// Package logbuf buffers a log's output so that writing a line costs a
// copy into memory, not a system call under the logger's lock: with one
// access log line per request, a write(2) per line would make every
// request queue behind the log. The buffer is written out periodically,
// when it fills, and at once after any record at or above a chosen level
// (FlushAbove), so that warnings and errors are never held back.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer is an io.Writer that collects writes in memory and passes them
// on to the underlying writer in order, in batches.
type Writer struct {
	out io.Writer
	max int

	mu  sync.Mutex // guards buf
	buf []byte

	flushMu sync.Mutex // one batch goes out at a time, in order
	spare   []byte
}

// New returns a Writer onto out that holds up to size bytes before it
// writes them out.
func New(out io.Writer, size int) *Writer {
	return &Writer{out: out, max: size, buf: make([]byte, 0, size), spare: make([]byte, 0, size)}
}

// Write copies p into the buffer; when the buffer is full it is written
// out first. It never drops anything.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) <= w.max {
		w.buf = append(w.buf, p...)
		w.mu.Unlock()
		return len(p), nil
	}
	w.mu.Unlock()
	if err := w.Flush(); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...) // may exceed max for one huge line
	return len(p), nil
}

// Flush writes out everything written so far. Writers are held only for
// the swap of two buffers, not for the write to the underlying writer.
func (w *Writer) Flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	out := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(out) == 0 {
		w.spare = out
		return nil
	}
	_, err := w.out.Write(out)
	w.spare = out[:0]
	return err
}

// Run flushes every interval until ctx is done, then a last time.
func (w *Writer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = w.Flush()
			return
		case <-t.C:
			_ = w.Flush()
		}
	}
}

// FlushAbove returns a handler that passes records to h and, after one at
// level or above, flushes w, so that problems are in the log at once.
func FlushAbove(h slog.Handler, level slog.Level, w *Writer) slog.Handler {
	return flushHandler{Handler: h, level: level, w: w}
}

type flushHandler struct {
	slog.Handler
	level slog.Level
	w     *Writer
}

func (f flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= f.level {
		if ferr := f.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{Handler: f.Handler.WithAttrs(attrs), level: f.level, w: f.w}
}

func (f flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{Handler: f.Handler.WithGroup(name), level: f.level, w: f.w}
}
