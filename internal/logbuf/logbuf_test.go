package logbuf

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is the underlying writer: a bytes.Buffer safe to read
// while the Writer writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWriterKeepsEveryLineInOrder(t *testing.T) {
	for _, size := range []int{16, 1 << 10, 1 << 16} {
		out := &lockedBuffer{}
		w := New(out, size)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 500 {
					fmt.Fprintf(w, "g%d line %04d\n", g, i)
				}
			})
		}
		wg.Wait()
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		next := map[string]int{}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 2000 {
			t.Fatalf("size %d: %d lines, want 2000", size, len(lines))
		}
		for _, l := range lines {
			var g string
			var i int
			if _, err := fmt.Sscanf(l, "%s line %d", &g, &i); err != nil {
				t.Fatalf("size %d: torn line %q", size, l)
			}
			if i != next[g] {
				t.Fatalf("size %d: %s line %d after %d", size, g, i, next[g]-1)
			}
			next[g]++
		}
	}
}

func TestWriterHoldsUntilFlushed(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, 1<<10)
	fmt.Fprintln(w, "held")
	if out.String() != "" {
		t.Fatal("written out before a flush")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, time.Millisecond); close(done) }()
	for out.String() == "" { // the periodic flush comes
		time.Sleep(time.Millisecond)
	}
	fmt.Fprintln(w, "last")
	cancel()
	<-done
	if out.String() != "held\nlast\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestFlushAboveWritesProblemsAtOnce(t *testing.T) {
	cases := []struct {
		level slog.Level
		out   bool
	}{{slog.LevelInfo, false}, {slog.LevelWarn, true}, {slog.LevelError, true}}
	for _, c := range cases {
		out := &lockedBuffer{}
		w := New(out, 1<<10)
		log := slog.New(FlushAbove(slog.NewTextHandler(w, nil), slog.LevelWarn, w)).With("k", "v").WithGroup("g")
		log.Log(context.Background(), c.level, "record")
		if got := strings.Contains(out.String(), "record"); got != c.out {
			t.Errorf("%s: written at once = %v, want %v", c.level, got, c.out)
		}
	}
}
